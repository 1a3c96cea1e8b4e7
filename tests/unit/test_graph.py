"""bakegen.graph: science dependencies from FROM lines, finals, compat include chains."""
from __future__ import annotations

import pytest

from bakegen.catalogue import load_catalogue
from bakegen.graph import resolve
from tests.support import compat, science, tree, write_tree

DIGEST = "sha256:" + "0" * 64


class Resolved:
    def __init__(self, graph, problems):
        self.graph = graph
        self.problems = problems
        self.errors = [str(p) for p in problems if not p.warning]
        self.warnings = [str(p) for p in problems if p.warning]

    def parents(self, directory: str) -> list[str]:
        return [edge.parent for edge in self.graph.parents[directory]]

    def error(self, fragment: str) -> str:
        found = [e for e in self.errors if fragment in e]
        assert len(found) == 1, f"expected one error with {fragment!r} in {self.errors}"
        return found[0]


@pytest.fixture
def resolved(tmp_path):
    """``resolved(files, platforms=None) -> Resolved`` (catalogue problems included)."""
    counter = iter(range(1000))

    def run(files: dict, platforms: tuple[str, ...] | None = None) -> Resolved:
        root = write_tree(tmp_path / f"cat{next(counter)}", files)
        catalogue, problems = load_catalogue(root)
        graph, more = resolve(catalogue, platforms) if platforms else resolve(catalogue)
        return Resolved(graph, problems + more)

    return run


def parent_and_child(child_dockerfile: str, **child) -> dict:
    return tree(science("a", "FROM ubuntu:24.04\n", image="x", compat="jup"),
                science("b", child_dockerfile, image="y", compat="jup", **child),
                compat("jup"))


@pytest.mark.parametrize("line", [
    "FROM reg.io/sci/a:1.0",
    "FROM compute.repo.sciserver.org/sci/a:1.0",
    "FROM containers.repo.sciserver.org/compute-images/sci/a:1.0",
    "FROM localhost:5000/team/sci/a:1.0",
    "FROM sci/a:1.0",
    "FROM a:1.0",
    "from reg.io/sci/a:1.0",
    "FROM --platform=linux/amd64 reg.io/sci/a:1.0",
    "FROM reg.io/sci/a:1.0 AS base",
    "FROM --platform=$BUILDPLATFORM reg.io/sci/a:1.0 as base",
    "ARG BASE=reg.io/sci/a:1.0\nFROM ${BASE}",
    "ARG V=1.0\nFROM reg.io/sci/a:$V",
    "FROM golang:1.22 AS build\nFROM reg.io/sci/a:1.0",
    "FROM \\\n  reg.io/sci/a:1.0",
])
def test_dependency_detected(resolved, line):
    result = resolved(parent_and_child(line + "\n"))
    assert result.errors == []
    assert result.parents("b") == ["a"]
    assert result.graph.children["a"] == ("b",)


@pytest.mark.parametrize("line", [
    "FROM reg.io/sci/a:1.0-42-abcdef0",  # a build tag pins the image: no rebuild link
    f"FROM reg.io/sci/a:1.0@{DIGEST}",
    f"FROM reg.io/sci/a@{DIGEST}",
    "FROM reg.io/sci/a",
    "FROM reg.io/sci/a:2.0",  # wrong version
    "FROM reg.io/rel/a:1.0",
    "FROM docker.io/someone/a:1.0",
    "FROM someone/a:1.0",
    "FROM reg.io/notsci/a:1.0",
    "FROM reg.io/sci/a/extra:1.0",
    "FROM reg.io/sci/aa:1.0",
    "# FROM reg.io/sci/a:1.0\nFROM ubuntu",
    "FROM ubuntu\nRUN <<EOF\nFROM reg.io/sci/a:1.0\nEOF",
])
def test_no_dependency(resolved, line):
    result = resolved(parent_and_child(line + "\n"))
    assert result.errors == []
    assert result.parents("b") == []
    assert result.graph.external["b"]  # it is an ordinary external base image


def test_edge_key_is_the_familiar_form_of_the_expanded_reference(resolved):
    result = resolved(parent_and_child("ARG R=docker.io/library\nFROM $R/a:1.0\n"))
    (edge,) = result.graph.parents["b"]
    assert (edge.child, edge.parent, edge.key, edge.line) == ("b", "a", "a:1.0", 2)


