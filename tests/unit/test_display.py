"""bakegen.display: plan summary, plan JSON and the graph pictures."""
from __future__ import annotations

import re

import json

import pytest

from bakegen import display
from bakegen.gitrepo import BuildInfo
from bakegen.plan import Settings, make_plan
from tests.support import FIXED_EPOCH, compat, resolve_files, science, tree

BUILD = BuildInfo(4, "abcdef0", "abcdef0" + "3" * 33, FIXED_EPOCH)


@pytest.fixture
def resolved(tmp_path):
    files = tree(
        science("base", image="ess", compat="jup"),
        science("base2", "FROM reg.io/sci/base:1.0\n", image="ess", version="2.0", compat="jup"),
        science("astro", "FROM base2:2.0\n", image="astro", compat="web"),
        science("tools", "FROM golang:1.22\n", image="tools"),
        compat("jup", "EXPOSE 8888\n", includes=["common"]),
        compat("web", "EXPOSE 80\n", includes=["common"]),
        compat("common"),
    )
    graph, _ = resolve_files(tmp_path / "cat", files)
    return graph, make_plan(graph, BUILD, Settings(repo="reg.io"))


def test_plan_summary(resolved):
    graph, plan = resolved
    text = display.plan_summary(plan, graph)
    assert "astro:1.0  [rel-astro-1_0]" in text
    assert "  science: astro <- base2 <- base" in text
    assert "  compat:  common -> web" in text
    assert "  tags:    reg.io/rel/astro:1.0, reg.io/rel/astro:1.0-4-abcdef0" in text
    assert "science layers without a rel build in this plan:" in text
    assert "tools  [sci-tools]" in text
    assert text.splitlines()[-1] == "plan: 4 science build(s), 3 compat build(s), build 4-abcdef0, repo reg.io"


def test_plan_dict(resolved):
    _, plan = resolved
    data = json.loads(display.plan_json(plan))
    assert set(data) >= {"builds", "edges", "groups", "repo", "build_id", "revision", "created"}
    assert data["build_id"] == "4-abcdef0" and data["created"] == "2024-03-01T12:00:00Z"
    builds = {b["name"]: b for b in data["builds"]}
    assert builds["rel-astro-1_0"]["compat"] == ["common", "web"]
    assert builds["rel-astro-1_0"]["context"] == ".bakegen/ctx/web"
    assert builds["rel-astro-1_0"]["dockerfile_inline"] == plan.target("rel-astro-1_0").dockerfile_text
    assert "dockerfile" not in builds["rel-astro-1_0"]
    assert (builds["sci-astro"]["context"], builds["sci-astro"]["dockerfile"]) == ("science/astro", "Dockerfile")
    assert "dockerfile_inline" not in builds["sci-astro"]
    assert builds["sci-astro"]["tags"] == ["reg.io/sci/astro:1.0", "reg.io/sci/astro:1.0-4-abcdef0"]
    assert builds["sci-astro"]["labels"]["org.sciserver.science.astro.version"] == "1.0-4-abcdef0"
    assert {"child": "sci-astro", "parent": "sci-base2", "reference": "base2:2.0"} in data["edges"]
    assert {"child": "rel-astro-1_0", "parent": "sci-astro", "reference": "reg.io/sci/astro:1.0"} in data["edges"]
    assert len(data["edges"]) == 5


def test_graph_text(resolved):
    graph, _ = resolved
    text = display.graph_text(graph)
    assert "science layers (4):" in text
    assert "  science/base2  sci/base2:2.0  (ess:2.0)  final" in text
    assert "    FROM reg.io/sci/base:1.0  -> science/base" in text
    assert "    FROM golang:1.22" in text
    assert "  rel/astro:1.0  <- science/astro  (compat common -> web)" in text
    assert "  rel/tools:1.0  <- science/tools  (no compat: no rel image)" in text
    assert "  compat/jup  includes common" in text
    order = [line.split()[0] for line in text.splitlines() if line.startswith("  science/")]
    assert order.index("science/base") < order.index("science/base2") < order.index("science/astro")


def test_graph_mermaid(resolved):
    graph, _ = resolved
    text = display.graph_mermaid(graph)
    assert text.startswith("flowchart BT\n")
    # node ids carry a short hash of the name, so a-b and a_b stay two nodes
    edges = {re.sub(r"_[0-9a-f]{6}\b", "", line.strip()) for line in text.splitlines()}
    assert "sci_astro --> sci_base2" in edges
    assert "rel_astro_1_0 --> sci_astro" in edges
    assert "rel_astro_1_0 -.-> compat_web" in edges
    assert "compat_web -.->|includes| compat_common" in edges


def test_graph_dot(resolved):
    graph, _ = resolved
    text = display.graph_dot(graph)
    assert text.startswith("digraph catalogue {") and text.rstrip().endswith("}")
    assert '"science/astro" -> "science/base2";' in text
    assert '"rel/ess:2.0" -> "compat/jup" [style=dashed];' in text
    assert '"compat/jup" -> "compat/common" [style=dashed, label=includes];' in text
