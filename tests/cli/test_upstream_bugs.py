"""One test per upstream image-builder bug that the core touches
(shared/reference/upstream-image-builder.md, section 17). Each would fail on upstream's
behaviour, which the docstring describes."""
from __future__ import annotations

import json
import subprocess

from tests.support import (
    FIXED_EPOCH,
    compat,
    git,
    head,
    run_console_script,
    sample_catalogue,
    science,
    tree,
    write_tree,
)


def plan_of(bakegen, root, *args) -> dict:
    result = bakegen("render", "--format", "plan", *args, cwd=root)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def builds(plan: dict) -> dict:
    return {b["name"]: b for b in plan["builds"]}


def test_upstream_bug_1_nested_compat_includes_are_built(bakegen, repo):
    """Upstream expanded includes transitively to decide what to rebuild, but its Dockerfile and
    context used only the direct includes: compat/top -> mid -> base left base's fragment and
    files out of the rel image."""
    root = repo(tree(
        science("a", compat="top"),
        compat("top", "RUN echo top\n", includes=["mid"], files={"top.txt": "top\n"}),
        compat("mid", "RUN echo mid\n", includes=["base"], files={"mid.txt": "mid\n"}),
        compat("base", "RUN echo base\n", files={"base.txt": "base\n", "mid.txt": "overwritten by mid\n"}),
    ))
    result = bakegen("render", cwd=root)
    assert result.exit_code == 0, result
    rel = result.printed["target"]["rel-a-1_0"]
    assert rel["context"] == ".bakegen/ctx/top"
    context = root / rel["context"]
    _, short, _ = head(root)
    assert rel["dockerfile-inline"] == (
        "FROM compute.repo.sciserver.org/sci/a:1.0\nRUN echo base\nRUN echo mid\nRUN echo top\n"
        f"ENV SCISERVER_IMAGE=a:1.0-1-{short}\n")
    assert builds(result.plan)["rel-a-1_0"]["compat"] == ["base", "mid", "top"]
    assert {p.name: p.read_text() for p in context.glob("*.txt")} == {
        "base.txt": "base\n", "mid.txt": "mid\n", "top.txt": "top\n"}


def test_upstream_bug_2_each_layer_is_built_once(bakegen, repo):
    """Upstream's queue could plan a layer twice (a stale child first, on top of its old parent)
    depending on discovery order. In the bake file every layer is one target, linked to its
    parent, so it is built once and after its parent."""
    root = repo(tree(
        science("c", "FROM b:1.0\n", image="z", compat="jup"),
        science("b", "FROM a:1.0\n", image="y", compat="jup"),
        science("a", image="x", compat="jup"),
        compat("jup"),
    ))
    result = bakegen("render", cwd=root)
    targets = result.printed["target"]
    assert sorted(targets) == ["rel-x-1_0", "rel-y-1_0", "rel-z-1_0", "sci-a", "sci-b", "sci-c"]
    assert targets["sci-c"]["contexts"] == {"b:1.0": "target:sci-b"}
    assert targets["sci-b"]["contexts"] == {"a:1.0": "target:sci-a"}


