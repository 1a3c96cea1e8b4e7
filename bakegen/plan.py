"""The build plan: bake targets with tags, labels, contexts and platforms. Pure and frozen.

``make_plan`` turns a resolved LayerGraph into targets. Which layers are built is an
input (everything by default; ``--since`` narrows it), and so are the registry digests of
parents that are not rebuilt: the planner itself does no I/O.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from . import references
from .errors import CatalogueError, Problem, error
from .gitrepo import BuildInfo
from .graph import LayerGraph

STAGING_DIR = ".bakegen"
CONTEXTS_DIR = f"{STAGING_DIR}/ctx"
BASE_GROUPS = ("default", "science", "rel")


@dataclass(frozen=True)
class Settings:
    repo: str
    platforms: tuple[str, ...] = ("linux/amd64",)


@dataclass(frozen=True)
class Target:
    name: str  # bake target name
    kind: str  # "science" or "rel"
    layer: str  # science directory (for rel: the final layer it is built on)
    image: str
    version: str
    context: str  # relative to the catalogue root
    dockerfile: str | None  # relative to the context; None when the Dockerfile is inline
    tags: tuple[str, ...]
    labels: tuple[tuple[str, str], ...]
    args: tuple[tuple[str, str], ...]
    contexts: tuple[tuple[str, str], ...]  # FROM reference -> target:<name> | docker-image://...
    platforms: tuple[str, ...]
    compat_chain: tuple[str, ...] = ()  # rel only: compat layers in the order they are applied
    dockerfile_text: str | None = field(default=None, repr=False)  # rel only: generated, inline in the bake file

    @property
    def floating_tag(self) -> str:
        return self.tags[0]

    @property
    def science_target(self) -> str:
        return self.tags[0].rsplit("/", 1)[-1].split(":")[0]


@dataclass(frozen=True)
class Plan:
    repo: str
    build: BuildInfo
    targets: tuple[Target, ...]  # sorted by name
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    reasons: tuple[tuple[str, tuple[str, ...]], ...] = ()  # target -> why it is built (--explain)

    def target(self, name: str) -> Target:
        return self._by_name()[name]

    def _by_name(self) -> dict[str, Target]:
        return {t.name: t for t in self.targets}

    @property
    def science(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind == "science")

    @property
    def rel(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.kind == "rel")


def science_target_name(layer_target: str) -> str:
    return references.bake_name("sci", layer_target)


def rel_target_name(image: str, version: str) -> str:
    return references.bake_name("rel", image, version)


def science_tags(repo: str, target: str, version: str, build: BuildInfo) -> tuple[str, str]:
    return f"{repo}/sci/{target}:{version}", f"{repo}/sci/{target}:{version}-{build.build_id}"


def rel_tags(repo: str, image: str, version: str, build: BuildInfo) -> tuple[str, str]:
    return f"{repo}/rel/{image}:{version}", f"{repo}/rel/{image}:{version}-{build.build_id}"


def make_plan(
    graph: LayerGraph,
    build: BuildInfo,
    settings: Settings,
    science: set[str] | None = None,
    rel: set[str] | None = None,
    pins: dict[str, str | None] | None = None,
    reasons: dict[str, tuple[str, ...]] | None = None,
) -> Plan:
    """Plan ``science`` layers (directories; default all) and the rel images of the finals in
    ``rel`` (directories of final layers; default all finals with a compat). A parent that is
    not planned is referenced by ``pins[directory]``: a digest, or None for the tag alone."""
    repo = settings.repo
    pins = pins or {}
    if science is None:
        science = set(graph.layers)
    if rel is None:
        rel = {d for d in graph.finals.values() if graph.layers[d].compat is not None}

    def parent_source(directory: str) -> str:
        if directory in science:
            return f"target:{science_target_name(graph.layers[directory].target)}"
        layer = graph.layers[directory]
        source = f"docker-image://{repo}/sci/{layer.target}:{layer.version}"
        digest = pins.get(directory)
        return f"{source}@{digest}" if digest else source

    targets = []
    for directory in sorted(science):
        layer = graph.layers[directory]
        contexts = {edge.key: parent_source(edge.parent) for edge in graph.parents[directory]}
        targets.append(Target(
            name=science_target_name(layer.target),
            kind="science",
            layer=directory,
            image=layer.image,
            version=layer.version,
            context=layer.path,
            dockerfile="Dockerfile",
            tags=science_tags(repo, layer.target, layer.version, build),
            # Labels reach a child only through the image it is built FROM; a layer with
            # several science parents (COPY --from a second stage) would lose the others'
            # breadcrumbs, so those built in this plan are written on it explicitly.
            labels=_science_labels(layer, build, [
                graph.layers[d] for d in sorted((graph.ancestors(directory) - graph.inherited(directory)) & science)
            ]),
            args=layer.args,
            contexts=tuple(sorted(contexts.items())),
            platforms=graph.platforms[directory],
        ))
    for directory in sorted(rel):
        layer = graph.layers[directory]
        name = rel_target_name(layer.image, layer.version)
        base = f"{repo}/sci/{layer.target}:{layer.version}"
        chain = graph.compat_chains[layer.compat]
        targets.append(Target(
            name=name,
            kind="rel",
            layer=directory,
            image=layer.image,
            version=layer.version,
            context=f"{CONTEXTS_DIR}/{chain[-1]}",  # shared by every rel image of this compat layer
            dockerfile=None,
            tags=rel_tags(repo, layer.image, layer.version, build),
            labels=_rel_labels(layer, build),
            args=(),
            contexts=((references.parse_image_ref(base).familiar, parent_source(directory)),),
            platforms=graph.platforms[directory],
            compat_chain=chain,
            dockerfile_text=compat_dockerfile(base, [graph.compat[c].fragment for c in chain],
                                              f"{layer.image}:{layer.version}-{build.build_id}"),
        ))
    problems = bake_name_problems(graph)
    if problems:
        raise CatalogueError(problems)
    targets.sort(key=lambda t: t.name)
    groups = _groups(targets, graph)
    reason_items = tuple(sorted((reasons or {}).items()))
    return Plan(repo=repo, build=build, targets=tuple(targets), groups=groups, reasons=reason_items)


def compat_dockerfile(base: str, fragments: list[str], sciserver_image: str) -> str:
    """``FROM <science image>``, every fragment in order, then ``ENV SCISERVER_IMAGE``."""
    parts = [f"FROM {base}\n"]
    for fragment in fragments:
        parts.append(fragment if fragment.endswith("\n") or not fragment else fragment + "\n")
    parts.append(f"ENV SCISERVER_IMAGE={sciserver_image}\n")
    return "".join(parts)


def _oci_labels(title: str, version: str, build: BuildInfo, description: str | None) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.created": build.created,
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.version": version,
    }
    if build.revision:
        labels["org.opencontainers.image.revision"] = build.revision
    if description:
        labels["org.opencontainers.image.description"] = description
    return labels


def _science_labels(layer, build: BuildInfo, ancestors=()) -> tuple[tuple[str, str], ...]:
    labels = _oci_labels(f"sci/{layer.target}", f"{layer.version}-{build.build_id}", build, layer.description)
    for crumb in [*ancestors, layer]:
        labels[f"org.sciserver.science.{crumb.target}.version"] = f"{crumb.version}-{build.build_id}"
        labels[f"org.sciserver.science.{crumb.target}.buildtime"] = str(build.timestamp)
    return tuple(sorted(labels.items()))


def _rel_labels(layer, build: BuildInfo) -> tuple[tuple[str, str], ...]:
    labels = _oci_labels(f"rel/{layer.image}", f"{layer.version}-{build.build_id}", build, layer.description)
    labels["org.sciserver.compat.version"] = f"{layer.image}:{layer.version}-{build.build_id}"
    labels["org.sciserver.compat.buildtime"] = str(build.timestamp)
    return tuple(sorted(labels.items()))


def bake_name_problems(graph: LayerGraph) -> list[Problem]:
    """Bake names that two things would share once sanitized to ``[A-Za-z0-9_-]`` (targets of
    science layers and rel images, the per-image groups and the built-in groups)."""
    claims: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for directory, layer in graph.layers.items():
        where = f"science/{directory}/sciserver-image.json"
        claims[science_target_name(layer.target)].add((where, f"the science layer science/{directory}"))
        claims[references.bake_name(layer.image)].add((where, f"the group of image {layer.image}"))
        if graph.is_final(directory) and layer.compat is not None:
            claims[rel_target_name(layer.image, layer.version)].add((where, f"the rel image {layer.image}:{layer.version}"))
    for group in BASE_GROUPS:
        claims[group].add(("", f"the built-in group {group}"))
    problems = []
    for name, owners in sorted(claims.items()):
        descriptions = sorted({description for _where, description in owners})
        if len(descriptions) > 1:
            for where in sorted({where for where, _ in owners if where}):
                problems.append(error(where, f"bake name {name!r} would be used by {' and '.join(descriptions)}; "
                                             "rename one (names are sanitized to [A-Za-z0-9_-])"))
    return problems


def _groups(targets: list[Target], graph: LayerGraph) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """default/science/rel plus one group per image (names checked by bake_name_problems)."""
    image_groups: dict[str, list[str]] = defaultdict(list)
    for target in targets:
        image_groups[references.bake_name(target.image)].append(target.name)
    groups = {
        "default": [t.name for t in targets],
        "science": [t.name for t in targets if t.kind == "science"],
        "rel": [t.name for t in targets if t.kind == "rel"],
    }
    for layer in sorted(graph.layers.values(), key=lambda layer: layer.image):
        groups.setdefault(references.bake_name(layer.image), image_groups.get(references.bake_name(layer.image), []))
    return tuple((name, tuple(sorted(members))) for name, members in groups.items())
