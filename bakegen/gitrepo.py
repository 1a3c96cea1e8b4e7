"""What git says about the catalogue: the build id (N-H), commit time, dirtiness, changes.

All git I/O of bakegen lives here, behind a handful of calls per run.
"""
from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import git

from .errors import UsageError

_BUILD_ID = re.compile(r"([0-9]+)-([0-9a-f]{4,40})(-dirty)?")


@dataclass(frozen=True)
class BuildInfo:
    """Identity of the commit being built, as upstream's tags and labels spell it."""

    count: int  # N: commits reachable from HEAD
    short: str  # H: abbreviated hash of HEAD
    revision: str | None  # full hash (None when given by --build-id outside git)
    timestamp: int  # HEAD's commit time, epoch seconds
    dirty: bool = False

    @property
    def build_id(self) -> str:
        return f"{self.count}-{self.short}" + ("-dirty" if self.dirty else "")

    @property
    def created(self) -> str:
        return _dt.datetime.fromtimestamp(self.timestamp, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_repo(root: Path) -> git.Repo | None:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def build_info(root: Path, build_id: str | None = None) -> BuildInfo:
    """N-H of HEAD, or of ``build_id`` ("N-H") when given; errors say what to do."""
    repo = open_repo(root)
    override = None
    if build_id is not None:
        override = _BUILD_ID.fullmatch(build_id)
        if not override:
            raise UsageError(f"--build-id {build_id!r}: expected N-H, e.g. 42-f90dbd6")
    if repo is None or not _has_head(repo):
        if override is None:
            raise UsageError(f"{root}: not inside a git repository with a commit, so the build id N-H cannot be "
                             "derived; pass --build-id N-H")
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0)
        return BuildInfo(int(override.group(1)), override.group(2), None, epoch, bool(override.group(3)))
    head = repo.git.log("-1", "--format=%H %h %ct", "HEAD").split()
    if override is not None:  # the revision label only when it is the commit the id names
        revision = head[0] if head[0].startswith(override.group(2)) else None
        return BuildInfo(int(override.group(1)), override.group(2), revision, int(head[2]), bool(override.group(3)))
    if repo.git.rev_parse("--is-shallow-repository") == "true":
        raise UsageError(f"{root}: shallow clone, so N (the commit count) would be wrong; fetch the history "
                         "(git fetch --unshallow) or pass --build-id N-H")
    count = int(repo.git.rev_list("--count", "HEAD"))
    dirty = bool(repo.git.status("--porcelain", "--untracked-files=all", "--", *_catalogue_paths(repo, root)))
    return BuildInfo(count, head[1], head[0], int(head[2]), dirty)


def _has_head(repo: git.Repo) -> bool:
    try:
        repo.head.commit
    except ValueError:
        return False
    return True


def _catalogue_paths(repo: git.Repo, root: Path) -> list[str]:
    """science/ and compat/ of the catalogue, relative to the top of the repository."""
    base = _root_prefix(repo, root)
    return [f"{base}science", f"{base}compat"]


def _require_repo(root: Path, what: str) -> git.Repo:
    repo = open_repo(root)
    if repo is None or not _has_head(repo):
        raise UsageError(f"{root}: {what} needs a git repository with at least one commit")
    return repo


def _git_failure(exc: git.GitCommandError, rev: str, repo: git.Repo) -> UsageError:
    detail = (exc.stderr or "").strip().splitlines()
    reason = detail[-1].removeprefix("stderr: ").strip(" '") if detail else str(exc)
    hint = ""
    if repo.git.rev_parse("--is-shallow-repository") == "true":
        hint = " (this is a shallow clone: fetch the history with git fetch --unshallow)"
    return UsageError(f"--since {rev}: {reason}{hint}")


def changed_since(root: Path, rev: str) -> list[str]:
    """Files under science/ and compat/ that differ between ``rev`` and the working tree
    (committed, staged, unstaged, and untracked files git does not ignore), relative to root."""
    repo = _require_repo(root, "--since")
    paths = _catalogue_paths(repo, root)
    try:
        diffed = repo.git.diff("--name-only", "--no-renames", "-z", rev, "--", *paths)
        untracked = repo.git.ls_files("--others", "--exclude-standard", "-z", "--", *paths)
    except git.GitCommandError as exc:
        raise _git_failure(exc, rev, repo) from None
    base = _root_prefix(repo, root)
    result = set()
    for name in (diffed + "\0" + untracked).split("\0"):
        if name:
            result.add(name[len(base):] if base and name.startswith(base) else name)
    return sorted(result)


def catalogue_files_at(root: Path, rev: str) -> dict[str, bytes]:
    """The descriptors and Dockerfiles of the catalogue at ``rev``, relative to root, in memory."""
    import io
    import tarfile

    repo = _require_repo(root, "--since")
    base = _root_prefix(repo, root)
    patterns = [f":(glob){base}{kind}/*/{name}" for kind in ("science", "compat")
                for name in ("sciserver-image.json", "Dockerfile")]
    try:
        archive = repo.git.archive("--format=tar", rev, "--", *patterns, stdout_as_string=False)
    except git.GitCommandError as exc:
        if "did not match any files" in (exc.stderr or ""):
            return {}
        raise _git_failure(exc, rev, repo) from None
    files = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            if member.isfile() and member.name.startswith(base):
                files[member.name[len(base):]] = tar.extractfile(member).read()
    return files


def _root_prefix(repo: git.Repo, root: Path) -> str:
    top = Path(repo.working_tree_dir).resolve()
    base = root.resolve().relative_to(top).as_posix()
    return "" if base == "." else base + "/"
