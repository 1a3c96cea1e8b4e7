"""From options to a plan: load and check the catalogue, decide what changed, pin parents.

This is the I/O around the pure planning modules (catalogue parsing aside, graph, changes
and plan do none): git, the registry look-ups, and the warnings printed on the way.
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .catalogue import MemoryTree, load_catalogue
from .changes import Selection, changed_directories, history_problems, moved_finals, select
from .config import load_settings
from .errors import Problem, UsageError, raise_if_errors, warning
from .gitrepo import BuildInfo, build_info, catalogue_files_at, changed_since
from .graph import LayerGraph, resolve
from .plan import Plan, Settings, bake_name_problems, make_plan, rel_target_name, science_target_name
from .runner import DockerRunner, RegistryError
from .staging import compat_files


def stderr_warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ChangeOptions:
    since: str | None = None
    include: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    offline: bool = False
    allow_rollback: bool = False

    @property
    def incremental(self) -> bool:
        return self.since is not None or bool(self.include)


@dataclass(frozen=True)
class Prepared:
    root: Path
    settings: Settings
    graph: LayerGraph
    build: BuildInfo
    plan: Plan
    selection: Selection
    changes: ChangeOptions


def _warn_problems(problems: list[Problem], warn: Callable[[str], None]) -> None:
    for problem in sorted(problems, key=lambda p: (p.path, p.line or 0, p.message)):
        warn(str(problem))


def load(root: Path, repo: str | None, warn: Callable[[str], None] = stderr_warn) -> tuple[Settings, LayerGraph]:
    """Catalogue + graph; every error at once, warnings printed."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    settings = load_settings(root, repo)
    catalogue, problems = load_catalogue(root)
    if not (root / "science").is_dir():
        problems.append(warning(str(root), "no science/ directory here: is --root the catalogue root?"))
    graph, more = resolve(catalogue, settings.platforms)
    problems = problems + more + bake_name_problems(graph) + _context_problems(root, graph)
    _warn_problems([p for p in problems if p.warning], warn)
    raise_if_errors(problems)
    return settings, graph


def _context_problems(root: Path, graph: LayerGraph) -> list[Problem]:
    """What staging would refuse (symlinks out of their compat layer), found before planning."""
    cache: dict = {}
    problems: list[Problem] = []
    for name in sorted({layer.compat for layer in graph.final_layers() if layer.compat in graph.compat_chains}):
        problems += compat_files(root, graph.compat_chains[name], cache)[1]
    return list(dict.fromkeys(problems))


def _layer_dirs(root: Path, values: tuple[str, ...], option: str) -> frozenset[str]:
    """``--include``/``--ignore`` values as ``science/x`` / ``compat/y``, relative to the root."""
    result, problems = set(), []
    real_root = root.resolve()
    for value in values:
        path = Path(value)
        candidate = path.resolve() if path.is_absolute() or path.exists() and not (root / path).exists() else (
            (root / path).resolve())
        try:
            relative = candidate.relative_to(real_root).as_posix()
        except ValueError:
            problems.append(f"{option} {value}: not inside the catalogue root {root}")
            continue
        parts = relative.split("/")
        if len(parts) != 2 or parts[0] not in ("science", "compat") or not (candidate / "sciserver-image.json").is_file():
            problems.append(f"{option} {value}: not a layer directory (science/<dir> or compat/<dir>)")
            continue
        result.add(relative)
    if problems:
        raise UsageError("; ".join(problems))
    return frozenset(result)


def _old_graph(root: Path, rev: str) -> LayerGraph:
    """The layer graph at ``rev``, problems ignored: only its finals and ancestry are used."""
    catalogue, _ = load_catalogue(root, MemoryTree(catalogue_files_at(root, rev)))
    graph, _ = resolve(catalogue)
    return graph


def _selection(root: Path, graph: LayerGraph, changes: ChangeOptions, moved: dict[str, str]) -> Selection:
    ignore = _layer_dirs(root, changes.ignore, "--ignore")
    changed: dict[str, str] = {}
    if changes.since is not None:
        changed = {d: f"{path} changed" for d, path in
                   changed_directories(changed_since(root, changes.since), ignore).items()}
    for directory in sorted(_layer_dirs(root, changes.include, "--include") - ignore):
        changed.setdefault(directory, f"{directory} named by --include")
    if not changes.incremental:
        for directory in graph.layers:
            if f"science/{directory}" not in ignore:
                changed.setdefault(f"science/{directory}", f"science/{directory}: full build (no --since)")
    return select(graph, changed, moved)


def _pins(graph: LayerGraph, settings: Settings, selection: Selection, offline: bool,
          warn: Callable[[str], None]) -> dict[str, str | None]:
    """Registry digests of the layers that planned builds use but do not rebuild."""
    needed = {edge.parent for d in selection.science for edge in graph.parents[d]} | set(selection.rel)
    needed = sorted(needed - selection.science)
    if not needed:
        return {}
    if offline:
        warn(f"warning: --offline: {len(needed)} unchanged parent image(s) used by tag, not pinned by digest")
        return {d: None for d in needed}
    runner = DockerRunner()
    references = {d: f"{settings.repo}/sci/{graph.layers[d].target}:{graph.layers[d].version}" for d in needed}
    with ThreadPoolExecutor(max_workers=8) as pool:
        digests = dict(zip(needed, pool.map(runner.registry_digest, [references[d] for d in needed])))
    missing = [references[d] for d in needed if digests[d] is None]
    if missing:
        raise RegistryError(f"not in the registry: {', '.join(missing)} (an unchanged parent must be published; "
                            "build it with bakegen build --push, or drop --since)")
    return digests


def prepare(root: Path, repo: str | None, build_id: str | None, changes: ChangeOptions = ChangeOptions(),
            pin: bool = True, warn: Callable[[str], None] = stderr_warn) -> Prepared:
    """Load, check history (with --since), select what to build, pin unchanged parents, plan."""
    settings, graph = load(root, repo, warn)
    moved: dict[str, str] = {}
    if changes.since is not None:
        old = _old_graph(root, changes.since)
        problems = history_problems(old, graph, changes.since, changes.allow_rollback)
        moved = moved_finals(old, graph, changes.since)
        _warn_problems([p for p in problems if p.warning], warn)
        raise_if_errors(problems)
    info = build_info(root, build_id)
    selection = _selection(root, graph, changes, moved)
    pins = _pins(graph, settings, selection, changes.offline, warn) if pin else {}
    reasons = {}
    for key, steps in selection.reasons:
        kind, directory = key.split(":", 1)
        layer = graph.layers[directory]
        name = science_target_name(layer.target) if kind == "sci" else rel_target_name(layer.image, layer.version)
        reasons[name] = steps
    plan = make_plan(graph, info, settings, science=set(selection.science), rel=set(selection.rel), pins=pins,
                     reasons=reasons)
    return Prepared(root, settings, graph, info, plan, selection, changes)