def test_upstream_bug_3_cross_image_cycle_is_an_error_not_a_hang(repo):
    """Upstream: a(x:1.0) FROM b and b(y:1.0) FROM a passed validation (each is final in its own
    group) and the planner looped forever when a member changed. bakegen reports the cycle and
    exits 2 (run as a real process with a timeout, so a hang fails instead of blocking)."""
    root = repo(tree(science("a", "FROM reg.io/sci/b:1.0\n", image="x", compat="jup"),
                     science("b", "FROM reg.io/sci/a:1.0\n", image="y", compat="jup"), compat("jup")))
    write_tree(root, {"science/a/Dockerfile": "FROM reg.io/sci/b:1.0\nRUN changed\n"})  # a member changed
    try:
        completed = run_console_script(["render"], root, timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - the upstream behaviour
        raise AssertionError("bakegen did not terminate on a cross-image cycle") from None
    assert completed.returncode == 2, completed.stderr
    assert "science/a/Dockerfile:1: dependency cycle: science/a -> science/b -> science/a" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_upstream_bug_4_dependency_detection(bakegen, repo):
    """Upstream took the last word of the first line starting with 'FROM ': it missed AS-named
    stages, ARG-built references and later FROMs, crashed on lower-case or indented FROM, and
    matched any image whose last path element was <target>:<version> (rel/ images, foreign
    repositories)."""
    root = repo(tree(
        science("a", image="base", compat="jup"),
        science("alias", "FROM reg.io/sci/a:1.0 AS builder\n", image="i1", compat="jup"),
        science("argfrom", "ARG BASE=reg.io/sci/a:1.0\nFROM ${BASE}\n", image="i2", compat="jup"),
        science("later", "FROM golang:1.22 AS build\nFROM reg.io/sci/a:1.0\n", image="i3", compat="jup"),
        science("lower", "  from reg.io/sci/a:1.0\n", image="i4", compat="jup"),
        science("relimage", "FROM reg.io/rel/a:1.0\n", image="i5", compat="jup"),
        science("foreign", "FROM docker.io/someone/a:1.0\n", image="i6", compat="jup"),
        compat("jup"),
    ))
    result = bakegen("render", cwd=root)
    assert result.exit_code == 0, result
    targets = result.printed["target"]
    for name in ("alias", "argfrom", "later", "lower"):
        assert targets[f"sci-{name}"]["contexts"] == {"reg.io/sci/a:1.0": "target:sci-a"}, name
    assert "contexts" not in targets["sci-relimage"] and "contexts" not in targets["sci-foreign"]
    assert "science/relimage/Dockerfile:1: warning: FROM reg.io/rel/a:1.0 builds on a rel" in result.stderr


def test_upstream_bug_6_the_from_registry_is_redirected_to_the_parent_target(bakegen, repo):
    """Upstream ignored the registry of a FROM for matching, but docker used it: with another
    --repo, children were built on the production parent. bakegen maps the reference as written
    to the parent's target, so the child always builds on the parent of this build."""
    root = repo(tree(science("a", compat="jup"),
                     science("b", "FROM containers.repo.sciserver.org/compute-images/sci/a:1.0\n", image="y",
                             compat="jup"), compat("jup")))
    result = bakegen("render", "--repo", "localhost:5000/test", cwd=root)
    assert result.printed["target"]["sci-b"]["contexts"] == {
        "containers.repo.sciserver.org/compute-images/sci/a:1.0": "target:sci-a"}
    assert result.printed["target"]["sci-a"]["tags"][0] == "localhost:5000/test/sci/a:1.0"


def test_upstream_bug_7_versions_compare_numerically(bakegen, repo):
    """Upstream compared version strings, so essentials 10.0 FROM essentials 9.0 was rejected as
    'dependency with higher version of same image'."""
    root = repo(tree(science("v9", image="ess", version="9.0", compat="jup"),
                     science("v10", "FROM reg.io/sci/v9:9.0\n", image="ess", version="10.0", compat="jup"),
                     science("v2-9", image="other", version="2.9", compat="jup"),
                     science("v2-10", "FROM v2-9:2.9\n", image="other", version="2.10", compat="jup"),
                     compat("jup")))
    result = bakegen("render", cwd=root)
    assert result.exit_code == 0, result
    assert result.printed["target"]["sci-v10"]["contexts"] == {"reg.io/sci/v9:9.0": "target:sci-v9"}
    write_tree(root, science("v10", "FROM reg.io/sci/v9:9.0\n", image="ess", version="8.0", compat="jup"))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2 and "ess:8.0 builds on a higher version of the same image" in result.stderr


def test_upstream_bug_8_compat_diamond_is_fine_and_a_cycle_is_a_clean_error(bakegen, repo):
    """Upstream reported a diamond (or a duplicate) include as a circular dependency, and a true
    cycle not through the root as a RecursionError traceback, depending on glob order."""
    root = repo(tree(science("a", compat="top"), compat("top", includes=["left", "right", "left"]),
                     compat("left", includes=["common"]), compat("right", includes=["common"]), compat("common")))
    result = bakegen("render", "--format", "plan", cwd=root)
    assert result.exit_code == 0, result
    assert builds(json.loads(result.stdout))["rel-a-1_0"]["compat"] == ["common", "left", "right", "top"]
    write_tree(root, compat("common", includes=["right"]))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2
    assert "include cycle: compat/common -> compat/right -> compat/common" in result.stderr
    assert "Traceback" not in result.output and "Recursion" not in result.output


def test_upstream_bug_9_discovery_order_does_not_matter(bakegen, tmp_path):
    """Upstream used the unsorted glob order, so plans and messages differed between machines.
    Two repositories whose directories were created in opposite orders render identical files."""
    files = sample_catalogue()
    outputs = []
    for name, order in (("forward", sorted(files)), ("backward", sorted(files, reverse=True))):
        root = tmp_path / name
        write_tree(root, {path: files[path] for path in order})
        git(root, "-c", "init.defaultBranch=main", "init", "-q")
        git(root, "add", "-A")
        git(root, "-c", "commit.gpgsign=false", "commit", "-q", "-m", "catalogue")
        result = bakegen("render", cwd=root)
        outputs.append((result.file.read_text(), result.stderr))
    assert outputs[0] == outputs[1]


def test_upstream_bug_10_names_and_versions_follow_docker(bakegen, repo):
    """Upstream accepted "" and ".." as versions (invalid tags), turned the JSON number 1.10 into
    "1.1", and accepted upper-case image and target names that docker refuses."""
    root = repo({
        **science("empty", version=""), **science("dots", version=".."), **science("Upper"),
        "science/float/sciserver-image.json": '{\n  "image": "float",\n  "version": 1.10\n}\n',
        "science/float/Dockerfile": "FROM ubuntu\n",
    })
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2
    assert "science/empty/sciserver-image.json:2: invalid version ''" in result.stderr
    assert "science/dots/sciserver-image.json:2: invalid version '..'" in result.stderr
    assert 'science/float/sciserver-image.json:3: \'version\' must be a string, not a number: write "version": "1.10"' \
        in result.stderr
    assert "science/Upper/sciserver-image.json:2: invalid image name 'Upper'" in result.stderr


def test_upstream_bug_11_single_commit_and_shallow_clones(bakegen, repo, tmp_path):
    """Upstream crashed with 'fatal: bad revision HEAD^' in a single-commit repository or a
    depth-1 clone, and tagged a dirty tree with HEAD's hash as if it were clean."""
    root = repo(sample_catalogue())
    _, short, _ = head(root)
    assert plan_of(bakegen, root)["build_id"] == f"1-{short}"  # one commit is fine
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{root}", str(clone))
    result = bakegen("render", cwd=clone)
    assert result.exit_code == 2 and "shallow clone" in result.stderr and "--build-id" in result.stderr
    write_tree(root, {"compat/jupyter/Dockerfile": "EXPOSE 8889\n"})
    assert plan_of(bakegen, root)["build_id"] == f"1-{short}-dirty"


def test_upstream_bug_14_compat_names_checked_up_front(bakegen, repo):
    """Upstream checked a layer's compat only when a compat build of it was planned, and said
    nothing about final layers that never get a rel image."""
    root = repo(tree(science("a", image="x", compat="jupyterr"), science("b", "FROM a:1.0\n", image="x",
                                                                        compat="jupyter"),
                     science("c", image="y"), compat("jupyter")))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2
    assert "science/a/sciserver-image.json: unknown compat layer 'jupyterr' (did you mean 'jupyter'?)" in result.stderr
    assert "science/c/sciserver-image.json: warning: final layer of y:1.0 names no compat layer" in result.stderr


def test_upstream_bug_15_internal_keys_are_not_accepted(bakegen, repo):
    """Upstream kept its state in the parsed JSON, so "dependsOn", "final", "neededBy" or "path"
    in sciserver-image.json silently changed the graph."""
    root = repo(tree(science("a", compat="jup"), science("b", dependsOn="a", final=True, neededBy=[], path="x",
                                                        compat="jup"), compat("jup")))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2
    for key in ("dependsOn", "final", "neededBy", "path"):
        assert f"unknown key '{key}'" in result.stderr


def test_upstream_bug_17_staging_does_not_accumulate_or_leak_descriptors(bakegen, repo):
    """Upstream staged every compat build in a new <root>/tmp/compat-<time> directory that was
    never removed, and rsynced each layer's sciserver-image.json into the context."""
    root = repo(tree(science("a", compat="jup"), science("b", image="y", compat="jup"),
                     science("c", image="z", compat="solo"),
                     compat("jup", includes=["common"]), compat("solo", includes=["common"]),
                     compat("common", files={"x.txt": "x\n"})))
    for round_ in range(3):  # unchanged, and with a changed file that restages both contexts
        if round_ == 2:
            write_tree(root, {"compat/common/x.txt": "x again\n"})
        assert bakegen("render", cwd=root).exit_code == 0
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["jup", "solo"]  # no temporary or old dirs
    assert sorted(p.name for p in (root / ".bakegen").iterdir()) == [".gitignore", "contexts.json", "ctx"]
    assert not (root / "tmp").exists()
    for context in (root / ".bakegen/ctx").iterdir():
        assert sorted(p.name for p in context.iterdir()) == ["x.txt"]  # no descriptor, no fragment
        assert (context / "x.txt").read_text() == "x again\n"
    write_tree(root, science("c", image="z"))  # c no longer has a rel image: solo's context goes
    assert bakegen("render", cwd=root).exit_code == 0
    assert sorted(p.name for p in (root / ".bakegen/ctx").iterdir()) == ["jup"]
    assert sorted(json.loads((root / ".bakegen/contexts.json").read_text())) == [".bakegen/ctx/jup"]


def test_upstream_bug_19_build_time_is_reproducible(bakegen, repo):
    """Upstream's buildtime labels were time.time() at build, so two builds of one commit never
    matched. bakegen uses the commit time, whatever the clock says."""
    root = repo(sample_catalogue())
    first = bakegen("render", cwd=root).file.read_text()
    assert f'.buildtime" = "{FIXED_EPOCH}"' in first
    second = bakegen("render", cwd=root, env={"SOURCE_DATE_EPOCH": "1"}).file.read_text()
    assert first == second


def test_upstream_bug_22_no_traceback_and_named_duplicates(repo):
    """Upstream ended every problem with a Python traceback and exit status 1; the duplicate
    target message ('Error: detected non-unique targets') named no directory."""
    root = repo(tree(science("one", target="same"), science("two", target="same"),
                     {"science/three/sciserver-image.json": "[]"}))
    completed = run_console_script(["validate"], root)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr + completed.stdout
    assert "Error:" not in completed.stderr
    assert "science/one/sciserver-image.json:2: duplicate target 'same': also used by science/two" in completed.stderr
    assert "science/two/sciserver-image.json:2: duplicate target 'same': also used by science/one" in completed.stderr


def test_upstream_bug_23_render_says_what_it_planned(bakegen, repo):
    """Upstream printed nothing at the default verbosity, not even the plan summary."""
    result = bakegen("render", cwd=repo(sample_catalogue()))
    assert "plan: 4 science build(s), 3 compat build(s)" in result.stderr
    assert "essentials:2.0  [rel-essentials-2_0]" in result.stderr


def test_upstream_bug_24_one_broken_directory_reports_everything(bakegen, repo):
    """Upstream parsed every Dockerfile on every run and stopped at the first broken directory
    with a traceback, hiding every other problem. bakegen names each broken layer at once."""
    root = repo(tree(
        sample_catalogue(),
        science("broken1", "RUN no from here\n"),
        {"science/broken2/sciserver-image.json": {"image": "broken2"}},
        science("broken3", "FROM --bogus=1 ubuntu\n"),
    ))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2
    assert "science/broken1/Dockerfile: no FROM instruction" in result.stderr
    assert "science/broken2/Dockerfile: missing Dockerfile" in result.stderr
    assert "science/broken3/Dockerfile:1: FROM: unknown flag --bogus" in result.stderr
    assert result.stderr.splitlines()[-1] == "bakegen: 3 errors"
