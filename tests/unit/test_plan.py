"""bakegen.plan: targets, tags, labels, contexts, rel Dockerfiles, names and groups."""
from __future__ import annotations

import pytest

from bakegen.errors import CatalogueError
from bakegen.gitrepo import BuildInfo
from bakegen.plan import Settings, compat_dockerfile, make_plan
from tests.support import FIXED_EPOCH, compat, resolve_files, science, tree

REPO = "reg.example.org/team"
FULL = "f90dbd6" + "0" * 33
BUILD = BuildInfo(count=42, short="f90dbd6", revision=FULL, timestamp=FIXED_EPOCH)


@pytest.fixture
def plan_of(tmp_path):
    counter = iter(range(1000))

    def run(files: dict, build: BuildInfo = BUILD, repo: str = REPO, platforms=None, **kwargs):
        graph, _ = resolve_files(tmp_path / f"cat{next(counter)}", files, platforms)
        return make_plan(graph, build, Settings(repo=repo, platforms=platforms or ("linux/amd64",)), **kwargs)

    return run


def chain() -> dict:
    return tree(
        science("essentials", "FROM ubuntu:24.04\n", image="essentials", version="1.0", compat="jupyter"),
        science("essentials2", "FROM reg.io/sci/essentials:1.0\n", image="essentials", version="2.0",
                compat="jupyter", description="Essentials, second edition"),
        science("astro", "ARG BASE=containers.example.org/compute-images/sci/essentials2:2.0\nFROM $BASE\n",
                image="astro", target="sci-astro", compat="jupyter"),
        compat("jupyter", "EXPOSE 8888\n", includes=["common"]),
        compat("common", "RUN useradd idies"),  # no trailing newline on purpose
    )


def test_targets_and_names(plan_of):
    plan = plan_of(chain())
    assert [t.name for t in plan.targets] == [
        "rel-astro-1_0", "rel-essentials-1_0", "rel-essentials-2_0",
        "sci-essentials", "sci-essentials2", "sci-sci-astro",
    ]
    assert [t.name for t in plan.science] == ["sci-essentials", "sci-essentials2", "sci-sci-astro"]
    assert [t.name for t in plan.rel] == ["rel-astro-1_0", "rel-essentials-1_0", "rel-essentials-2_0"]


def test_science_tags(plan_of):
    target = plan_of(chain()).target("sci-essentials2")
    assert target.tags == (f"{REPO}/sci/essentials2:2.0", f"{REPO}/sci/essentials2:2.0-42-f90dbd6")
    assert (target.context, target.dockerfile, target.kind, target.layer) == (
        "science/essentials2", "Dockerfile", "science", "essentials2")


def test_rel_tags(plan_of):
    target = plan_of(chain()).target("rel-essentials-2_0")
    assert target.tags == (f"{REPO}/rel/essentials:2.0", f"{REPO}/rel/essentials:2.0-42-f90dbd6")
    # the context is the staged top compat layer; the generated Dockerfile is inline
    assert target.context == ".bakegen/ctx/jupyter" and target.dockerfile is None
    assert target.dockerfile_text.startswith(f"FROM {REPO}/sci/essentials2:2.0\n")


def test_rel_contexts_are_per_top_compat_layer(plan_of):
    files = tree(chain(), science("web", "FROM reg.io/sci/essentials:1.0\n", image="web", compat="webapp"),
                 compat("webapp", "EXPOSE 80\n", includes=["jupyter"]))
    plan = plan_of(files)
    contexts = {t.name: t.context for t in plan.rel}
    assert contexts == {
        "rel-astro-1_0": ".bakegen/ctx/jupyter",
        "rel-essentials-1_0": ".bakegen/ctx/jupyter",
        "rel-essentials-2_0": ".bakegen/ctx/jupyter",
        "rel-web-1_0": ".bakegen/ctx/webapp",  # the chain common, jupyter, webapp: named by its top
    }
    assert plan.target("rel-web-1_0").compat_chain == ("common", "jupyter", "webapp")
    # one shared context, but every image keeps its own Dockerfile
    assert len({t.dockerfile_text for t in plan.rel}) == len(plan.rel)
    assert all(t.dockerfile is None for t in plan.rel)


def test_science_labels_exactly(plan_of):
    target = plan_of(chain()).target("sci-sci-astro")
    assert dict(target.labels) == {
        "org.opencontainers.image.created": "2024-03-01T12:00:00Z",
        "org.opencontainers.image.revision": FULL,
        "org.opencontainers.image.title": "sci/sci-astro",
        "org.opencontainers.image.version": "1.0-42-f90dbd6",
        "org.sciserver.science.sci-astro.version": "1.0-42-f90dbd6",
        "org.sciserver.science.sci-astro.buildtime": str(FIXED_EPOCH),
    }


