"""Execution: the only place that talks to docker buildx.

``BuildxRunner`` is the small interface the rest of bakegen uses; ``DockerRunner``
implements it with python-on-whales, and calls the docker CLI directly where
python-on-whales has no equivalent (reading a raw manifest with a timeout).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from .errors import BakegenError, BuildFailed, EngineUnavailable


class RegistryError(BakegenError):
    """An image the plan needs is not in its registry, or the registry refused the request."""

    exit_code = 2


class RegistryUnreachable(RegistryError):
    exit_code = 3


_UNREACHABLE = ("connection refused", "no such host", "i/o timeout", "network is unreachable", "dial tcp")


@dataclass(frozen=True)
class BakeRequest:
    root: Path  # where bake runs: paths in the file are relative to it
    bake_file: Path
    targets: tuple[str, ...]
    push: bool = False
    load: bool = False
    builder: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()  # --set KEY=VALUE
    progress: str = "auto"
    metadata_file: Path | None = None


class BuildxRunner(Protocol):
    def check_engine(self, builder: str | None) -> str: ...
    def bake(self, request: BakeRequest, echo: Callable[[str], None]) -> None: ...
    def registry_digest(self, reference: str) -> str | None: ...
    def manifest(self, reference: str) -> dict | None: ...


@contextmanager
def _working_directory(path: Path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


_STEP_ERROR = re.compile(r"^#(?P<step>\d+) ERROR: (?P<message>.*)")
_STEP_HEADER = re.compile(r"^#(?P<step>\d+) \[(?P<target>[A-Za-z0-9_-]+)(?P<inside>[^\]]*)\] (?P<what>.*)")
_POSITION = re.compile(r"(\d+)/(\d+)$")


@dataclass(frozen=True)
class FailedStep:
    target: str  # the bake target BuildKit labelled the step with (any of the linked ones)
    position: tuple[int, int] | None  # "k/n": k-th instruction of a stage of n (FROM included)
    instruction: str
    error: str


_EXCERPT_FILE = re.compile(r"^Dockerfile[^:\s]*:(\d+)$")
_EXCERPT_LINE = re.compile(r"^\s*(\d+) \|(.*)$")


def source_excerpt(lines: list[str]) -> tuple[tuple[int, str], ...]:
    """The Dockerfile lines BuildKit quotes under its last error ("Dockerfile:11" then
    "  11 | >>> RUN ..."), as (line number, text). Unlike the "[target k/n]" label of a
    step, which a linked target may lend to its parent's step, this is the failing file."""
    excerpt: list[tuple[int, str]] = []
    for index in range(len(lines) - 1, -1, -1):
        if _EXCERPT_FILE.match(lines[index].strip()):
            for line in lines[index + 1:]:
                match = _EXCERPT_LINE.match(line)
                if match:
                    excerpt.append((int(match.group(1)), match.group(2)[5:].rstrip()))
                elif excerpt:
                    break
            break
    return tuple(excerpt)


def failure_from_log(lines: list[str]) -> tuple[tuple[FailedStep, ...], str]:
    """Failed steps and bake's final error line, from a plain-progress log."""
    steps: dict[str, tuple[str, tuple[int, int] | None, str]] = {}
    failed: list[FailedStep] = []
    for line in lines:
        header = _STEP_HEADER.match(line)
        if header:
            position = _POSITION.search(header.group("inside").strip())
            steps[header.group("step")] = (
                header.group("target"),
                (int(position.group(1)), int(position.group(2))) if position else None,
                header.group("what"),
            )
            continue
        step_error = _STEP_ERROR.match(line)
        if step_error and step_error.group("step") in steps:
            failed.append(FailedStep(*steps[step_error.group("step")], step_error.group("message")))
    final = next((l.removeprefix("ERROR:").strip() for l in reversed(lines) if l.startswith("ERROR:")), "")
    if not final:
        final = next((l.strip() for l in reversed(lines) if l.strip()), "docker buildx bake failed")
    return tuple(dict.fromkeys(failed)), final


def _first_line(exc) -> str:
    text = (exc.stderr or exc.stdout or str(exc)).strip()
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("ERROR:") or "error" in line.lower() or "cannot" in line.lower():
            return line.removeprefix("ERROR:").strip()
    return text.splitlines()[0] if text else str(exc)


