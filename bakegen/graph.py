"""The layer graph: science dependencies from FROM lines, final layers, compat include chains.

Pure: it takes a loaded Catalogue and returns the graph plus every problem found.
"""
from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass

from . import references
from .catalogue import Catalogue, CompatLayer, ScienceLayer
from .dockerfile import AUTOMATIC_PLATFORM_ARGS, DockerfileSyntaxError, FromLine, from_lines, instructions
from .errors import Problem, error, warning

DEFAULT_PLATFORMS = ("linux/amd64",)


@dataclass(frozen=True)
class Edge:
    """``child`` builds FROM ``parent``; ``key`` is the reference as BuildKit names the context."""

    child: str
    parent: str
    key: str
    line: int


@dataclass(frozen=True)
class LayerGraph:
    layers: dict[str, ScienceLayer]  # by directory, sorted
    parents: dict[str, tuple[Edge, ...]]  # by child directory
    children: dict[str, tuple[str, ...]]  # by parent directory, sorted
    finals: dict[tuple[str, str], str]  # (image, version) -> directory of its final layer
    platforms: dict[str, tuple[str, ...]]  # by directory
    compat: dict[str, CompatLayer]
    compat_chains: dict[str, tuple[str, ...]]  # compat -> its includes, depth first, itself last
    external: dict[str, tuple[str, ...]]  # directory -> image references that are not science layers
    bases: dict[str, str | None] = None  # directory -> the science parent its final stage is built FROM

    def inherited(self, directory: str) -> set[str]:
        """Layers whose labels the image of ``directory`` inherits through its final stage."""
        base = self.bases.get(directory) if self.bases else None
        return set() if base is None else {base} | self.ancestors(base)

    def final_layers(self) -> list[ScienceLayer]:
        return [self.layers[d] for d in sorted(self.finals.values())]

    def is_final(self, directory: str) -> bool:
        layer = self.layers[directory]
        return self.finals.get((layer.image, layer.version)) == directory

    def order(self) -> list[str]:
        """Directories with every parent before its children (ties broken by name)."""
        import heapq

        remaining = {d: len({e.parent for e in self.parents[d]}) for d in self.layers}
        ready = [d for d, n in remaining.items() if n == 0]
        heapq.heapify(ready)
        result = []
        while ready:
            directory = heapq.heappop(ready)
            result.append(directory)
            for child in self.children[directory]:
                remaining[child] -= 1
                if remaining[child] == 0:
                    heapq.heappush(ready, child)
        return result

    def descendants(self, directories) -> set[str]:
        seen = set(directories)
        stack = list(seen)
        while stack:
            for child in self.children[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, directory: str) -> set[str]:
        seen: set[str] = set()
        stack = [directory]
        while stack:
            for edge in self.parents[stack.pop()]:
                if edge.parent not in seen:
                    seen.add(edge.parent)
                    stack.append(edge.parent)
        return seen


