"""What people read: the plan summary, graph pictures (text, Mermaid, DOT) and the plan as JSON."""
from __future__ import annotations

import hashlib
import json

from .graph import LayerGraph
from .plan import Plan, Target


def plan_summary(plan: Plan, graph: LayerGraph) -> str:
    """Each final image with its chain of layers and tags, then the counts."""
    lines = []
    planned = {t.layer for t in plan.science}
    for target in plan.rel:
        chain = [target.layer] + _chain_below(graph, target.layer)
        layers = " <- ".join(
            f"{d}{'' if d in planned else ' (published)'}" for d in chain
        )
        lines.append(f"{target.image}:{target.version}  [{target.name}]")
        lines.append(f"  science: {layers}")
        lines.append(f"  compat:  {' -> '.join(target.compat_chain)}")
        lines.append(f"  tags:    {', '.join(target.tags)}")
    rel_layers = {t.layer for t in plan.rel}
    others = [t for t in plan.science if t.layer not in rel_layers]
    if others:
        lines.append("science layers without a rel build in this plan:")
        for target in others:
            lines.append(f"  {target.layer}  [{target.name}]  {', '.join(target.tags)}")
    lines.append(f"plan: {len(plan.science)} science build(s), {len(plan.rel)} compat build(s), "
                 f"build {plan.build.build_id}, repo {plan.repo}")
    return "\n".join(lines)


def _chain_below(graph: LayerGraph, directory: str) -> list[str]:
    """Ancestors of a layer, nearest first, following the parent each final stage is built FROM."""
    chain, seen = [], {directory}
    current = directory
    while graph.parents[current]:
        parent = graph.bases.get(current) or graph.parents[current][0].parent
        if parent in seen:
            break
        chain.append(parent)
        seen.add(parent)
        current = parent
    return chain


def plan_dict(plan: Plan) -> dict:
    def build(target: Target) -> dict:
        item = {
            "name": target.name,
            "kind": target.kind,
            "layer": f"science/{target.layer}",
            "image": target.image,
            "version": target.version,
            "context": target.context,
            "platforms": list(target.platforms),
            "tags": list(target.tags),
            "labels": dict(target.labels),
            "args": dict(target.args),
            "contexts": dict(target.contexts),
        }
        if target.dockerfile_text is not None:
            item["dockerfile_inline"] = target.dockerfile_text
        else:
            item["dockerfile"] = target.dockerfile
        if target.kind == "rel":
            item["compat"] = list(target.compat_chain)
        reasons = dict(plan.reasons).get(target.name)
        if reasons:
            item["reasons"] = list(reasons)
        return item

    edges = [
        {"child": t.name, "parent": source.removeprefix("target:"), "reference": key}
        if source.startswith("target:") else {"child": t.name, "image": source, "reference": key}
        for t in plan.targets for key, source in t.contexts
    ]
    return {
        "repo": plan.repo,
        "build_id": plan.build.build_id,
        "revision": plan.build.revision,
        "created": plan.build.created,
        "builds": [build(t) for t in plan.targets],
        "edges": edges,
        "groups": {name: list(members) for name, members in plan.groups},
    }


def plan_json(plan: Plan) -> str:
    return json.dumps(plan_dict(plan), indent=2) + "\n"


def explain(plan: Plan) -> str:
    """For every planned target, the chain of reasons, then the tags that move."""
    reasons = dict(plan.reasons)
    lines = []
    for target in plan.targets:
        steps = reasons.get(target.name, ())
        lines.append(f"{target.name}: {' -> '.join(steps) if steps else 'planned'}")
    moving = [t.floating_tag for t in plan.targets]
    lines.append(f"tags that move ({len(moving)}): {', '.join(moving) if moving else 'none'}")
    lines.append(f"new immutable tags: {len(plan.targets)} (suffix -{plan.build.build_id})")
    return "\n".join(lines)


def _marks(graph: LayerGraph, selection) -> tuple[set[str], set[str]]:
    if selection is None:
        return set(), set()
    return set(selection.science), set(selection.rel)