def test_layer_args_choose_the_parent(resolved):
    files = tree(science("a", image="x", version="1.0"), science("a2", "FROM a:1.0\n", image="x", version="2.0"),
                 science("b", "ARG V=1.0\nFROM reg.io/sci/a:$V\n", image="y", args={"V": "1.0"}))
    assert resolved(files).parents("b") == ["a"]
    files["science/b/Dockerfile"] = "ARG T=a\nARG V=1.0\nFROM reg.io/sci/$T:$V\n"
    files["science/b/sciserver-image.json"] = {"image": "y", "args": {"T": "a2", "V": "2.0"}}
    assert resolved(files).parents("b") == ["a2"]


def test_rel_reference_is_a_warning(resolved):
    result = resolved(parent_and_child("FROM reg.io/rel/a:1.0\n"))
    assert result.errors == []
    assert any("science/b/Dockerfile:1: warning:" in w and "rel" in w for w in result.warnings)


def test_several_froms_give_several_parents(resolved):
    files = tree(
        science("a", image="x", compat="jup"),
        science("b", "FROM golang:1.22\n", image="y", compat="jup"),
        science("c", "FROM reg.io/sci/b:1.0 AS tools\nFROM reg.io/sci/a:1.0\nCOPY --from=tools /x /x\n",
                image="z", compat="jup"),
        compat("jup"),
    )
    result = resolved(files)
    assert result.errors == []
    assert result.parents("c") == ["a", "b"]
    assert result.graph.external["b"] == ("golang:1.22",)


def test_diamond(resolved):
    files = tree(
        science("a", image="x", compat="jup"),
        science("b", "FROM reg.io/sci/a:1.0\n", image="x"),
        science("c", "FROM reg.io/sci/a:1.0\n", image="x"),
        science("d", "FROM reg.io/sci/b:1.0 AS one\nFROM reg.io/sci/c:1.0\nCOPY --from=one /a /a\n",
                image="x", compat="jup"),
        compat("jup"),
    )
    result = resolved(files)
    assert result.errors == [] and result.warnings == []
    assert result.parents("d") == ["b", "c"]
    assert result.graph.children["a"] == ("b", "c")
    assert result.graph.finals == {("x", "1.0"): "d"}
    assert result.graph.order() == ["a", "b", "c", "d"]
    assert result.graph.ancestors("d") == {"a", "b", "c"}
    assert result.graph.descendants({"b"}) == {"b", "d"}


def test_self_dependency(resolved):
    result = resolved(tree(science("a", "RUN true\nFROM reg.io/sci/a:1.0\n", compat="jup"), compat("jup")))
    assert result.error("self-dependency") == "science/a/Dockerfile:2: self-dependency: science/a -> science/a"


def test_cycle_prints_the_cycle(resolved):
    files = tree(
        science("a", "FROM reg.io/sci/c:1.0\n", image="x", compat="jup"),
        science("b", "FROM reg.io/sci/a:1.0\n", image="x"),
        science("c", "FROM reg.io/sci/b:1.0\n", image="x"),
        compat("jup"),
    )
    assert resolved(files).error("cycle") == \
        "science/a/Dockerfile:1: dependency cycle: science/a -> science/c -> science/b -> science/a"


def test_cross_image_cycle_is_an_error(resolved):
    """Each layer is final in its own image:version, so upstream's final check misses it."""
    files = tree(science("a", "FROM reg.io/sci/b:1.0\n", image="x", compat="jup"),
                 science("b", "FROM reg.io/sci/a:1.0\n", image="y", compat="jup"), compat("jup"))
    result = resolved(files)
    assert result.error("cycle") == "science/a/Dockerfile:1: dependency cycle: science/a -> science/b -> science/a"


def test_cycle_beside_a_healthy_chain(resolved):
    files = tree(
        science("ok1", image="ok", compat="jup"), science("ok2", "FROM ok1:1.0\n", image="ok", compat="jup"),
        science("p", "FROM q:1.0\n", image="p", compat="jup"), science("q", "FROM p:1.0\n", image="q", compat="jup"),
        compat("jup"),
    )
    result = resolved(files)
    assert len(result.errors) == 1 and "science/p -> science/q -> science/p" in result.errors[0]
    assert result.graph.finals[("ok", "1.0")] == "ok2"


@pytest.mark.parametrize("child_image, child_version, finals", [
    ("x", "1.0", {("x", "1.0"): "b"}),
    ("x", "2.0", {("x", "1.0"): "a", ("x", "2.0"): "b"}),
    ("y", "1.0", {("x", "1.0"): "a", ("y", "1.0"): "b"}),
])
def test_finals_per_image_version(resolved, child_image, child_version, finals):
    files = tree(science("a", image="x", version="1.0", compat="jup"),
                 science("b", "FROM reg.io/sci/a:1.0\n", image=child_image, version=child_version, compat="jup"),
                 compat("jup"))
    result = resolved(files)
    assert result.errors == []
    assert result.graph.finals == finals