def resolve(catalogue: Catalogue, default_platforms: tuple[str, ...] = DEFAULT_PLATFORMS):
    """Build the LayerGraph; returns ``(graph, problems)``. The graph is only sound if no
    problem is an error."""
    problems: list[Problem] = []
    layers = {layer.directory: layer for layer in catalogue.science}
    by_target: dict[str, ScienceLayer] = {}
    for layer in catalogue.science:  # duplicates were reported by the catalogue; the first one wins here
        by_target.setdefault(layer.target, layer)
    parents: dict[str, list[Edge]] = {d: [] for d in layers}
    bases: dict[str, str | None] = {}
    external: dict[str, list[str]] = {d: [] for d in layers}
    for layer in catalogue.science:
        bases[layer.directory] = _layer_edges(layer, by_target, parents[layer.directory],
                                              external[layer.directory], problems)

    children: dict[str, set[str]] = {d: set() for d in layers}
    for child, edges in parents.items():
        for edge in edges:
            if edge.parent != child:
                children[edge.parent].add(child)
    cycles = _science_cycles(layers, parents, problems)

    for child, edges in parents.items():
        for edge in edges:
            parent, layer = layers[edge.parent], layers[child]
            if parent.image == layer.image and references.version_key(layer.version) < references.version_key(
                parent.version
            ):
                problems.append(error(
                    f"{layer.path}/Dockerfile",
                    f"{layer.image}:{layer.version} builds on a higher version of the same image "
                    f"({parent.path}, {parent.image}:{parent.version})",
                    edge.line,
                ))

    finals = _finals(catalogue.science, children, cycles, problems)
    compat = catalogue.compat_by_name()
    for layer in catalogue.science:
        if layer.compat is not None and layer.compat not in compat and f"compat/{layer.compat}" not in catalogue.unloaded:
            problems.append(error(f"{layer.path}/sciserver-image.json",
                                  f"unknown compat layer {layer.compat!r}{_did_you_mean(layer.compat, compat)}"))
    for (image, version), directory in sorted(finals.items()):
        if layers[directory].compat is None:
            problems.append(warning(f"science/{directory}/sciserver-image.json",
                                    f"final layer of {image}:{version} names no compat layer, so it gets no rel image"))
    chains = _compat_chains(compat, catalogue.unloaded, problems)

    platforms = {d: layer.platforms or tuple(default_platforms) for d, layer in layers.items()}
    for child, edges in parents.items():
        for edge in edges:
            missing = [p for p in platforms[child] if p not in platforms[edge.parent]]
            if missing and edge.parent != child:
                problems.append(error(
                    f"science/{child}/sciserver-image.json",
                    f"platforms {', '.join(missing)} are not built by its parent science/{edge.parent} "
                    f"({', '.join(platforms[edge.parent])}); a layer's platforms must be a subset of its parent's",
                ))

    graph = LayerGraph(
        layers=dict(sorted(layers.items())),
        parents={d: tuple(sorted(edges, key=lambda e: (e.parent, e.key))) for d, edges in sorted(parents.items())},
        children={d: tuple(sorted(c)) for d, c in sorted(children.items())},
        finals=finals,
        platforms=platforms,
        compat=compat,
        compat_chains=chains,
        external={d: tuple(sorted(set(refs))) for d, refs in sorted(external.items())},
        bases={d: bases.get(d) for d in sorted(layers)},
    )
    return graph, problems


def _group(items, key):
    groups = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def _did_you_mean(name: str, known) -> str:
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


def science_target_of(ref: references.ImageRef) -> str | None:
    """The science target a reference names: ``.../sci/<target>`` or a bare ``<target>``."""
    parts = ref.path.split("/")
    if len(parts) >= 2 and parts[-2] == "sci":
        return parts[-1]
    if ref.domain == "docker.io" and len(parts) == 2 and parts[0] == "library":
        return parts[1]
    return None


def _layer_edges(layer, by_target, edges: list[Edge], external: list[str], problems) -> str | None:
    """Collect the layer's edges and external images; return the science parent its final
    stage is built FROM (whose labels the image inherits), if any."""
    shown = f"{layer.path}/Dockerfile"
    try:
        froms: list[FromLine] = from_lines(layer.dockerfile_text, dict(layer.args))
    except DockerfileSyntaxError as exc:
        problems.append(error(shown, str(exc), exc.line))
        return None
    if not froms:
        problems.append(error(shown, "no FROM instruction"))
        return None
    matched: dict[int, str] = {}
    for line in froms:
        missing = [name for name in line.unresolved if name not in AUTOMATIC_PLATFORM_ARGS]
        if missing:
            problems.append(warning(shown, f"FROM {line.written}: {', '.join('$' + m for m in missing)} has no "
                                           "value (declare it with ARG before the first FROM, or set it in 'args')",
                                    line.line))
        if not line.is_image:
            continue
        try:
            ref = references.parse_image_ref(line.reference)
        except ValueError as exc:
            problems.append(error(shown, f"FROM: {exc}", line.line))
            continue
        target = science_target_of(ref)
        parent = by_target.get(target) if target else None
        if parent is not None and ref.digest is None and ref.tag == parent.version:
            edges.append(Edge(child=layer.directory, parent=parent.directory, key=ref.familiar, line=line.line))
            matched[line.line] = parent.directory
            continue
        parts = ref.path.split("/")
        if target and parent is None and len(parts) >= 2 and parts[-2] == "sci":
            problems.append(warning(shown, f"FROM {ref.familiar}: no science layer has target {target!r} "
                                           "(renamed or deleted?), so it is taken from its registry", line.line))
        if len(parts) >= 2 and parts[-2] == "rel":
            problems.append(warning(shown, f"FROM {ref.familiar} builds on a rel (compat) image; build on the "
                                           "science layer (.../sci/<target>:<version>) instead", line.line))
        external.append(ref.familiar)
    stages = {line.alias.lower(): line for line in froms if line.alias}
    final, seen = froms[-1], set()
    while final.stage and final.reference.lower() in stages and final.line not in seen:
        seen.add(final.line)
        final = stages[final.reference.lower()]
    return matched.get(final.line)


