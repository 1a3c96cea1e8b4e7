"""Issue 3: failures on the real engine.

A failing layer: exit 1, the layer named with BuildKit's error line, nothing of the failed
image pushed under its floating tag. An unknown builder or an unreachable engine: one clear
line, exit 3.

(This module sorts after the build modules, so that ``pytest -x`` runs every build test first.)
"""
from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import (
    DATE2,
    REGISTRY_RACE,
    Run,
    assert_no_traceback,
    bakegen,
    built_targets,
    commit,
    make_offline_catalogue,
    new_namespace,
    registry_tags,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]


def _bakegen_lines(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("bakegen:")]


def _append(root, directory: str, text: str) -> None:
    dockerfile = root / directory / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + text)


def _failing_build(root, *args) -> tuple[Run, str]:
    """Run a build that must fail; a registry race while pushing the layers before the failing
    one is not the failure under test, so such a run is repeated in a fresh namespace."""
    for _attempt in range(3):
        repo = new_namespace("fail")
        run = bakegen(root, "build", "--repo", repo, *args)
        if not REGISTRY_RACE.search("\n".join(_bakegen_lines(run))):
            break
    assert_no_traceback(run)
    return run, repo


# --- c. a failing layer -----------------------------------------------------------------------

def test_failing_layer_exit_1_names_it_and_pushes_no_floating_tag(engine, tmp_path):
    root = make_offline_catalogue(tmp_path / "catalogue")
    _append(root, "science/tools", "RUN echo e2e-failure && exit 1\n")  # base -> base-2 -> tools -> tools-extra
    commit(root, "break science/tools", DATE2)
    run, repo = _failing_build(root, "--push", "--progress", "plain")
    assert run.returncode == 1, str(run)
    final = _bakegen_lines(run)
    assert len(final) == 1, str(run)
    assert re.search(r"science/tools(?![-\w])", final[0]), f"the failing layer is not named: {final[0]}"
    assert 'process "/bin/sh -c echo e2e-failure && exit 1" did not complete successfully: exit code: 1' in final[0], (
        f"BuildKit's error line is missing: {final[0]}")
    # nothing of the image that failed, under its floating tag or its build tag
    assert registry_tags(repo, "rel/offline-tools") == set()
    assert registry_tags(repo, "sci/tools") == set()
    assert registry_tags(repo, "sci/tools-extra") == set()
    # and nothing else either: every target is built before any is pushed (upstream bug 18)
    assert registry_tags(repo, "sci/base") == set() and registry_tags(repo, "rel/offline-base") == set()
    path = root / ".bakegen" / "build-report.json"
    if path.exists():  # a report, if any, must not claim that the failed targets were built
        data = json.loads(path.read_text())
        assert not ({"sci-tools", "sci-tools-extra", "rel-offline-tools-1_0"} & built_targets(data)), data


def test_failing_compat_fragment_names_the_rel_image(engine, tmp_path):
    root = make_offline_catalogue(tmp_path / "catalogue")
    _append(root, "compat/app", "RUN echo e2e-compat-failure && false\n")  # only offline-tools uses app
    commit(root, "break compat/app", DATE2)
    run, repo = _failing_build(root, "--push", "--platform", "linux/amd64")
    assert run.returncode == 1, str(run)
    final = _bakegen_lines(run)
    assert len(final) == 1 and "offline-tools:1.0" in final[0], str(run)
    assert "exit code: 1" in final[0], final[0]
    assert "1.0" not in registry_tags(repo, "rel/offline-tools")


# --- d. engine problems -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def catalogue(engine, tmp_path_factory):
    return make_offline_catalogue(tmp_path_factory.mktemp("errors") / "catalogue"), new_namespace("nobuild")


def _one_clear_line(run: Run, *words: str) -> str:
    """The error is a single ``bakegen: ...`` line, the last one, with no traceback and none of
    BuildKit's progress or ERROR lines around it (the plan summary before it is fine)."""
    assert_no_traceback(run)
    lines = _bakegen_lines(run)
    assert len(lines) == 1, str(run)
    assert run.stderr.rstrip("\n").splitlines()[-1] == lines[0], f"the error is not the last line:\n{run}"
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    assert not [line for line in run.stderr.splitlines() if line.startswith(("ERROR", "#"))], str(run)
    return lines[0]


def test_unknown_builder_exit_3_one_line(catalogue):
    root, repo = catalogue
    run = bakegen(root, "build", "--repo", repo, "--builder", "nope")
    assert run.returncode == 3, str(run)
    _one_clear_line(run, "nope")


def test_unknown_builder_with_push_pushes_nothing(catalogue):
    root, repo = catalogue
    run = bakegen(root, "build", "--repo", repo, "--builder", "nope", "--push", "offline-base:1.0")
    assert run.returncode == 3, str(run)
    _one_clear_line(run, "nope")
    assert registry_tags(repo, "sci/base") == set()


def test_unreachable_engine_exit_3_one_line(catalogue):
    """``docker buildx inspect`` exits 0 (printing ``Error: Cannot connect ...``) when the daemon
    does not answer, so checking the engine with it alone lets the build start."""
    root, repo = catalogue
    run = bakegen(root, "build", "--repo", repo, env={"DOCKER_HOST": "unix:///nonexistent/bakegen-e2e.sock"})
    assert run.returncode == 3, str(run)
    _one_clear_line(run)


# --- attribution of a failure ---------------------------------------------------------------

def test_failing_step_is_named_after_the_layer_that_ran_it(engine, tmp_path):
    """Every science layer has the same instruction (think ``RUN fix-permissions``); it fails in
    the root layer, so nothing above it ever runs: the layer that failed is science/base.

    BuildKit labels the shared step with any one of the linked targets, so the run is repeated
    to catch a wrong guess."""
    root = make_offline_catalogue(tmp_path / "catalogue")
    for directory in ("base", "base-2", "tools", "tools-extra", "data"):
        _append(root, f"science/{directory}", "RUN test -e /opt/e2e-never-there\n")
    commit(root, "the same failing step in every layer", DATE2)
    named = []
    for _attempt in range(4):
        run, _repo = _failing_build(root, "--platform", "linux/amd64", "--progress", "plain")
        assert run.returncode == 1, str(run)
        final = _bakegen_lines(run)
        assert len(final) == 1, str(run)
        named.append(re.search(r"build failed in (\S+):", final[0]).group(1) if "build failed in" in final[0]
                     else final[0])
    assert set(named) == {"science/base"}, f"the failure was attributed to {named} over 4 identical runs"