def test_several_finals_are_named(resolved):
    files = tree(
        science("base", image="x", compat="jup"),
        science("left", "FROM base:1.0\n", image="x", compat="jup"),
        science("right", "FROM base:1.0\n", image="x", compat="jup"),
        compat("jup"),
    )
    result = resolved(files)
    assert len(result.errors) == 2
    for directory in ("left", "right"):
        line = result.error(f"science/{directory}/sciserver-image.json")
        assert "x:1.0 has 2 final layers (science/left, science/right)" in line
    assert ("x", "1.0") not in result.graph.finals


def test_two_independent_roots_of_one_image_version(resolved):
    result = resolved(tree(science("a", image="x"), science("b", image="x"), compat("jup")))
    assert "x:1.0 has 2 final layers (science/a, science/b)" in result.errors[0]


def test_pinned_child_does_not_make_a_chain(resolved):
    """A child FROM a build tag of its parent is a second root of the same image:version."""
    files = tree(science("a", image="x"), science("b", "FROM reg.io/sci/a:1.0-3-abcdef0\n", image="x"))
    assert "2 final layers" in resolved(files).errors[0]


def test_zero_finals_in_a_cycle_group(resolved):
    files = tree(science("a", "FROM b:1.0\n", image="x"), science("b", "FROM a:1.0\n", image="x"))
    result = resolved(files)
    assert ("x", "1.0") not in result.graph.finals
    assert any("science/a -> science/b -> science/a" in e for e in result.errors)


def test_version_downgrade_is_an_error(resolved):
    files = tree(science("a", image="x", version="2.0", compat="jup"),
                 science("b", "FROM reg.io/sci/a:2.0\n", image="x", version="1.0", compat="jup"), compat("jup"))
    assert resolved(files).error("higher version") == (
        "science/b/Dockerfile:1: x:1.0 builds on a higher version of the same image (science/a, x:2.0)")


@pytest.mark.parametrize("low, high", [("9.0", "10.0"), ("2.9", "2.10"), ("1", "1.0.1"), ("1.0", "1.0")])
def test_version_upgrade_is_allowed(resolved, low, high):
    files = tree(science("a", image="x", version=low, compat="jup"),
                 science("b", f"FROM reg.io/sci/a:{low}\n", image="x", version=high, compat="jup"), compat("jup"))
    result = resolved(files)
    assert result.errors == []
    assert result.parents("b") == ["a"]


def test_downgrade_across_images_is_fine(resolved):
    files = tree(science("a", image="x", version="2.0", compat="jup"),
                 science("b", "FROM reg.io/sci/a:2.0\n", image="y", version="1.0", compat="jup"), compat("jup"))
    assert resolved(files).errors == []


def test_final_without_compat_is_a_warning(resolved):
    result = resolved(tree(science("a", image="x"), science("b", "FROM a:1.0\n", image="x")))
    assert result.errors == []
    assert result.warnings == ["science/b/sciserver-image.json: warning: final layer of x:1.0 names no compat "
                               "layer, so it gets no rel image"]


def test_inner_layer_without_compat_is_fine(resolved):
    result = resolved(tree(science("a", image="x"), science("b", "FROM a:1.0\n", image="x", compat="jup"),
                           compat("jup")))
    assert result.errors == [] and result.warnings == []


def test_unknown_compat_is_an_error_even_on_a_non_final_layer(resolved):
    """Upstream only notices when a compat build of that layer happens to be planned."""
    files = tree(science("a", image="x", compat="jupyterr"), science("b", "FROM a:1.0\n", image="x", compat="jupyter"),
                 compat("jupyter"))
    assert resolved(files).error("unknown compat") == (
        "science/a/sciserver-image.json: unknown compat layer 'jupyterr' (did you mean 'jupyter'?)")


def test_unknown_include(resolved):
    files = tree(science("a", compat="jup"), compat("jup", includes=["comon"]), compat("common"))
    assert resolved(files).error("unknown include") == \
        "compat/jup/sciserver-image.json: unknown include 'comon' (did you mean 'common'?)"


def test_compat_chain_depth_first_each_once(resolved):
    files = tree(
        science("a", compat="top"),
        compat("top", includes=["x", "y"]),
        compat("x", includes=["x1", "common"]),
        compat("y", includes=["common", "y1"]),
        compat("x1", includes=["common"]),
        compat("y1"),
        compat("common"),
    )
    result = resolved(files)
    assert result.errors == []
    assert result.graph.compat_chains["top"] == ("common", "x1", "x", "y1", "y", "top")
    assert result.graph.compat_chains["common"] == ("common",)


