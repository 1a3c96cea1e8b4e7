"""bakegen.staging: compat contexts under .bakegen/ctx/, merged in chain order."""
from __future__ import annotations

import os
import stat

import pytest

from bakegen.errors import CatalogueError
from bakegen.gitrepo import BuildInfo
from bakegen.plan import Settings, make_plan
from bakegen.staging import compat_files, stage, write_atomic
from tests.support import FIXED_EPOCH, Mode, Symlink, compat, resolve_files, science, tree, write_tree

BUILD = BuildInfo(5, "abcdef0", "abcdef0" + "2" * 33, FIXED_EPOCH)


def catalogue(**extra) -> dict:
    return tree(
        science("a", image="x", compat="jup"),
        compat("jup", "EXPOSE 8888\n", includes=["common", "extra"], files={
            "start.sh": Mode("#!/bin/sh\necho jupyter\n", 0o755),
            "etc/motd": "from jup\n",
            ".dockerignore": "*.tmp\n",
        }),
        compat("common", "RUN useradd idies\n", files={
            "start.sh": Mode("#!/bin/sh\necho common\n", 0o700),
            "etc/motd": "from common\n",
            "etc/profile": "export A=1\n",
            "readonly.txt": Mode("keep my mode\n", 0o444),
        }),
        compat("extra", "RUN extra\n", includes=["common"], files={"etc/profile": "export A=2\n"}),
        extra,
    )


def plan_for(root, files):
    graph, _ = resolve_files(root, files)
    return make_plan(graph, BUILD, Settings(repo="reg.io"))


def listing(directory) -> dict:
    result = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink():
            result[path.relative_to(directory).as_posix()] = path.read_text()
    return result


def test_merge_order_later_layers_override(tmp_path):
    root = tmp_path / "cat"
    plan = plan_for(root, catalogue())
    (context,) = stage(root, plan)
    assert context == root / ".bakegen/ctx/rel-x-1_0"
    assert plan.target("rel-x-1_0").compat_chain == ("common", "extra", "jup")
    assert listing(context) == {
        ".dockerignore": "*.tmp\n",
        "Dockerfile": "FROM reg.io/sci/a:1.0\nRUN useradd idies\nRUN extra\nEXPOSE 8888\n"
                      "ENV SCISERVER_IMAGE=x:1.0-5-abcdef0\n",
        "etc/motd": "from jup\n",
        "etc/profile": "export A=2\n",
        "readonly.txt": "keep my mode\n",
        "start.sh": "#!/bin/sh\necho jupyter\n",
    }


def test_descriptor_and_fragment_are_not_copied(tmp_path):
    root = tmp_path / "cat"
    (context,) = stage(root, plan_for(root, catalogue()))
    assert not (context / "sciserver-image.json").exists()
    # but a file of that name in a subdirectory is ordinary content
    root2 = tmp_path / "cat2"
    files = catalogue()
    files["compat/jup/sub/Dockerfile"] = "not a fragment\n"
    (context2,) = stage(root2, plan_for(root2, files))
    assert (context2 / "sub/Dockerfile").read_text() == "not a fragment\n"


def test_modes_are_kept(tmp_path):
    root = tmp_path / "cat"
    (context,) = stage(root, plan_for(root, catalogue()))
    assert stat.S_IMODE((context / "start.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((context / "readonly.txt").stat().st_mode) == 0o444
    assert stat.S_IMODE((context / "etc/motd").stat().st_mode) == \
        stat.S_IMODE((root / "compat/jup/etc/motd").stat().st_mode)


def test_symlink_inside_the_layer_is_copied_as_a_link(tmp_path):
    root = tmp_path / "cat"
    files = catalogue()
    files["compat/jup/link.sh"] = Symlink("start.sh")
    (context,) = stage(root, plan_for(root, files))
    assert (context / "link.sh").is_symlink() and os.readlink(context / "link.sh") == "start.sh"


@pytest.mark.parametrize("target", ["../common/start.sh", "/etc/passwd", "../../../outside"])
def test_symlink_outside_the_layer_is_refused(tmp_path, target):
    root = tmp_path / "cat"
    files = catalogue()
    files["compat/jup/bad"] = Symlink(target)
    plan = plan_for(root, files)
    with pytest.raises(CatalogueError) as info:
        stage(root, plan)
    (problem,) = info.value.problems
    assert problem.path == "compat/jup/bad" and "symlink points outside compat/jup" in problem.message
    assert not (root / ".bakegen/ctx/rel-x-1_0").exists()


def test_symlinked_directory_outside_is_refused(tmp_path):
    root = tmp_path / "cat"
    files = catalogue()
    write_tree(tmp_path / "elsewhere", {"secret": "x\n"})
    files["compat/common/dir"] = Symlink(str(tmp_path / "elsewhere"))
    with pytest.raises(CatalogueError):
        stage(root, plan_for(root, files))


def test_stale_contexts_are_removed_and_the_tree_is_gitignored(tmp_path):
    root = tmp_path / "cat"
    files = catalogue()
    stage(root, plan_for(root, files))
    write_tree(root, {".bakegen/ctx/rel-gone-1_0/Dockerfile": "old\n", ".bakegen/ctx/stray-file": "x\n"})
    (context,) = stage(root, plan_for(root, files))
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["rel-x-1_0"]
    assert (root / ".bakegen/.gitignore").read_text().strip().endswith("*")


def test_restaging_replaces_removed_files(tmp_path):
    root = tmp_path / "cat"
    files = catalogue()
    (context,) = stage(root, plan_for(root, files))
    assert (context / "etc/profile").exists()
    for layer in ("common", "extra"):
        os.remove(root / f"compat/{layer}/etc/profile")
        del files[f"compat/{layer}/etc/profile"]
    (context,) = stage(root, plan_for(root, files))
    assert not (context / "etc/profile").exists()
    assert not list((root / ".bakegen/ctx").glob(".*"))  # no temporary or .old directory left behind


def test_compat_files_order(tmp_path):
    root = write_tree(tmp_path / "cat", catalogue())
    files, problems = compat_files(root, ("common", "extra", "jup"))
    assert problems == []
    assert files["etc/profile"] == root / "compat/extra/etc/profile"
    assert files["etc/motd"] == root / "compat/jup/etc/motd"
    assert files["readonly.txt"] == root / "compat/common/readonly.txt"


def test_write_atomic(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    write_atomic(path, "one\n")
    write_atomic(path, "two\n")
    assert path.read_text() == "two\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.txt"]