def test_rel_labels_exactly(plan_of):
    target = plan_of(chain()).target("rel-essentials-2_0")
    assert dict(target.labels) == {
        "org.opencontainers.image.created": "2024-03-01T12:00:00Z",
        "org.opencontainers.image.revision": FULL,
        "org.opencontainers.image.title": "rel/essentials",
        "org.opencontainers.image.version": "2.0-42-f90dbd6",
        "org.opencontainers.image.description": "Essentials, second edition",
        "org.sciserver.compat.version": "essentials:2.0-42-f90dbd6",
        "org.sciserver.compat.buildtime": str(FIXED_EPOCH),
    }


def test_breadcrumb_label_keys_are_per_target(plan_of):
    """Each science layer adds its own org.sciserver.science.<target>.* pair, so labels
    accumulate down a chain (the image config inherits the parent's labels)."""
    plan = plan_of(chain())
    keys = {t.name: {k for k, _ in t.labels if k.startswith("org.sciserver.")} for t in plan.science}
    assert keys == {
        "sci-essentials": {"org.sciserver.science.essentials.version", "org.sciserver.science.essentials.buildtime"},
        "sci-essentials2": {"org.sciserver.science.essentials2.version",
                            "org.sciserver.science.essentials2.buildtime"},
        "sci-sci-astro": {"org.sciserver.science.sci-astro.version", "org.sciserver.science.sci-astro.buildtime"},
    }


def test_dirty_marker(plan_of):
    plan = plan_of(chain(), build=BuildInfo(42, "f90dbd6", FULL, FIXED_EPOCH, dirty=True))
    target = plan.target("sci-essentials")
    assert target.tags == (f"{REPO}/sci/essentials:1.0", f"{REPO}/sci/essentials:1.0-42-f90dbd6-dirty")
    assert dict(target.labels)["org.sciserver.science.essentials.version"] == "1.0-42-f90dbd6-dirty"
    rel = plan.target("rel-essentials-1_0")
    assert rel.tags[1] == f"{REPO}/rel/essentials:1.0-42-f90dbd6-dirty"
    assert "ENV SCISERVER_IMAGE=essentials:1.0-42-f90dbd6-dirty\n" in rel.dockerfile_text