def test_compat_diamond_is_fine(resolved):
    files = tree(science("a", compat="jup"), compat("jup", includes=["l", "r"]),
                 compat("l", includes=["base"]), compat("r", includes=["base"]), compat("base"))
    result = resolved(files)
    assert result.errors == []
    assert result.graph.compat_chains["jup"] == ("base", "l", "r", "jup")


def test_compat_duplicate_include_is_fine(resolved):
    files = tree(science("a", compat="jup"), compat("jup", includes=["base", "base"]), compat("base"))
    result = resolved(files)
    assert result.errors == [] and result.graph.compat_chains["jup"] == ("base", "jup")


@pytest.mark.parametrize("includes, cycle", [
    ({"jup": ["jup"]}, "compat/jup -> compat/jup"),
    ({"jup": ["a"], "a": ["b"], "b": ["a"]}, "compat/a -> compat/b -> compat/a"),
])
def test_compat_include_cycle(resolved, includes, cycle):
    files = tree(science("s", compat="jup"), *(compat(name, includes=inc) for name, inc in includes.items()))
    if "jup" not in includes:
        files.update(compat("jup"))
    result = resolved(files)
    cycles = [e for e in result.errors if "include cycle" in e]
    assert len(cycles) == 1 and cycles[0].endswith(f"include cycle: {cycle}")


def test_fragment_with_from_is_an_error(resolved):
    files = tree(science("a", compat="jup"), compat("jup", "RUN true\nfrom ubuntu\n"))
    assert resolved(files).error("must not contain FROM") .startswith("compat/jup/Dockerfile:2: ")


def test_fragment_with_from_inside_a_heredoc_is_fine(resolved):
    files = tree(science("a", compat="jup"), compat("jup", "COPY <<EOF /x\nFROM ubuntu\nEOF\n"))
    assert resolved(files).errors == []


def test_science_dockerfile_without_from(resolved):
    result = resolved(tree(science("a", "RUN true\n"), science("b", "# FROM x\n")))
    assert "science/a/Dockerfile: no FROM instruction" in result.errors
    assert "science/b/Dockerfile: no FROM instruction" in result.errors


def test_dockerfile_syntax_error_is_a_problem_with_line(resolved):
    result = resolved(science("a", "FROM ubuntu\nRUN <<EOF\necho\n"))
    assert any(e.startswith("science/a/Dockerfile:2:") and "heredoc" in e for e in result.errors)


def test_unresolved_from_variable_is_a_warning(resolved):
    result = resolved(tree(science("a", "FROM $BASE\n", compat="jup"), compat("jup")))
    assert result.errors == []
    assert result.warnings and "$BASE" in result.warnings[0]


@pytest.mark.parametrize("parent, child, ok", [
    (["linux/amd64", "linux/arm64"], ["linux/arm64"], True),
    (["linux/amd64", "linux/arm64"], None, True),  # default linux/amd64
    (["linux/amd64"], ["linux/amd64", "linux/arm64"], False),
    (["linux/arm64"], None, False),
])
def test_platforms_subset(resolved, parent, child, ok):
    extra = {"platforms": child} if child else {}
    files = tree(science("a", image="x", compat="jup", platforms=parent),
                 science("b", "FROM a:1.0\n", image="y", compat="jup", **extra), compat("jup"))
    result = resolved(files)
    if ok:
        assert result.errors == []
    else:
        assert "must be a subset of its parent's" in result.error("science/b/sciserver-image.json")


def test_default_platforms_apply_to_layers_without_platforms(resolved):
    files = tree(science("a", compat="jup"), science("b", "FROM a:1.0\n", image="y", compat="jup",
                                                     platforms=["linux/arm64"]), compat("jup"))
    result = resolved(files, platforms=("linux/amd64", "linux/arm64"))
    assert result.errors == []
    assert result.graph.platforms == {"a": ("linux/amd64", "linux/arm64"), "b": ("linux/arm64",)}


def test_invalid_layer_does_not_hide_other_problems(resolved):
    """One broken directory does not stop the others from being checked (upstream bug 24)."""
    files = tree(
        {"science/broken/sciserver-image.json": "{", "science/broken/Dockerfile": "FROM x\n"},
        science("a", "FROM b:1.0\n", image="x"), science("b", "FROM a:1.0\n", image="y"),
    )
    result = resolved(files)
    assert any("invalid JSON" in e for e in result.errors)
    assert any("dependency cycle" in e for e in result.errors)
