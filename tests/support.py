"""Helpers shared by the test suite: catalogue trees, git repositories, running bakegen.

Fixtures built on these live in ``tests/conftest.py``; test modules import the plain
helpers from here (``from tests.support import science, compat``).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import traceback
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

FIXED_DATE = "2024-03-01T12:00:00+00:00"
FIXED_EPOCH = 1709294400
TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"

# An empty global git configuration of the tests' own. Not os.devnull: a git command that
# writes its global configuration replaces the file by renaming a new one over it, which
# turns /dev/null into a regular file for the whole machine.
EMPTY_GITCONFIG = Path(os.environ.get("TMPDIR", "/tmp")) / "bakegen-tests-gitconfig"
EMPTY_GITCONFIG.touch(exist_ok=True)

# Every git call of the tests runs with a fixed identity and date, and without the user's
# configuration, so that a commit of the same tree always has the same hash.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bakegen tests",
    "GIT_AUTHOR_EMAIL": "tests@bakegen.invalid",
    "GIT_COMMITTER_NAME": "bakegen tests",
    "GIT_COMMITTER_EMAIL": "tests@bakegen.invalid",
    "GIT_AUTHOR_DATE": FIXED_DATE,
    "GIT_COMMITTER_DATE": FIXED_DATE,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": str(EMPTY_GITCONFIG),
    "GIT_TERMINAL_PROMPT": "0",
}


@dataclass(frozen=True)
class Mode:
    """File content with an explicit mode, for ``write_tree``."""

    content: str | bytes
    mode: int


@dataclass(frozen=True)
class Symlink:
    target: str


def science(directory: str, dockerfile: str = "FROM ubuntu:24.04\n", **descriptor) -> dict:
    """The two files of one science layer; ``image`` defaults to the directory name."""
    descriptor.setdefault("image", directory)
    return {
        f"science/{directory}/sciserver-image.json": descriptor,
        f"science/{directory}/Dockerfile": dockerfile,
    }


def compat(directory: str, fragment: str = "RUN true\n", includes=None, files=None, **descriptor) -> dict:
    if includes is not None:
        descriptor["includes"] = list(includes)
    tree = {
        f"compat/{directory}/sciserver-image.json": descriptor,
        f"compat/{directory}/Dockerfile": fragment,
    }
    for name, content in (files or {}).items():
        tree[f"compat/{directory}/{name}"] = content
    return tree


def tree(*parts: dict) -> dict:
    merged: dict = {}
    for part in parts:
        merged.update(part)
    return merged


def write_tree(root: Path, files: dict) -> Path:
    """Write ``{relative path: content}``; dict/list content is written as JSON."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            path.unlink()
        if isinstance(content, Symlink):
            os.symlink(content.target, path)
            continue
        mode = None
        if isinstance(content, Mode):
            content, mode = content.content, content.mode
        if isinstance(content, (dict, list)):
            content = json.dumps(content, indent=2) + "\n"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        if mode is not None:
            os.chmod(path, mode)
    return root


def git(root: Path, *args: str, env: dict | None = None) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=root, env={**os.environ, **GIT_ENV, **(env or {})},
        capture_output=True, text=True,
    )
    if completed.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed:\n{completed.stderr}")
    return completed.stdout.strip()


def init_repo(root: Path, date: str = FIXED_DATE, message: str = "catalogue") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "-c", "init.defaultBranch=main", "init", "-q")
    return commit_all(root, message, date)


def commit_all(root: Path, message: str = "change", date: str = FIXED_DATE) -> Path:
    git(root, "add", "-A")
    git(root, "-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", message,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    return root


def make_repo(root: Path, files: dict, date: str = FIXED_DATE) -> Path:
    """A fresh git repository at ``root`` holding ``files``, committed once."""
    write_tree(root, files)
    return init_repo(root, date)


def copy_fixture(name: str, destination: Path) -> Path:
    """Copy ``tests/fixtures/<name>`` (files only, no caches) to ``destination``."""
    source = FIXTURES / name
    shutil.copytree(source, destination, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".bakegen", "docker-bake.*"))
    return destination


def head(root: Path) -> tuple[int, str, str]:
    """(N, short hash, full hash) of HEAD, as git itself says."""
    return (int(git(root, "rev-list", "--count", "HEAD")), git(root, "rev-parse", "--short", "HEAD"),
            git(root, "rev-parse", "HEAD"))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None
    traceback: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def problem_lines(self) -> list[str]:
        """stderr lines that look like ``path[:line]: message`` (the summary line excluded)."""
        return [line for line in self.stderr.splitlines() if line and not line.startswith("bakegen:")]

    def __repr__(self) -> str:  # shown by pytest when an assertion on a Result fails
        return (f"Result(exit_code={self.exit_code})\n--- stdout ---\n{self.stdout}\n--- stderr ---\n"
                f"{self.stderr}\n{self.traceback}")