class DockerRunner:
    # python-on-whales is imported on first use: it costs a third of a second at start-up,
    # which validate, render and graph do not need to pay.
    def __init__(self, docker=None):
        if docker is None:
            from python_on_whales import DockerClient

            docker = DockerClient()
        self.docker = docker

    def check_engine(self, builder: str | None) -> str:
        """Raise EngineUnavailable unless the builder exists and answers; return its driver.

        ``docker buildx inspect`` exits 0 for the default builder even when the daemon is
        down and reports the problem on an ``Error:`` line, so the output is read, not
        only the exit status (python-on-whales' Builder model does not keep that line)."""
        name = builder or "default"
        command = ["docker", "buildx", "inspect", "--bootstrap", *([builder] if builder else [])]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except FileNotFoundError:
            raise EngineUnavailable("the docker CLI is not installed (run scripts/engine up)") from None
        except subprocess.TimeoutExpired:
            raise EngineUnavailable(f"builder {name!r} did not answer within 120 s") from None
        if result.returncode != 0:
            reason = _last_error(result.stderr or result.stdout)
            if "no builder" in reason.lower() or "not found" in reason.lower():
                raise EngineUnavailable(f"unknown builder {name!r}: {reason}")
            raise EngineUnavailable(f"cannot use builder {name!r}: {reason}")
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition(":") for line in (result.stdout + result.stderr).splitlines())
            if value.strip()
        )
        if fields.get("Error") or not fields.get("Driver"):
            reason = fields.get("Error") or "no driver answered"
            raise EngineUnavailable(f"cannot reach the build engine (builder {name!r}): {reason}")
        return fields.get("Driver", "")

    def bake(self, request: BakeRequest, echo: Callable[[str], None]) -> None:
        from python_on_whales.exceptions import DockerException

        progress = "plain" if request.progress in ("auto", "plain") else request.progress
        log: list[str] = []
        options = dict(
            targets=list(request.targets),
            builder=request.builder,
            files=[str(request.bake_file)],
            load=request.load,
            push=request.push,
            set=dict(request.overrides),
            metadata_file=str(request.metadata_file) if request.metadata_file else None,
        )
        with _working_directory(request.root):
            try:
                if progress == "quiet":
                    self.docker.buildx.bake(progress=False, **options)
                    return
                for raw in self.docker.buildx.bake(progress=progress, stream_logs=True, **options):
                    line = raw.rstrip("\n") if isinstance(raw, str) else raw.decode(errors="replace").rstrip("\n")
                    log.append(line)
                    echo(line)
            except DockerException as exc:
                if not log:
                    log = (exc.stderr or "").splitlines()
                steps, message = failure_from_log(log)
                raise BakeFailure(steps, message, source_excerpt(log)) from None

    def manifest(self, reference: str) -> dict | None:
        """The raw manifest (or index) of ``reference`` in its registry; None when it does not exist."""
        output = self._imagetools_inspect(reference, "--raw")
        return None if output is None else json.loads(output)

    def registry_digest(self, reference: str) -> str | None:
        """Digest of the manifest or index that ``reference`` names, or None if it does not exist."""
        output = self._imagetools_inspect(reference, "--format", "{{json .Manifest}}")
        return None if output is None else json.loads(output)["digest"]

    @staticmethod
    def _imagetools_inspect(reference: str, *options: str) -> str | None:
        # python-on-whales parses manifests into its own models; bakegen needs the raw JSON
        # and a timeout, so the CLI is called directly here.
        command = ["docker", "buildx", "imagetools", "inspect", *options, reference]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise RegistryUnreachable(f"registry did not answer within 60 s for {reference}") from None
        if result.returncode == 0:
            return result.stdout
        error = _last_error(result.stderr)
        if "not found" in error.lower() or "manifest unknown" in error.lower():
            return None
        kind = RegistryUnreachable if any(sign in error.lower() for sign in _UNREACHABLE) else RegistryError
        raise kind(f"cannot read {reference} from its registry: {error}")


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1].removeprefix("ERROR:").strip() if lines else "unknown error"


class BakeFailure(BuildFailed):
    def __init__(self, steps: tuple[FailedStep, ...], message: str, excerpt: tuple[tuple[int, str], ...] = ()):
        self.steps = steps
        self.excerpt = excerpt
        self.message = message
        super().__init__(message)


def stderr_echo(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
