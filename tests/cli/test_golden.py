"""Golden files: the rendered bake files of the catalogues under tests/fixtures/.

Each fixture is copied into a fresh git repository and committed with a fixed author,
committer and date, so the commit hash (and so every tag and label) is stable. Set
BAKEGEN_UPDATE_GOLDEN=1 to rewrite tests/golden/<fixture>/ from the current output.
"""
from __future__ import annotations

import os

import pytest

from tests.support import GOLDEN, copy_fixture, init_repo

FIXTURES = ["basic", "multiarch"]
OUTPUTS = {"docker-bake.hcl": ("--format", "hcl"), "docker-bake.json": ("--format", "json"),
           "plan.json": ("--format", "plan")}
UPDATE = os.environ.get("BAKEGEN_UPDATE_GOLDEN") == "1"


@pytest.fixture(params=FIXTURES)
def fixture_root(request, tmp_path):
    root = copy_fixture(request.param, tmp_path / request.param)
    init_repo(root, message=f"fixture {request.param}")
    return request.param, root


def check_golden(name: str, fixture: str, text: str) -> None:
    golden = GOLDEN / fixture / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"{golden} is missing: run BAKEGEN_UPDATE_GOLDEN=1 python -m pytest tests/cli/test_golden.py"
    expected = golden.read_text(encoding="utf-8")
    assert text == expected, (f"{name} of fixture {fixture} differs from {golden}; if the change is intended, "
                              "regenerate with BAKEGEN_UPDATE_GOLDEN=1")


def test_golden_outputs(bakegen, fixture_root):
    fixture, root = fixture_root
    printed = {}
    for name, options in OUTPUTS.items():
        output = "-" if name == "plan.json" else name
        result = bakegen("render", *options, "-o", output, cwd=root)
        assert result.exit_code == 0, result
        text = result.stdout if output == "-" else (root / name).read_text(encoding="utf-8")
        check_golden(name, fixture, text)
        if name != "plan.json":
            printed[name] = result.printed  # docker buildx bake --print of this very file
    # the HCL and JSON forms resolve to the same configuration
    assert printed["docker-bake.hcl"] == printed["docker-bake.json"]


def test_golden_staged_contexts(bakegen, fixture_root):
    """The staged compat contexts (one per compat layer that rel images use) and the generated
    Dockerfile of every rel image (inline in the bake file, as bake reads it), next to the bake
    files."""
    fixture, root = fixture_root
    result = bakegen("render", cwd=root)
    assert result.exit_code == 0, result
    contexts = sorted((root / ".bakegen/ctx").iterdir())
    rel = {name: target for name, target in sorted(result.printed["target"].items()) if name.startswith("rel-")}
    # exactly the contexts the rel targets name are staged
    assert sorted(f".bakegen/ctx/{context.name}" for context in contexts) == \
        sorted({target["context"] for target in rel.values()})
    lines = []
    for context in contexts:
        lines.append(f"== context {context.name}")
        for path in sorted(context.rglob("*")):
            if path.is_file():
                executable = " (executable)" if path.stat().st_mode & 0o100 else ""  # the umask decides the rest
                lines.append(f"-- {path.relative_to(context).as_posix()}{executable}")
                lines.extend(path.read_text(encoding="utf-8").splitlines())
    builds = {build["name"]: build for build in result.plan["builds"]}
    for name, target in rel.items():
        assert "dockerfile" not in builds[name] and builds[name]["dockerfile_inline"] == target["dockerfile-inline"]
        lines.append(f"== {name}: context {target['context']}, dockerfile-inline")
        lines.extend(target["dockerfile-inline"].splitlines())
    check_golden("contexts.txt", fixture, "\n".join(lines) + "\n")