def run_bakegen(args, cwd: Path, env: dict | None = None) -> Result:
    """Run ``bakegen.cli.main(args)`` in this process, as the console script would."""
    from bakegen.cli import main

    environment = {"BAKEGEN_REPO": None, "SOURCE_DATE_EPOCH": None, **(env or {})}
    runner = CliRunner()
    previous = os.getcwd()
    exception, trace, code = None, "", 0
    with runner.isolation(env=environment) as (stdout, stderr, _):
        os.chdir(cwd)
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # an uncaught exception is a bug: keep it for the report
            exception, trace, code = exc, traceback.format_exc(), 1
        finally:
            os.chdir(previous)
            with contextlib.suppress(Exception):
                import sys
                sys.stdout.flush()
                sys.stderr.flush()
        out, err = stdout.getvalue().decode(), stderr.getvalue().decode()
    return Result(code, out, err, exception, trace)


def run_console_script(args, cwd: Path, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The installed ``bakegen`` executable, in a subprocess."""
    environment = {k: v for k, v in os.environ.items() if k not in ("BAKEGEN_REPO", "SOURCE_DATE_EPOCH")}
    environment.update(GIT_ENV)
    environment.update(env or {})
    executable = shutil.which("bakegen")
    assert executable, "the bakegen console script is not on PATH (pip install -e .)"
    return subprocess.run([executable, *map(str, args)], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=timeout)


# --- bake files and what `docker buildx bake --print` makes of them ------------------------

def unescape(value):
    """What bake's template engine makes of a bakegen-escaped value."""
    if isinstance(value, str):
        return value.replace("$${", "${").replace("%%{", "%{")
    if isinstance(value, list):
        return [unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: unescape(v) for k, v in value.items()}
    return value


def expected_targets(plan: dict) -> dict:
    """The target attributes ``--print`` must show, derived from ``render --format plan``."""
    result = {}
    for build in plan["builds"]:
        target = {
            "context": build["context"],
            "labels": build["labels"],
            "tags": build["tags"],
            "platforms": build["platforms"],
        }
        if "dockerfile_inline" in build:
            target["dockerfile-inline"] = build["dockerfile_inline"]
        else:
            target["dockerfile"] = build["dockerfile"]
        if build["args"]:
            target["args"] = build["args"]
        if build["contexts"]:
            target["contexts"] = build["contexts"]
        result[build["name"]] = target
    return result


def comparable_targets(printed: dict) -> dict:
    """``--print`` targets reduced to the attributes bakegen writes."""
    keys = ("context", "dockerfile", "dockerfile-inline", "labels", "tags", "platforms", "args", "contexts")
    result = {}
    for name, target in printed["target"].items():
        kept = {k: v for k, v in target.items() if k in keys}
        if "dockerfile-inline" in kept:  # --print adds bake's default "Dockerfile" beside it
            kept.pop("dockerfile", None)
        result[name] = kept
    return result


def resolve_files(root: Path, files: dict, platforms: tuple[str, ...] | None = None):
    """Write ``files`` under ``root`` and return ``(graph, problems)``; asserts there is no error."""
    from bakegen.catalogue import load_catalogue
    from bakegen.graph import resolve

    write_tree(root, files)
    catalogue, problems = load_catalogue(root)
    graph, more = resolve(catalogue, platforms) if platforms else resolve(catalogue)
    errors = [str(p) for p in problems + more if not p.warning]
    assert errors == [], errors
    return graph, problems + more


def sample_catalogue() -> dict:
    """A small catalogue shaped like the real one: a version chain, a domain image on top,
    two layers of one image:version, nested compat includes."""
    return tree(
        science("essentials", "FROM ubuntu:24.04\nRUN echo essentials\n", image="essentials", version="1.0",
                compat="jupyter"),
        science("essentials-2", "ARG REGISTRY=containers.repo.sciserver.org/compute-images\n"
                                "FROM ${REGISTRY}/sci/essentials:1.0\nRUN echo two\n",
                image="essentials", version="2.0", compat="jupyter"),
        science("astro", "FROM compute.repo.sciserver.org/sci/essentials-2:2.0\n", image="astro",
                version="1.0"),
        science("astro-tools", "FROM compute.repo.sciserver.org/sci/astro:1.0 AS base\nRUN echo tools\n",
                image="astro", version="1.0", compat="webapp"),
        compat("sciserver-common", "RUN useradd idies\n", files={"etc/sciserver": "common\n"}),
        compat("jupyter", "EXPOSE 8888\n", includes=["sciserver-common"],
               files={"start-jupyter.sh": Mode("#!/bin/sh\nexec jupyter lab\n", 0o755)}),
        compat("webapp", "EXPOSE 80\n", includes=["jupyter"], files={"etc/sciserver": "webapp\n"}),
    )
