"""Fixtures: a clean environment, catalogue repositories, the CLI runner and the real
``docker buildx bake --print`` check that every rendered bake file of the suite goes through."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support import (
    GIT_ENV,
    comparable_targets,
    expected_targets,
    make_repo,
    run_bakegen,
)

ENGINE_HINT = "run scripts/engine up"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No user settings leak in: registry prefix, SOURCE_DATE_EPOCH, git identity and config."""
    for name in ("BAKEGEN_REPO", "SOURCE_DATE_EPOCH", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path):
    """``repo(files, name="cat", date=...)``: a committed catalogue repository under tmp_path."""

    def build(files: dict, name: str = "cat", **kwargs) -> Path:
        return make_repo(tmp_path / name, files, **kwargs)

    return build


# --- docker buildx bake --print --------------------------------------------------------------

@pytest.fixture(scope="session")
def _buildx_problem() -> str | None:
    """None when ``docker buildx version`` works, else why it does not."""
    try:
        completed = subprocess.run(["docker", "buildx", "version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker buildx version: {exc}"
    if completed.returncode != 0:
        return f"docker buildx version exited {completed.returncode}: {completed.stderr.strip()}"
    return None


def _print_environment() -> dict:
    # bake injects SOURCE_DATE_EPOCH as a build arg and reads variables from the environment.
    return {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH" and not k.startswith("BUILDX_BAKE")}


@pytest.fixture
def buildx_print(_buildx_problem):
    """``buildx_print(root, file, *targets) -> dict``: ``docker buildx bake -f FILE --print``
    run in the catalogue root. Fails (never skips) when the buildx plugin is missing."""

    def run(root: Path, file: Path, *targets: str) -> dict:
        if _buildx_problem is not None:
            pytest.fail(f"the docker buildx plugin is needed for bake --print ({_buildx_problem}); {ENGINE_HINT}",
                        pytrace=False)
        completed = subprocess.run(
            ["docker", "buildx", "bake", "-f", str(file), "--print", *targets],
            cwd=root, capture_output=True, text=True, env=_print_environment(), timeout=120,
        )
        assert completed.returncode == 0, f"docker buildx bake -f {file} --print failed:\n{completed.stderr}"
        return json.loads(completed.stdout)

    return run


@pytest.fixture
def check_bake_file(buildx_print):
    """``check_bake_file(root, file, plan)``: the file resolves under ``--print`` to exactly the
    targets and groups of ``plan`` (the ``render --format plan`` JSON). Returns the print."""

    def check(root: Path, file: Path, plan: dict) -> dict:
        printed = buildx_print(root, file, "default")
        assert printed["group"]["default"]["targets"] == plan["groups"]["default"]
        assert comparable_targets(printed) == expected_targets(plan)
        others = [name for name, members in plan["groups"].items() if name != "default" and members]
        if others:
            grouped = buildx_print(root, file, *others)
            for name in others:
                assert grouped["group"][name]["targets"] == plan["groups"][name], name
        return printed

    return check


def _option(args: list[str], *names: str) -> str | None:
    value = None
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                value = args[index + 1]
            elif name.startswith("--") and arg.startswith(name + "="):
                value = arg.split("=", 1)[1]
    return value


def _without(args: list[str], *names: str) -> list[str]:
    result, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg in names:
            skip = True
            continue
        if any(arg.startswith(n + "=") for n in names if n.startswith("--")):
            continue
        result.append(arg)
    return result


@pytest.fixture
def bakegen(check_bake_file, tmp_path_factory):
    """``bakegen(*args, cwd=..., env=...)`` runs the CLI in-process and returns a Result.

    Every successful ``render`` that produces a bake file (HCL or JSON, to a file or to
    stdout) is checked with the real ``docker buildx bake --print`` against the plan."""

    def run(*args, cwd: Path, env: dict | None = None, check: bool = True):
        args = [str(a) for a in args]
        result = run_bakegen(args, cwd, env)
        assert result.exception is None, f"uncaught exception:\n{result.traceback}"
        assert "Traceback" not in result.output, result
        if check and result.exit_code == 0 and args and args[0] == "render":
            output_format = _option(args, "--format") or "hcl"
            if output_format in ("hcl", "json"):
                root = (cwd / (_option(args, "--root") or ".")).resolve()
                output = _option(args, "-o", "--output")
                if output == "-":
                    file = tmp_path_factory.mktemp("stdout") / f"docker-bake.{output_format}"
                    file.write_text(result.stdout, encoding="utf-8")
                elif output is None:
                    file = root / f"docker-bake.{output_format}"
                else:
                    file = (cwd / output).resolve()
                plan_run = run_bakegen(_without(args, "--format", "-o", "--output") + ["--format", "plan"], cwd, env)
                assert plan_run.exit_code == 0, plan_run
                result.plan = json.loads(plan_run.stdout)
                result.file = file
                result.printed = check_bake_file(root, file, result.plan)
        return result

    return run
