"""Compat staging: the build context of each rel image, written under ``.bakegen/ctx/``.

The files of every compat layer of the chain are merged in order (later layers overwrite
earlier ones; ``sciserver-image.json`` and ``Dockerfile`` are not copied), then the
generated Dockerfile is added. Each context is written to a temporary directory and renamed
into place, so a reader never sees half a context; contexts no longer planned are removed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import CatalogueError, Problem, error
from .plan import CONTEXTS_DIR, STAGING_DIR, Plan

SKIPPED = {"sciserver-image.json", "Dockerfile"}


def compat_files(root: Path, chain: tuple[str, ...]) -> tuple[dict[str, Path], list[Problem]]:
    """Relative path -> source file, the last layer of ``chain`` winning."""
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    for name in chain:
        layer_dir = root / "compat" / name
        real_layer = layer_dir.resolve()
        for directory, subdirs, names in os.walk(layer_dir):
            subdirs.sort()
            for entry in sorted(names + [d for d in subdirs if (Path(directory) / d).is_symlink()]):
                source = Path(directory) / entry
                relative = source.relative_to(layer_dir).as_posix()
                if directory == str(layer_dir) and entry in SKIPPED:
                    continue
                if source.is_symlink():
                    target = (source.parent / os.readlink(source)).resolve()
                    if target != real_layer and real_layer not in target.parents:
                        problems.append(error(f"compat/{name}/{relative}",
                                              f"symlink points outside compat/{name} ({os.readlink(source)})"))
                        continue
                files[relative] = source
    return files, problems


def stage(root: Path, plan: Plan) -> list[Path]:
    """Write the context of every rel target; remove stale ones. Returns the staged dirs."""
    staging = root / STAGING_DIR
    contexts = root / CONTEXTS_DIR
    contexts.mkdir(parents=True, exist_ok=True)
    ignore = staging / ".gitignore"
    if not ignore.exists():
        write_atomic(ignore, "# written by bakegen: staged build contexts, never committed\n*\n")
    problems: list[Problem] = []
    prepared = []
    for target in plan.rel:
        files, found = compat_files(root, target.compat_chain)
        problems.extend(found)
        prepared.append((target, files))
    if problems:
        raise CatalogueError(problems)
    staged = []
    for target, files in prepared:
        destination = root / target.context
        temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=contexts))
        try:
            for relative, source in files.items():
                _copy(source, temporary / relative)
            (temporary / "Dockerfile").write_text(target.dockerfile_text, encoding="utf-8")
            os.chmod(temporary, 0o755)
            _replace_dir(temporary, destination)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        staged.append(destination)
    wanted = {target.name for target in plan.rel}
    for entry in contexts.iterdir():
        if entry.name not in wanted:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    return staged


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.is_symlink() or destination.is_file():
        destination.unlink()
    elif destination.is_dir():
        shutil.rmtree(destination)
    if source.is_symlink():
        os.symlink(os.readlink(source), destination)
    else:
        shutil.copyfile(source, destination)
        os.chmod(destination, source.stat().st_mode & 0o7777)


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
