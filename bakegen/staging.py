"""Compat staging: the build contexts of rel images, written under ``.bakegen/ctx/``.

One context per compat layer that rel images use: the files of every layer of its include
chain merged in order (later layers overwrite earlier ones; ``sciserver-image.json`` and
``Dockerfile`` are not copied). Rel images that share a compat layer share its context;
each gets its own generated Dockerfile inline in the bake file.

Files are hard-linked from compat/ where the filesystem allows (modes and contents are the
source's, at no copying cost), else copied with their modes. A context is rebuilt only when
its fingerprint (chain, and path, inode, size, mode, mtime of every source file) changed;
it is then written to a temporary directory and renamed into place, so a reader never sees
half a context. Contexts no longer planned are removed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import CatalogueError, Problem, error
from .plan import CONTEXTS_DIR, STAGING_DIR, Plan

# Not copied from a layer's top directory: its descriptor, its fragment, and its
# .dockerignore (which would filter the other layers' files in the merged context).
SKIPPED = {"sciserver-image.json", "Dockerfile", ".dockerignore"}
FINGERPRINTS = f"{STAGING_DIR}/contexts.json"


def _layer_files(root: Path, name: str, problems: list[Problem]) -> dict[str, str]:
    """Relative path -> absolute source path of one compat layer's files."""
    layer_dir = os.path.join(root, "compat", name)
    real_layer = os.path.realpath(layer_dir)
    files: dict[str, str] = {}
    for directory, subdirs, names in os.walk(layer_dir):
        subdirs.sort()
        linked_dirs = [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
        for entry in sorted(names + linked_dirs):
            if directory == layer_dir and entry in SKIPPED:
                continue
            source = os.path.join(directory, entry)
            relative = os.path.relpath(source, layer_dir).replace(os.sep, "/")
            if os.path.islink(source):
                target = os.path.realpath(source)
                if target != real_layer and not target.startswith(real_layer + os.sep):
                    problems.append(error(f"compat/{name}/{relative}",
                                          f"symlink points outside compat/{name} ({os.readlink(source)})"))
                    continue
            files[relative] = source
    return files


def compat_files(root: Path, chain: tuple[str, ...], cache: dict | None = None
                 ) -> tuple[dict[str, Path], list[Problem]]:
    """Relative path -> source file, the last layer of ``chain`` winning."""
    cache = {} if cache is None else cache
    problems: list[Problem] = []
    merged: dict[str, str] = {}
    for name in chain:
        if name not in cache:
            found: list[Problem] = []
            cache[name] = (_layer_files(root, name, found), found)
        files, found = cache[name]
        problems.extend(found)
        _overlay(merged, files)
    return {relative: Path(source) for relative, source in merged.items()}, problems


def _overlay(merged: dict[str, str], files: dict[str, str]) -> None:
    """Put a later layer's files over ``merged``: a file replaces a directory of the same path
    (and everything in it), and a directory replaces a file."""
    directories = {relative.rsplit("/", 1)[0] for relative in merged if "/" in relative}
    directories = {d for path in directories for d in _with_parents(path)}
    for relative in files:
        for parent in _with_parents(relative.rsplit("/", 1)[0]) if "/" in relative else ():
            merged.pop(parent, None)  # an earlier file where this layer has a directory
        if relative in directories:
            prefix = relative + "/"
            for inner in [p for p in merged if p.startswith(prefix)]:
                del merged[inner]
    merged.update(files)


def _with_parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _fingerprint(chain: tuple[str, ...], files: dict[str, Path]) -> str:
    digest = hashlib.sha256("\0".join(chain).encode())
    for relative in sorted(files):
        info = os.lstat(files[relative])
        digest.update(f"\0{relative}\0{info.st_ino}:{info.st_size}:{info.st_mode}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


def stage(root: Path, plan: Plan) -> list[Path]:
    """Write the context of every compat layer the plan's rel targets use; remove stale ones."""
    staging = root / STAGING_DIR
    contexts = root / CONTEXTS_DIR
    contexts.mkdir(parents=True, exist_ok=True)
    ignore = staging / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# written by bakegen: staged build contexts, never committed\n*\n")
    chains = {target.context: target.compat_chain for target in plan.rel}
    problems: list[Problem] = []
    layer_cache: dict = {}
    prepared = {}
    for context, chain in sorted(chains.items()):
        files, found = compat_files(root, chain, layer_cache)
        problems.extend(found)
        prepared[context] = (chain, files)
    if problems:
        raise CatalogueError(problems)
    previous = _read_fingerprints(root / FINGERPRINTS)
    fingerprints = {}
    staged = []
    for context, (chain, files) in prepared.items():
        destination = root / context
        fingerprint = _fingerprint(chain, files)
        fingerprints[context] = fingerprint
        staged.append(destination)
        if previous.get(context) == fingerprint and destination.is_dir():
            continue
        temporary = tempfile.mkdtemp(prefix=f".{destination.name}.", dir=contexts)
        try:
            _populate(temporary, files)
            os.chmod(temporary, 0o755)
            _replace_dir(Path(temporary), destination)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    wanted = {Path(context).name for context in chains}
    for entry in contexts.iterdir():
        if entry.name not in wanted:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    write_atomic(root / FINGERPRINTS, json.dumps(fingerprints, indent=1, sort_keys=True) + "\n")
    return staged


def _read_fingerprints(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _populate(directory: str, files: dict[str, Path]) -> None:
    made = {directory}
    for relative in sorted(files):
        source = str(files[relative])
        destination = os.path.join(directory, relative)
        parent = os.path.dirname(destination)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if os.path.islink(source):
            os.symlink(os.readlink(source), destination)
            continue
        try:
            os.link(source, destination)
        except OSError:  # another filesystem, or links not allowed: copy, keeping the mode
            shutil.copyfile(source, destination)
            os.chmod(destination, os.stat(source).st_mode & 0o7777)


def _replace_dir(new: Path, destination: Path) -> None:
    """Swap ``new`` into ``destination``: rename the old one away first, then remove it."""
    if destination.exists():
        old = destination.with_name(f".{destination.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.rename(destination, old)
        os.rename(new, destination)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(new, destination)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