def graph_text(graph: LayerGraph, selection=None) -> str:
    rebuilt, rel_rebuilt = _marks(graph, selection)
    lines = [f"science layers ({len(graph.layers)}):"]
    for directory in graph.order():
        layer = graph.layers[directory]
        final = "  final" if graph.is_final(directory) else ""
        mark = "  [rebuild]" if directory in rebuilt else ""
        lines.append(f"  science/{directory}  sci/{layer.target}:{layer.version}  ({layer.image_version}){final}{mark}")
        for edge in graph.parents[directory]:
            lines.append(f"    FROM {edge.key}  -> science/{edge.parent}")
        for reference in graph.external[directory]:
            lines.append(f"    FROM {reference}")
    lines.append(f"final images ({len(graph.finals)}):")
    for (image, version), directory in sorted(graph.finals.items()):
        compat = graph.layers[directory].compat
        via = f"compat {' -> '.join(graph.compat_chains.get(compat, (compat,)))}" if compat else "no compat: no rel image"
        mark = "  [rebuild]" if directory in rel_rebuilt else ""
        lines.append(f"  rel/{image}:{version}  <- science/{directory}  ({via}){mark}")
    lines.append(f"compat layers ({len(graph.compat)}):")
    for name, layer in sorted(graph.compat.items()):
        includes = f"  includes {', '.join(layer.includes)}" if layer.includes else ""
        lines.append(f"  compat/{name}{includes}")
    return "\n".join(lines) + "\n"


def _node(kind: str, name: str) -> str:
    """A Mermaid node id: readable, and unique even when names differ only in punctuation."""
    readable = "".join(c if c.isalnum() else "_" for c in name)
    return f"{kind}_{readable}_{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def graph_mermaid(graph: LayerGraph, selection=None) -> str:
    rebuilt, rel_rebuilt = _marks(graph, selection)
    lines = ["flowchart BT"]
    for directory, layer in graph.layers.items():
        lines.append(f'  {_node("sci", directory)}["sci/{layer.target}:{layer.version}<br/>science/{directory}"]')
    for (image, version), directory in sorted(graph.finals.items()):
        if graph.layers[directory].compat:
            lines.append(f'  {_node("rel", f"{image}:{version}")}(["rel/{image}:{version}"])')
    for name in sorted(graph.compat):
        lines.append(f'  {_node("compat", name)}[["compat/{name}"]]')
    for directory, edges in graph.parents.items():
        for edge in edges:
            lines.append(f"  {_node('sci', directory)} --> {_node('sci', edge.parent)}")
    for (image, version), directory in sorted(graph.finals.items()):
        compat = graph.layers[directory].compat
        if compat:
            rel = _node("rel", f"{image}:{version}")
            lines.append(f"  {rel} --> {_node('sci', directory)}")
            lines.append(f"  {rel} -.-> {_node('compat', compat)}")
    for name, layer in sorted(graph.compat.items()):
        for include in layer.includes:
            lines.append(f"  {_node('compat', name)} -.->|includes| {_node('compat', include)}")
    if selection is not None:
        lines.append("  classDef rebuild stroke:#d33,stroke-width:3px")
        marked = [_node("sci", d) for d in sorted(rebuilt)]
        marked += [_node("rel", f"{graph.layers[d].image}:{graph.layers[d].version}") for d in sorted(rel_rebuilt)]
        if marked:
            lines.append(f"  class {','.join(marked)} rebuild")
    return "\n".join(lines) + "\n"


def graph_dot(graph: LayerGraph, selection=None) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph catalogue {", "  rankdir=BT;", "  node [shape=box];"]
    rebuilt, rel_rebuilt = _marks(graph, selection)
    for directory, layer in graph.layers.items():
        style = ", color=red, penwidth=2" if directory in rebuilt else ""
        lines.append(f"  {quote('science/' + directory)} [label={quote(f'sci/{layer.target}:{layer.version}')}{style}];")
    for (image, version), directory in sorted(graph.finals.items()):
        if graph.layers[directory].compat:
            style = ", color=red, penwidth=2" if directory in rel_rebuilt else ""
            lines.append(f"  {quote(f'rel/{image}:{version}')} [shape=ellipse{style}];")
    for name in sorted(graph.compat):
        lines.append(f"  {quote('compat/' + name)} [shape=folder];")
    for directory, edges in graph.parents.items():
        for edge in edges:
            lines.append(f"  {quote('science/' + directory)} -> {quote('science/' + edge.parent)};")
    for (image, version), directory in sorted(graph.finals.items()):
        compat = graph.layers[directory].compat
        if compat:
            lines.append(f"  {quote(f'rel/{image}:{version}')} -> {quote('science/' + directory)};")
            lines.append(f"  {quote(f'rel/{image}:{version}')} -> {quote('compat/' + compat)} [style=dashed];")
    for name, layer in sorted(graph.compat.items()):
        for include in layer.includes:
            lines.append(f"  {quote('compat/' + name)} -> {quote('compat/' + include)} [style=dashed, label=includes];")
    lines.append("}")
    return "\n".join(lines) + "\n"