def _science_cycles(layers, parents, problems) -> list[set[str]]:
    """Report every dependency cycle (self-dependencies included) as ``a -> b -> a``."""
    components = _strongly_connected(layers, parents)
    cycles = []
    for component in components:
        start = min(component)
        self_loop = any(e.parent == start for e in parents[start])
        if len(component) == 1 and not self_loop:
            continue
        cycles.append(component)
        path = _cycle_path(start, component, parents)
        edge = next(e for e in parents[start] if e.parent == path[1])
        text = " -> ".join(f"science/{d}" for d in path)
        label = "self-dependency" if len(path) == 2 else "dependency cycle"
        problems.append(error(f"science/{start}/Dockerfile", f"{label}: {text}", edge.line))
    return cycles


def _strongly_connected(layers, parents) -> list[set[str]]:
    """Tarjan's algorithm, iterative (catalogues can be deep chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result = []
    counter = 0
    for root in sorted(layers):
        if root in index:
            continue
        work = [(root, iter(sorted({e.parent for e in parents[root]})))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted({e.parent for e in parents[successor]}))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _cycle_path(start: str, component: set[str], parents) -> list[str]:
    """Shortest path start -> ... -> start following FROM edges inside one component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for parent in sorted({e.parent for e in parents[node]}):
                if parent == start:
                    path = [start]
                    while node != start:
                        path.append(node)
                        node = previous[node]
                    # path holds start then nodes walking back; rebuild forward order
                    chain = [start] + list(reversed(path[1:])) + [start]
                    return chain
                if parent in component and parent not in previous:
                    previous[parent] = node
                    following.append(parent)
        frontier = following
    return [start, start]


def _finals(science, children, cycles, problems) -> dict[tuple[str, str], str]:
    in_cycle = set().union(*cycles) if cycles else set()
    finals = {}
    for (image, version), members in sorted(_group(science, key=lambda l: (l.image, l.version)).items()):
        group = {m.directory for m in members}
        if group & in_cycle:
            continue
        tops = sorted(m.directory for m in members if not (children[m.directory] & group))
        if len(tops) == 1:
            finals[(image, version)] = tops[0]
            continue
        names = ", ".join(f"science/{d}" for d in tops)
        for directory in tops:
            problems.append(error(
                f"science/{directory}/sciserver-image.json",
                f"{image}:{version} has {len(tops)} final layers ({names}); exactly one layer of an "
                "image:version must be the top one: make one build on the other, or change image or version",
            ))
    return finals


def _compat_chains(compat: dict[str, CompatLayer], unloaded, problems) -> dict[str, tuple[str, ...]]:
    for name, layer in sorted(compat.items()):
        for include in layer.includes:
            if include not in compat and f"compat/{include}" not in unloaded:
                problems.append(error(f"{layer.path}/sciserver-image.json",
                                      f"unknown include {include!r}{_did_you_mean(include, compat)}"))
        directive = next((line for line in layer.fragment.splitlines()[:5]
                          if re.match(r"#\s*(syntax|escape|check)\s*=", line, re.IGNORECASE)), None)
        if directive:
            problems.append(warning(f"{layer.path}/Dockerfile", f"parser directive {directive.strip()!r} has no "
                                    "effect in a fragment (it is not at the top of the generated Dockerfile)", 1))
        try:
            for instruction in instructions(layer.fragment):
                if instruction.keyword == "FROM":
                    problems.append(error(f"{layer.path}/Dockerfile", "a compat fragment must not contain FROM "
                                          "(it is appended to the science image's Dockerfile)", instruction.line))
        except DockerfileSyntaxError as exc:
            problems.append(error(f"{layer.path}/Dockerfile", str(exc), exc.line))
    chains = {}
    reported: set[frozenset] = set()
    for name in sorted(compat):
        chain = _expand_includes(name, compat, problems, reported)
        if chain is not None:
            chains[name] = chain
    return chains


def _expand_includes(root: str, compat, problems, reported) -> tuple[str, ...] | None:
    """Depth first in listed order, each layer once and after its own includes, root last."""
    order: list[str] = []
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> bool:
        if name in done:
            return True
        if name in path:
            cycle = path[path.index(name):] + [name]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                problems.append(error(f"compat/{cycle[0]}/sciserver-image.json",
                                      "include cycle: " + " -> ".join(f"compat/{c}" for c in cycle)))
            return False
        if name not in compat:
            return False
        path.append(name)
        ok = all([visit(include) for include in compat[name].includes])
        path.pop()
        done.add(name)
        order.append(name)
        return ok

    return tuple(order) if visit(root) else None
