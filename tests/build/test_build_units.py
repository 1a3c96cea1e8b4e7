"""bakegen build without the engine: target selection, failure attribution, the report."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bakegen.build import BuildOptions, execute, failed_layer, select_targets
from bakegen.catalogue import CompatLayer, Catalogue, ScienceLayer
from bakegen.errors import UsageError
from bakegen.gitrepo import BuildInfo
from bakegen.graph import resolve
from bakegen.plan import Settings, make_plan
from bakegen.runner import BakeFailure, FailedStep, failure_from_log, source_excerpt

BUILD = BuildInfo(count=7, short="abc1234", revision="abc1234" + "0" * 33, timestamp=1_700_000_000)


def _catalogue() -> Catalogue:
    science = (
        ScienceLayer("a", "x", "1.0", "a", "jup", dockerfile_text="FROM scratch\nRUN echo a\n"),
        ScienceLayer("b", "x", "1.0", "b", "jup", dockerfile_text="FROM r/sci/a:1.0\nRUN make b && exit 1\n"),
        ScienceLayer("c", "y", "2.0", "c", "jup", dockerfile_text="FROM r/sci/a:1.0\nRUN echo c\n"),
    )
    compat = (CompatLayer("jup", (), "RUN echo jupyter\n"),)
    return Catalogue(root=Path("."), science=science, compat=compat)


@pytest.fixture
def plan():
    graph, problems = resolve(_catalogue())
    assert not [p for p in problems if not p.warning]
    return make_plan(graph, BUILD, Settings(repo="reg.example.org/t"))


def test_targets_are_named_by_image_image_version_science_target_or_bake_target(plan):
    assert select_targets(plan, ()) == ("default",)
    assert select_targets(plan, ("x",)) == ("x",)  # the image's group
    assert select_targets(plan, ("x:1.0",)) == ("rel-x-1_0", "sci-a", "sci-b")
    assert select_targets(plan, ("c",)) == ("sci-c",)
    assert select_targets(plan, ("rel-y-2_0", "sci-c", "c")) == ("rel-y-2_0", "sci-c")


def test_unknown_target_is_a_usage_error_with_a_suggestion(plan):
    with pytest.raises(UsageError, match="'x:1.1' \\(did you mean 'x:1.0'\\?\\)"):
        select_targets(plan, ("x:1.1",))


def test_failure_in_a_step_labelled_with_a_linked_target_names_the_layer_that_holds_it(plan):
    log = [
        "#12 [rel-x-1_0 2/2] RUN make b && exit 1",
        '#12 ERROR: process "/bin/sh -c make b && exit 1" did not complete successfully: exit code: 1',
        "ERROR: failed to solve: process \"/bin/sh -c make b && exit 1\" did not complete successfully: exit code: 1",
    ]
    steps, message = failure_from_log(log)
    assert steps == (FailedStep("rel-x-1_0", (2, 2), "RUN make b && exit 1",
                                'process "/bin/sh -c make b && exit 1" did not complete successfully: exit code: 1'),)
    assert message.startswith("failed to solve: process")
    assert failed_layer(plan, BakeFailure(steps, message), DOCKERFILES) == "science/b"


def test_failure_in_a_compat_fragment_names_the_rel_image(plan):
    steps = (FailedStep("rel-y-2_0", (2, 3), "RUN echo jupyter", "exit code: 1"),)
    assert failed_layer(plan, BakeFailure(steps, "failed"), DOCKERFILES) == "rel image y:2.0 (compat jup)"


def test_the_quoted_source_lines_decide_when_several_layers_share_the_instruction(plan):
    """BuildKit may label the root's step with a child's target (and the child's "k/n");
    the Dockerfile lines it quotes under the error say which file failed."""
    dockerfiles = {
        "a": "FROM scratch\nRUN echo a\nRUN check\n",
        "b": "FROM r/sci/a:1.0\nRUN make b\nRUN echo more\nRUN check\n",
        "c": "FROM r/sci/a:1.0\nRUN echo c\n",
    }
    log = [
        "#30 [sci-b 4/4] RUN check",
        "#30 ERROR: exit code: 1",
        "------",
        " > [sci-c 3/3] RUN check:",
        "------",
        "Dockerfile:3",
        "--------------------",
        "   1 |     FROM scratch",
        "   2 |     RUN echo a",
        "   3 | >>> RUN check",
        "   4 |     ",
        "--------------------",
        "ERROR: failed to solve: exit code: 1",
    ]
    steps, message = failure_from_log(log)
    failure = BakeFailure(steps, message, source_excerpt(log))
    assert failure.excerpt == ((1, "FROM scratch"), (2, "RUN echo a"), (3, "RUN check"), (4, ""))
    assert failed_layer(plan, failure, dockerfiles) == "science/a"
    quoted_b = ["Dockerfile:4", "   3 |     RUN echo more", "   4 | >>> RUN check"]
    failure = BakeFailure(steps, message, source_excerpt(log[:2] + quoted_b))
    assert failed_layer(plan, failure, dockerfiles) == "science/b"


DOCKERFILES = {layer.directory: layer.dockerfile_text for layer in _catalogue().science}


class FakeRunner:
    def __init__(self, metadata: dict, fail: BakeFailure | None = None):
        self.metadata, self.fail, self.requests = metadata, fail, []

    def bake(self, request, echo):
        self.requests.append(request)
        if self.fail:
            raise self.fail
        if request.metadata_file:
            request.metadata_file.write_text(json.dumps(self.metadata))

    def manifest(self, reference):
        return {"manifests": [
            {"digest": "sha256:" + "1" * 64, "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": "sha256:" + "2" * 64, "platform": {"os": "linux", "architecture": "arm64"}},
            {"digest": "sha256:" + "3" * 64, "platform": {"os": "unknown", "architecture": "unknown"}},
        ]}


def test_execute_passes_platforms_and_writes_a_report_with_digests_per_platform(plan, tmp_path):
    (tmp_path / ".bakegen").mkdir()
    runner = FakeRunner({"sci-c": {"containerimage.digest": "sha256:" + "9" * 64},
                         # a parent linked into the solve only: not exported, not in the report
                         "sci-a": {"containerimage.digest": "sha256:" + "8" * 64}})
    options = BuildOptions(targets=("c",), push=True, platforms=("linux/amd64", "linux/arm64"))
    report = execute(tmp_path, plan, tmp_path / "bake.json", options, runner, echo=lambda line: None)
    # with --push: every target is built into the cache first, then pushed
    built, request = runner.requests
    assert built.targets == ("sci-c",) and not built.push and ("*.output", "type=cacheonly") in built.overrides
    assert request.targets == ("sci-c",) and request.push
    assert ("*.platform", "linux/amd64,linux/arm64") in request.overrides
    assert report["targets"] == [{
        "target": "sci-a", "kind": "science", "layer": "science/a", "image": "x:1.0", "exported": False,
        "tags": [], "digest": None, "platforms": {}, "pushed": False,
    }, {
        "target": "sci-c", "kind": "science", "layer": "science/c", "image": "y:2.0", "exported": True,
        "tags": ["reg.example.org/t/sci/c:2.0", "reg.example.org/t/sci/c:2.0-7-abc1234"],
        "digest": "sha256:" + "9" * 64,
        "platforms": {"linux/amd64": "sha256:" + "1" * 64, "linux/arm64": "sha256:" + "2" * 64},
        "pushed": True,
    }]
    assert json.loads((tmp_path / ".bakegen/build-report.json").read_text()) == report


def test_execute_lets_a_bake_failure_through(plan, tmp_path):
    (tmp_path / ".bakegen").mkdir()
    runner = FakeRunner({}, fail=BakeFailure((), "failed to solve"))
    with pytest.raises(BakeFailure):
        execute(tmp_path, plan, tmp_path / "bake.json", BuildOptions(), runner, echo=lambda line: None)
    assert not (tmp_path / ".bakegen/build-report.json").exists()


def test_a_push_that_races_in_the_registry_is_pushed_again(plan, tmp_path):
    (tmp_path / ".bakegen").mkdir()

    class Flaky(FakeRunner):
        def bake(self, request, echo):
            self.requests.append(request)
            if len(self.requests) == 2:  # the first push
                raise BakeFailure((), "failed to push: unexpected status: 500 Internal Server Error")
            if request.metadata_file:
                request.metadata_file.write_text("{}")

    runner = Flaky({})
    execute(tmp_path, plan, tmp_path / "bake.json", BuildOptions(push=True), runner, echo=lambda line: None)
    assert [r.push for r in runner.requests] == [False, True, True]

    class FailsFirst(FakeRunner):
        def bake(self, request, echo):
            self.requests.append(request)
            raise BakeFailure((), "failed to push: unexpected status: 500 Internal Server Error")

    once = FailsFirst({})
    with pytest.raises(BakeFailure):
        execute(tmp_path, plan, tmp_path / "bake.json", BuildOptions(push=False), once, echo=lambda line: None)


def test_a_failure_while_building_pushes_nothing(plan, tmp_path):
    """Upstream pushed each image right after building it (bug 18): a failure later left half
    a release in the registry. bakegen pushes only after every target built."""
    (tmp_path / ".bakegen").mkdir()
    runner = FakeRunner({}, fail=BakeFailure((), "failed to solve"))
    with pytest.raises(BakeFailure):
        execute(tmp_path, plan, tmp_path / "bake.json", BuildOptions(push=True), runner, echo=lambda line: None)
    assert [r.push for r in runner.requests] == [False]
