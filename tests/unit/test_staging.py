"""bakegen.staging: compat contexts under .bakegen/ctx/<compat layer>/, merged in chain order,
shared by the rel images of one compat layer, and restaged only when their sources change."""
from __future__ import annotations

import json
import os
import shutil
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


def replan(root):
    """The plan of the catalogue as it is on disk (``plan_for`` rewrites every file first,
    which gives every source a new inode)."""
    from bakegen.catalogue import load_catalogue
    from bakegen.graph import resolve

    catalogue_, _ = load_catalogue(root)
    graph, problems = resolve(catalogue_)
    assert [str(p) for p in problems if not p.warning] == []
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
    target = plan.target("rel-x-1_0")
    # the context of the top compat layer of the chain, the same one the bake target names
    assert context == root / ".bakegen/ctx/jup" == root / target.context
    assert target.compat_chain == ("common", "extra", "jup")
    # the generated Dockerfile is inline in the bake file, fragments in chain order
    assert target.dockerfile is None
    assert target.dockerfile_text == ("FROM reg.io/sci/a:1.0\nRUN useradd idies\nRUN extra\nEXPOSE 8888\n"
                                      "ENV SCISERVER_IMAGE=x:1.0-5-abcdef0\n")
    # a layer's .dockerignore is not copied: it would filter the other layers' files
    assert listing(context) == {
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
    assert not (root / ".bakegen/ctx/jup").exists()


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
    write_tree(root, {".bakegen/ctx/gone/x.txt": "old\n", ".bakegen/ctx/rel-x-1_0/Dockerfile": "old layout\n",
                      ".bakegen/ctx/stray-file": "x\n"})
    (context,) = stage(root, plan_for(root, files))
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["jup"]
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


# --- shared contexts, hard links, fingerprints -------------------------------------------

def shared_catalogue() -> dict:
    """Two rel images on ``jup``, one on ``extra`` (a layer of jup's chain, on top of its own)."""
    return tree(catalogue(), science("b", image="y", compat="jup"), science("c", image="z", compat="extra"))


def test_rel_images_with_the_same_compat_share_one_context(tmp_path):
    root = tmp_path / "cat"
    plan = plan_for(root, shared_catalogue())
    staged = stage(root, plan)
    assert staged == [root / ".bakegen/ctx/extra", root / ".bakegen/ctx/jup"]
    assert plan.target("rel-x-1_0").context == plan.target("rel-y-1_0").context == ".bakegen/ctx/jup"
    assert plan.target("rel-z-1_0").context == ".bakegen/ctx/extra"
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["extra", "jup"]
    # each image still has its own Dockerfile, inline
    assert plan.target("rel-x-1_0").dockerfile_text != plan.target("rel-y-1_0").dockerfile_text
    assert "ENV SCISERVER_IMAGE=y:1.0-5-abcdef0\n" in plan.target("rel-y-1_0").dockerfile_text
    # extra's context is extra's own chain (common, extra), not jup's
    assert listing(root / ".bakegen/ctx/extra") == {
        "etc/motd": "from common\n",
        "etc/profile": "export A=2\n",
        "readonly.txt": "keep my mode\n",
        "start.sh": "#!/bin/sh\necho common\n",
    }
    assert stat.S_IMODE((root / ".bakegen/ctx/extra/start.sh").stat().st_mode) == 0o700


def test_files_are_hard_links_to_the_sources(tmp_path):
    root = tmp_path / "cat"
    (context,) = stage(root, plan_for(root, catalogue()))
    for relative, source in [("start.sh", "compat/jup/start.sh"), ("etc/profile", "compat/extra/etc/profile"),
                             ("readonly.txt", "compat/common/readonly.txt")]:
        assert os.path.samefile(context / relative, root / source), relative


def test_files_are_copied_with_their_modes_when_links_fail(tmp_path, monkeypatch):
    def refuse(source, destination, *args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    root = tmp_path / "cat"
    (context,) = stage(root, plan_for(root, catalogue()))
    assert not os.path.samefile(context / "start.sh", root / "compat/jup/start.sh")
    assert (context / "start.sh").read_text() == "#!/bin/sh\necho jupyter\n"
    assert stat.S_IMODE((context / "start.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((context / "readonly.txt").stat().st_mode) == 0o444
    assert listing(context)["etc/profile"] == "export A=2\n"


def staged_identity(path):
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def test_an_unchanged_context_is_not_rewritten(tmp_path):
    root = tmp_path / "cat"
    files = shared_catalogue()
    stage(root, plan_for(root, files))
    fingerprints = json.loads((root / ".bakegen/contexts.json").read_text())
    assert sorted(fingerprints) == [".bakegen/ctx/extra", ".bakegen/ctx/jup"]
    before = {name: staged_identity(root / ".bakegen/ctx" / name) for name in ("extra", "jup")}
    motd = staged_identity(root / ".bakegen/ctx/jup/etc/motd")
    stage(root, replan(root))
    assert {name: staged_identity(root / ".bakegen/ctx" / name) for name in ("extra", "jup")} == before
    assert staged_identity(root / ".bakegen/ctx/jup/etc/motd") == motd
    assert json.loads((root / ".bakegen/contexts.json").read_text()) == fingerprints


@pytest.mark.parametrize("how", ["in place", "replaced"])
def test_a_changed_compat_file_restages_the_contexts_that_use_it(tmp_path, how):
    root = tmp_path / "cat"
    files = shared_catalogue()
    stage(root, plan_for(root, files))
    fingerprints = json.loads((root / ".bakegen/contexts.json").read_text())
    before = {name: staged_identity(root / ".bakegen/ctx" / name) for name in ("extra", "jup")}
    source = root / "compat/common/readonly.txt"  # in both chains, and read-only
    if how == "in place":  # same inode, as an editor that rewrites the file
        os.chmod(source, 0o644)
        source.write_text("changed in place\n")
        os.chmod(source, 0o444)
    else:  # a new file renamed over the old one, as git checkout does
        replacement = root / "compat/common/.readonly.new"
        replacement.write_text("replaced\n")
        os.chmod(replacement, 0o444)
        os.replace(replacement, source)
    expected = source.read_text()
    stage(root, replan(root))
    after = json.loads((root / ".bakegen/contexts.json").read_text())
    for name in ("extra", "jup"):
        context = root / ".bakegen/ctx" / name
        assert staged_identity(context)[0] != before[name][0], name  # a new directory renamed into place
        assert (context / "readonly.txt").read_text() == expected
        assert os.path.samefile(context / "readonly.txt", source)
        assert after[f".bakegen/ctx/{name}"] != fingerprints[f".bakegen/ctx/{name}"]
    assert not list((root / ".bakegen/ctx").glob(".*"))


def test_a_change_in_one_chain_leaves_the_other_context_alone(tmp_path):
    root = tmp_path / "cat"
    files = shared_catalogue()
    stage(root, plan_for(root, files))
    extra = staged_identity(root / ".bakegen/ctx/extra")
    jup = staged_identity(root / ".bakegen/ctx/jup")
    write_tree(root, {"compat/jup/new.txt": "only jup\n"})  # jup is not in extra's chain
    stage(root, replan(root))
    assert staged_identity(root / ".bakegen/ctx/extra") == extra
    assert staged_identity(root / ".bakegen/ctx/jup")[0] != jup[0]
    assert (root / ".bakegen/ctx/jup/new.txt").read_text() == "only jup\n"
    assert not (root / ".bakegen/ctx/extra/new.txt").exists()


def test_a_removed_context_is_restaged_even_with_a_matching_fingerprint(tmp_path):
    root = tmp_path / "cat"
    (context,) = stage(root, plan_for(root, catalogue()))
    shutil.rmtree(context)
    assert stage(root, replan(root)) == [context]
    assert listing(context)["etc/motd"] == "from jup\n"


def test_a_context_whose_compat_layer_is_no_longer_used_is_removed(tmp_path):
    root = tmp_path / "cat"
    files = shared_catalogue()
    stage(root, plan_for(root, files))
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["extra", "jup"]
    # no image uses jup any more: x and y move to extra (the layer itself stays in compat/)
    for directory in ("a", "b"):
        descriptor = json.loads((root / f"science/{directory}/sciserver-image.json").read_text())
        write_tree(root, {f"science/{directory}/sciserver-image.json": {**descriptor, "compat": "extra"}})
    extra = staged_identity(root / ".bakegen/ctx/extra")
    plan = replan(root)
    assert {t.context for t in plan.rel} == {".bakegen/ctx/extra"}
    assert stage(root, plan) == [root / ".bakegen/ctx/extra"]
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["extra"]
    assert staged_identity(root / ".bakegen/ctx/extra") == extra  # the one still used is left alone
    assert sorted(json.loads((root / ".bakegen/contexts.json").read_text())) == [".bakegen/ctx/extra"]


def test_no_rel_images_leaves_no_context(tmp_path):
    root = tmp_path / "cat"
    files = catalogue()
    stage(root, plan_for(root, files))
    files["science/a/sciserver-image.json"] = {"image": "x"}  # no compat: no rel image
    assert stage(root, plan_for(root, files)) == []
    assert list((root / ".bakegen/ctx").iterdir()) == []
    assert json.loads((root / ".bakegen/contexts.json").read_text()) == {}
