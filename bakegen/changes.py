"""What to rebuild: changed layer directories, propagated through the layer graph.

Pure. The changed paths come from git (``gitrepo.changed_since``) or ``--include``; the
result says which science layers and which rel images are built, and why.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .errors import Problem, error, warning
from .graph import LayerGraph


@dataclass(frozen=True)
class Selection:
    science: frozenset[str]  # science directories to build
    rel: frozenset[str]  # final science directories whose rel image is built
    reasons: tuple[tuple[str, tuple[str, ...]], ...]  # ("sci:<dir>" | "rel:<dir>", steps)

    def reason(self, kind: str, directory: str) -> tuple[str, ...]:
        return dict(self.reasons).get(f"{kind}:{directory}", ())


def layer_directory(path: str) -> str | None:
    """``science/a/x/y`` -> ``science/a``; None for paths outside a layer directory."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] in ("science", "compat"):
        return f"{parts[0]}/{parts[1]}"
    return None


def changed_directories(paths: list[str], ignore: frozenset[str] = frozenset()) -> dict[str, str]:
    """Layer directory -> the first changed path in it (what --explain shows)."""
    result: dict[str, str] = {}
    for path in sorted(paths):
        directory = layer_directory(path)
        if directory and directory not in ignore:
            result.setdefault(directory, path)
    return result


def select(graph: LayerGraph, changed: dict[str, str], moved_finals: dict[str, str] | None = None) -> Selection:
    """``changed`` maps layer directories to why they count as changed.

    Changed science layers and everything built on them; rel images of affected finals, of
    every final whose compat chain contains a changed compat layer, and of every final that
    took over its image:version since REV (``moved_finals``: directory -> why)."""
    moved_finals = moved_finals or {}
    reasons: dict[str, tuple[str, ...]] = {}
    queue: deque[str] = deque()
    for directory, path in sorted(changed.items()):
        kind, name = directory.split("/", 1)
        if kind == "science" and name in graph.layers:
            reasons[f"sci:{name}"] = (path, f"sci {graph.layers[name].target}")
            queue.append(name)
    while queue:  # breadth first: each layer reached by its shortest chain, once
        parent = queue.popleft()
        for child in graph.children[parent]:
            if f"sci:{child}" in reasons:
                continue
            key = next(e.key for e in graph.parents[child] if e.parent == parent)
            reasons[f"sci:{child}"] = reasons[f"sci:{parent}"] + (f"sci {graph.layers[child].target} (FROM {key})",)
            queue.append(child)
    science = frozenset(k.split(":", 1)[1] for k in reasons)

    changed_compat = {d.split("/", 1)[1]: p for d, p in changed.items() if d.startswith("compat/")}
    rel = set()
    for (image, version), directory in sorted(graph.finals.items()):
        layer = graph.layers[directory]
        if layer.compat is None or layer.compat not in graph.compat_chains:
            continue
        if directory in science:
            rel.add(directory)
            reasons[f"rel:{directory}"] = reasons[f"sci:{directory}"] + (f"rel {image}:{version}",)
            continue
        touched = [c for c in graph.compat_chains[layer.compat] if c in changed_compat]
        if directory in moved_finals:
            rel.add(directory)
            reasons[f"rel:{directory}"] = (moved_finals[directory], f"rel {image}:{version}")
        elif touched:
            rel.add(directory)
            steps = (changed_compat[touched[0]],) + _include_path(graph, layer.compat, touched[0])
            reasons[f"rel:{directory}"] = steps + (f"rel {image}:{version}",)
    return Selection(science=science, rel=frozenset(rel), reasons=tuple(sorted(reasons.items())))


def _include_path(graph: LayerGraph, top: str, changed: str) -> tuple[str, ...]:
    """``compat low -> compat mid (includes low) -> compat top (includes mid)``."""
    def walk(name: str, seen: frozenset) -> list[str] | None:
        if name == changed:
            return [name]
        for include in graph.compat[name].includes:
            if include in graph.compat and include not in seen:
                found = walk(include, seen | {include})
                if found:
                    return found + [name]
        return None

    path = walk(top, frozenset({top})) or [changed]
    steps = [f"compat {path[0]}"]
    for lower, upper in zip(path, path[1:]):
        steps.append(f"compat {upper} (includes {lower})")
    return tuple(steps)


def history_problems(old: LayerGraph, new: LayerGraph, rev: str, allow_rollback: bool) -> list[Problem]:
    """Rel images that lost their final layer since ``rev`` (warnings) and rollbacks (errors)."""
    problems: list[Problem] = []
    for (image, version), old_final in sorted(old.finals.items()):
        if old.layers[old_final].compat is None:
            continue
        new_final = new.finals.get((image, version))
        if new_final is None:
            problems.append(warning(
                f"science/{old_final}",
                f"rel/{image}:{version} no longer has a final layer (at {rev} it was science/{old_final}); "
                "it will get no more compat updates",
            ))
            continue
        if new_final != old_final and new_final in old.ancestors(old_final):
            make = warning if allow_rollback else error
            problems.append(make(
                f"science/{new_final}",
                f"rollback of {image}:{version}: its final layer becomes science/{new_final}, which "
                f"science/{old_final} (final at {rev}) was built on, so rel/{image}:{version} would lose "
                f"science/{old_final}'s contents" + ("" if allow_rollback else "; pass --allow-rollback if intended"),
            ))
    return problems


def moved_finals(old: LayerGraph, new: LayerGraph, rev: str) -> dict[str, str]:
    """Finals that are not the final of their image:version at ``rev``: their rel image must
    be rebuilt even if nothing in their own directory changed (a rollback that was allowed,
    a layer on top removed)."""
    moved = {}
    for (image, version), directory in sorted(new.finals.items()):
        before = old.finals.get((image, version))
        if before is not None and before != directory:
            moved[directory] = f"final layer of {image}:{version} is science/{directory}, was science/{before} at {rev}"
    return moved
