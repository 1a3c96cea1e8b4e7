"""The catalogues that ship with the repository (science/ + compat/ at the top, and
examples/offline/) render, and their bake files pass ``docker buildx bake --print``.

They are copied into a fresh git repository first, so the test neither depends on nor
touches the state of this checkout."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.support import init_repo

REPOSITORY = Path(__file__).resolve().parents[2]
CATALOGUES = {"top-level": REPOSITORY, "examples-offline": REPOSITORY / "examples" / "offline"}


@pytest.fixture(params=sorted(CATALOGUES))
def bundled(request, tmp_path):
    source = CATALOGUES[request.param]
    root = tmp_path / request.param
    root.mkdir()
    for name in ("science", "compat"):
        shutil.copytree(source / name, root / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".bakegen"))
    if (source / "bakegen.yaml").is_file():
        shutil.copy(source / "bakegen.yaml", root / "bakegen.yaml")
    return request.param, init_repo(root)


def test_bundled_catalogue_renders(bakegen, bundled):
    _, root = bundled
    assert bakegen("validate", cwd=root).exit_code == 0
    hcl = bakegen("render", cwd=root)
    assert hcl.exit_code == 0, hcl
    js = bakegen("render", "--format", "json", cwd=root)
    assert js.exit_code == 0, js
    assert hcl.printed == js.printed


def test_top_level_catalogue_has_the_promised_shape(bakegen, tmp_path):
    """Issue 2, item 8: at least 6 science layers over at least 3 images, a chain across
    versions of one image, a domain image on top of it, two layers of one image:version,
    and compat layers jupyter, sciserver-common (included by others) and one more."""
    root = tmp_path / "top"
    for name in ("science", "compat"):
        shutil.copytree(REPOSITORY / name, root / name)
    init_repo(root)
    result = bakegen("render", "--format", "plan", cwd=root)
    assert result.exit_code == 0, result
    plan = json.loads(result.stdout)
    science = [b for b in plan["builds"] if b["kind"] == "science"]
    assert len(science) >= 6
    assert len({b["image"] for b in science}) >= 3
    by_name = {b["name"]: b for b in science}
    edges = [(by_name[e["child"]], by_name[e["parent"]]) for e in plan["edges"]
             if e["child"] in by_name and e.get("parent") in by_name]
    assert any(c["image"] == p["image"] and c["version"] != p["version"] for c, p in edges), "no version chain"
    assert any(c["image"] != p["image"] for c, p in edges), "no image built on another image"
    assert max(Counter((b["image"], b["version"]) for b in science).values()) >= 2, "no image:version with 2 layers"
    compat = {d.name: json.loads((d / "sciserver-image.json").read_text()) for d in (root / "compat").iterdir()
              if (d / "sciserver-image.json").is_file()}
    assert {"jupyter", "sciserver-common"} <= set(compat) and len(compat) >= 3
    assert any("sciserver-common" in c.get("includes", []) for c in compat.values())
