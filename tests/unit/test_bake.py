"""bakegen.bake: JSON and HCL emission, escaping, determinism, and what buildx makes of it."""
from __future__ import annotations

import json

import pytest

from bakegen import bake
from bakegen.gitrepo import BuildInfo
from bakegen.plan import Settings, make_plan
from tests.support import FIXED_EPOCH, comparable_targets, compat, resolve_files, science, tree, unescape

TRICKY = 'literal ${HOME} and $${TWICE} and %{ if x }y%{ endif } "quoted" back\\slash tab\tcafé $PLAIN %s'


@pytest.fixture
def plan(tmp_path):
    files = tree(
        science("a", "ARG GREETING\nFROM ubuntu:24.04\n", image="x", compat="jup",
                args={"GREETING": TRICKY, "PLAIN": "1"}, description=TRICKY,
                platforms=["linux/amd64", "linux/arm64"]),
        science("b", "FROM reg.io/sci/a:1.0\n", image="y", compat="jup", description="plain"),
        compat("jup"),
    )
    graph, _ = resolve_files(tmp_path / "cat", files)
    return make_plan(graph, BuildInfo(3, "abcdef0", "abcdef0" + "1" * 33, FIXED_EPOCH), Settings(repo="reg.io"))


def test_escape():
    assert bake.escape("${A} %{B} $A %B $$ {}") == "$${A} %%{B} $A %B $$ {}"


def test_json_escapes_template_sequences(plan):
    data = json.loads(bake.to_json(plan))
    target = data["target"]["sci-a"]
    assert target["args"]["GREETING"] == TRICKY.replace("${", "$${").replace("%{", "%%{")
    assert target["labels"]["org.opencontainers.image.description"] == target["args"]["GREETING"]
    assert unescape(target["args"]["GREETING"]) == TRICKY


def test_hcl_escapes_template_sequences_and_quotes(plan):
    text = bake.to_hcl(plan)
    assert '"GREETING" = "literal $${HOME} and $$${TWICE} and %%{ if x }y%%{ endif } \\"quoted\\" back\\\\slash ' \
           'tab\\tcafé $PLAIN %s"' in text
    assert "${HOME}" not in text.replace("$${HOME}", "")


def test_json_shape(plan):
    data = json.loads(bake.to_json(plan))
    assert list(data) == ["group", "target"]
    assert list(data["group"]) == ["default", "science", "rel", "x", "y"]
    assert data["group"]["default"] == {"targets": ["rel-x-1_0", "rel-y-1_0", "sci-a", "sci-b"]}
    assert data["target"]["sci-b"] == {
        "context": "science/b",
        "dockerfile": "Dockerfile",
        "contexts": {"reg.io/sci/a:1.0": "target:sci-a"},
        "labels": dict(plan.target("sci-b").labels),
        "tags": ["reg.io/sci/b:1.0", "reg.io/sci/b:1.0-3-abcdef0"],
        "platforms": ["linux/amd64"],
    }
    # rel targets: the shared context of their compat layer and their own Dockerfile inline
    assert data["target"]["rel-y-1_0"] == {
        "context": ".bakegen/ctx/jup",
        "dockerfile-inline": plan.target("rel-y-1_0").dockerfile_text,
        "contexts": {"reg.io/sci/b:1.0": "target:sci-b"},
        "labels": dict(plan.target("rel-y-1_0").labels),
        "tags": ["reg.io/rel/y:1.0", "reg.io/rel/y:1.0-3-abcdef0"],
        "platforms": ["linux/amd64"],
    }
    assert data["target"]["rel-x-1_0"]["context"] == ".bakegen/ctx/jup"
    assert "dockerfile" not in data["target"]["rel-x-1_0"]


def test_output_is_deterministic(plan):
    assert bake.to_json(plan) == bake.to_json(plan)
    assert bake.to_hcl(plan) == bake.to_hcl(plan)
    assert bake.to_hcl(plan).endswith("}\n") and bake.to_json(plan).endswith("}\n")


def test_hcl_value_forms():
    assert bake.hcl_value([]) == "[]"
    assert bake.hcl_value({}) == "{}"
    assert bake.hcl_value(["a"]) == '[\n    "a",\n  ]'
    assert bake.hcl_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    with pytest.raises(TypeError):
        bake.hcl_value(1.5)


def test_custom_template(plan):
    text = bake.to_hcl(plan, template="# {{ repo }} {{ build_id }}{% for n, _ in targets %} {{ n }}{% endfor %}")
    assert text == "# reg.io 3-abcdef0 rel-x-1_0 rel-y-1_0 sci-a sci-b\n"


def test_shipped_template_is_found():
    assert "target {{ name | hcl_string }}" in bake.template_text()


def test_hcl_and_json_resolve_to_the_same_configuration(plan, tmp_path, buildx_print):
    """The real ``docker buildx bake --print``: both forms give the same targets, with the
    escaped sequences back to their literal text."""
    hcl, js = tmp_path / "docker-bake.hcl", tmp_path / "docker-bake.json"
    hcl.write_text(bake.to_hcl(plan), encoding="utf-8")
    js.write_text(bake.to_json(plan), encoding="utf-8")
    from_hcl, from_json = buildx_print(tmp_path, hcl, "default"), buildx_print(tmp_path, js, "default")
    assert from_hcl == from_json
    target = from_hcl["target"]["sci-a"]
    assert target["args"] == {"GREETING": TRICKY, "PLAIN": "1"}
    assert target["labels"]["org.opencontainers.image.description"] == TRICKY
    assert comparable_targets(from_json) == unescape(json.loads(js.read_text())["target"])
    groups = buildx_print(tmp_path, js, "science", "rel", "x", "y")["group"]
    assert groups == buildx_print(tmp_path, hcl, "science", "rel", "x", "y")["group"]
    assert groups["x"] == {"targets": ["rel-x-1_0", "sci-a"]}
    rel = from_hcl["target"]["rel-y-1_0"]
    assert rel["context"] == ".bakegen/ctx/jup" and rel["dockerfile-inline"] == plan.target("rel-y-1_0").dockerfile_text