def test_no_revision_label_without_a_revision(plan_of):
    plan = plan_of(chain(), build=BuildInfo(7, "abcdef0", None, 0))
    labels = dict(plan.target("sci-essentials").labels)
    assert "org.opencontainers.image.revision" not in labels
    assert labels["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z"


def test_rel_dockerfile(plan_of):
    rel = plan_of(chain()).target("rel-essentials-2_0")
    assert rel.compat_chain == ("common", "jupyter")
    assert rel.dockerfile_text == (
        f"FROM {REPO}/sci/essentials2:2.0\n"
        "RUN useradd idies\n"
        "EXPOSE 8888\n"
        "ENV SCISERVER_IMAGE=essentials:2.0-42-f90dbd6\n"
    )


def test_rel_dockerfile_uses_nested_includes_in_order(plan_of):
    files = tree(
        science("a", compat="top"),
        compat("top", "# top\n", includes=["mid", "side"]),
        compat("mid", "# mid\n", includes=["base"]),
        compat("side", "# side\n", includes=["base"]),
        compat("base", "# base\n"),
    )
    rel = plan_of(files).target("rel-a-1_0")
    assert rel.compat_chain == ("base", "mid", "side", "top")
    assert rel.dockerfile_text == (f"FROM {REPO}/sci/a:1.0\n# base\n# mid\n# side\n# top\n"
                                   "ENV SCISERVER_IMAGE=a:1.0-42-f90dbd6\n")


def test_compat_dockerfile_function():
    assert compat_dockerfile("r/sci/a:1.0", ["A\n", "B", ""], "a:1.0-1-abc") == \
        "FROM r/sci/a:1.0\nA\nB\nENV SCISERVER_IMAGE=a:1.0-1-abc\n"


def test_science_contexts_map_the_from_reference_to_the_parent_target(plan_of):
    plan = plan_of(chain())
    assert plan.target("sci-essentials").contexts == ()
    assert plan.target("sci-essentials2").contexts == (("reg.io/sci/essentials:1.0", "target:sci-essentials"),)
    # the expanded ARG, as written (its registry need not be --repo)
    assert plan.target("sci-sci-astro").contexts == (
        ("containers.example.org/compute-images/sci/essentials2:2.0", "target:sci-essentials2"),)


def test_rel_contexts_link_the_science_target(plan_of):
    rel = plan_of(chain()).target("rel-astro-1_0")
    assert rel.contexts == ((f"{REPO}/sci/sci-astro:1.0", "target:sci-sci-astro"),)


@pytest.mark.parametrize("from_line, key", [
    ("FROM docker.io/library/a:1.0", "a:1.0"),
    ("FROM library/a:1.0", "a:1.0"),
    ("FROM docker.io/sci/a:1.0", "sci/a:1.0"),
    ("FROM index.docker.io/team/sci/a:1.0", "team/sci/a:1.0"),
])
def test_context_keys_in_familiar_form(plan_of, from_line, key):
    files = tree(science("a", compat="jup"), science("b", from_line + "\n", compat="jup"), compat("jup"))
    assert plan_of(files).target("sci-b").contexts == ((key, "target:sci-a"),)


def test_rel_context_key_familiar_for_docker_hub_repo(plan_of):
    plan = plan_of(tree(science("a", compat="jup"), compat("jup")), repo="docker.io/team")
    rel = plan.target("rel-a-1_0")
    assert rel.contexts == (("team/sci/a:1.0", "target:sci-a"),)
    assert rel.dockerfile_text.startswith("FROM docker.io/team/sci/a:1.0\n")


def test_args_and_platforms(plan_of):
    files = tree(science("a", compat="jup", platforms=["linux/amd64", "linux/arm64"], args={"B": "2", "A": "1"}),
                 compat("jup"))
    plan = plan_of(files)
    sci, rel = plan.target("sci-a"), plan.target("rel-a-1_0")
    assert sci.args == (("A", "1"), ("B", "2")) and rel.args == ()
    assert sci.platforms == rel.platforms == ("linux/amd64", "linux/arm64")


def test_default_platforms_from_settings(plan_of):
    plan = plan_of(tree(science("a", compat="jup"), compat("jup")), platforms=("linux/arm64",))
    assert {t.platforms for t in plan.targets} == {("linux/arm64",)}


def test_final_without_compat_has_no_rel_target(plan_of):
    plan = plan_of(tree(science("a"), science("b", "FROM a:1.0\n", image="y", compat="jup"), compat("jup")))
    assert [t.name for t in plan.rel] == ["rel-y-1_0"]


def test_groups(plan_of):
    plan = plan_of(chain())
    assert dict(plan.groups) == {
        "default": ("rel-astro-1_0", "rel-essentials-1_0", "rel-essentials-2_0",
                    "sci-essentials", "sci-essentials2", "sci-sci-astro"),
        "science": ("sci-essentials", "sci-essentials2", "sci-sci-astro"),
        "rel": ("rel-astro-1_0", "rel-essentials-1_0", "rel-essentials-2_0"),
        "astro": ("rel-astro-1_0", "sci-sci-astro"),
        "essentials": ("rel-essentials-1_0", "rel-essentials-2_0", "sci-essentials", "sci-essentials2"),
    }
    assert [name for name, _ in plan.groups][:3] == ["default", "science", "rel"]


def test_image_group_names_are_sanitized(plan_of):
    plan = plan_of(tree(science("a", image="sci.py", version="3.11", compat="jup"), compat("jup")))
    assert dict(plan.groups)["sci_py"] == ("rel-sci_py-3_11", "sci-a")


def test_target_names_are_sanitized(plan_of):
    plan = plan_of(tree(science("a", target="my.layer", image="my.image", version="2.10", compat="jup"),
                        compat("jup")))
    assert [t.name for t in plan.targets] == ["rel-my_image-2_10", "sci-my_layer"]
    assert plan.target("sci-my_layer").tags == (f"{REPO}/sci/my.layer:2.10", f"{REPO}/sci/my.layer:2.10-42-f90dbd6")


@pytest.mark.parametrize("files, fragment", [
    (tree(science("a", target="x.y"), science("b", target="x_y")), "'sci-x_y'"),
    (tree(science("a", image="p.q", compat="jup"), science("b", image="p_q", compat="jup"), compat("jup")),
     "'rel-p_q-1_0'"),
    (tree(science("a", image="sci-b"), science("b", image="other")), "'sci-b'"),
    (tree(science("a", image="default")), "'default'"),
    (tree(science("a", image="rel")), "'rel'"),
])
def test_name_collisions_are_errors(plan_of, files, fragment):
    with pytest.raises(CatalogueError) as info:
        plan_of(files)
    assert any(fragment in str(p) for p in info.value.problems), info.value.problems


def test_parents_not_planned_come_from_the_registry(plan_of):
    files = chain()
    plan = plan_of(files, science={"essentials2"}, rel=set(), pins={"essentials": "sha256:" + "1" * 64})
    (target,) = plan.targets
    assert target.contexts == (("reg.io/sci/essentials:1.0",
                                f"docker-image://{REPO}/sci/essentials:1.0@sha256:" + "1" * 64),)
    plan = plan_of(files, science=set(), rel={"essentials"})
    assert plan.target("rel-essentials-1_0").contexts == (
        (f"{REPO}/sci/essentials:1.0", f"docker-image://{REPO}/sci/essentials:1.0"),)


def test_plan_is_deterministic(plan_of):
    assert plan_of(chain()) == plan_of(chain())
