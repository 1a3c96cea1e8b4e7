"""Running a plan: pick the bake targets the user named, run bake, report digests.

Target selection is pure; ``execute`` does the I/O through a BuildxRunner.
"""
from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .dockerfile import normalized_instruction
from .errors import UsageError
from .plan import STAGING_DIR, Plan, Target
from .runner import BakeFailure, BakeRequest, BuildxRunner

REPORT_FILE = f"{STAGING_DIR}/build-report.json"
# A registry answering 500 while two pushes of one tag overlap (dockerd 26 pushes a tag from
# BuildKit and again from the image store); the images are built, so a second bake only pushes.
_REGISTRY_RACE = ("invalid checksum digest format", "500 Internal Server Error")
BAKE_FILE = f"{STAGING_DIR}/docker-bake.json"
METADATA_FILE = f"{STAGING_DIR}/metadata.json"


def select_targets(plan: Plan, names: tuple[str, ...]) -> tuple[str, ...]:
    """Bake targets or groups for names given as image, image:version, science target or bake target."""
    if not names:
        return ("default",)
    groups = dict(plan.groups)
    chosen: list[str] = []
    unknown: list[str] = []
    for name in names:
        by_target = [t.name for t in plan.targets if t.name == name]
        by_science = [t.name for t in plan.science if t.science_target == name or t.layer == name]
        by_image_version = [t.name for t in plan.targets if f"{t.image}:{t.version}" == name]
        if by_target:
            chosen.extend(by_target)
        elif name in groups:
            chosen.append(name)
        elif by_image_version:
            chosen.extend(sorted(by_image_version))
        elif by_science:
            chosen.extend(by_science)
        else:
            unknown.append(name)
    if unknown:
        known = sorted(set(groups) | {t.name for t in plan.targets} | {f"{t.image}:{t.version}" for t in plan.targets}
                       | {t.science_target for t in plan.science})
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(f"not in the plan: {', '.join(hints)}; name an image, image:version, science target or "
                         "bake target (see bakegen render)")
    return tuple(dict.fromkeys(chosen))


@dataclass(frozen=True)
class BuildOptions:
    targets: tuple[str, ...] = ()
    push: bool = False
    load: bool = False
    platforms: tuple[str, ...] = ()
    builder: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    progress: str = "auto"
    metadata_file: Path | None = None
    provenance: bool = False


def execute(root: Path, plan: Plan, bake_file: Path, options: BuildOptions, runner: BuildxRunner,
            echo: Callable[[str], None]) -> dict:
    """Run bake for the selected targets and return the build report (also written to disk)."""
    selected = select_targets(plan, options.targets)
    # BuildKit's provenance attestation records the build's wall-clock times and a random
    # invocation id, so with it a rebuild of the same commit gives a new index digest and
    # moves every tag; bakegen's builds are reproducible unless --provenance asks for it.
    overrides = [("*.attest", "type=provenance,mode=max" if options.provenance else "type=provenance,disabled=true")]
    overrides += list(options.overrides)
    if options.platforms:
        overrides.append(("*.platform", ",".join(options.platforms)))
    metadata = options.metadata_file or root / METADATA_FILE
    metadata.unlink(missing_ok=True)
    (root / REPORT_FILE).unlink(missing_ok=True)  # a failed build must not leave an old success behind
    request = BakeRequest(
        root=root, bake_file=bake_file, targets=selected, push=options.push, load=options.load,
        builder=options.builder, overrides=tuple(overrides), progress=options.progress, metadata_file=metadata,
    )
    started = time.monotonic()
    if options.push:
        # Build every target first, into the build cache only; push (a cached re-solve) only
        # when all of them built, so a failure leaves the registry as it was. Upstream pushed
        # each image right after building it and left half a release behind (bug 18).
        echo("[bakegen] building every target before pushing any")
        runner.bake(replace(request, push=False, load=False, metadata_file=None,
                            overrides=request.overrides + (("*.output", "type=cacheonly"),)), echo)
        echo("[bakegen] every target built; pushing")
    try:
        runner.bake(request, echo)
    except BakeFailure as failure:
        if not (options.push and any(sign in failure.message for sign in _REGISTRY_RACE)):
            raise
        echo(f"[bakegen] the registry failed a push ({failure.message}); pushing again")
        runner.bake(request, echo)
    duration = time.monotonic() - started
    report = build_report(plan, _read_json(metadata), options, runner, duration, selected)
    (root / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def build_report(plan: Plan, metadata: dict, options: BuildOptions, runner: BuildxRunner, duration: float,
                 selected: tuple[str, ...]) -> dict:
    # bake's metadata also lists parents that were only linked into the solve: built into the
    # cache, neither tagged, pushed nor loaded; the report says so instead of giving them tags
    groups = dict(plan.groups)
    exported = {name for selected_name in selected for name in groups.get(selected_name, (selected_name,))}
    targets = []
    for target in plan.targets:
        entry = metadata.get(target.name)
        if entry is None:
            continue
        common = {"target": target.name, "kind": target.kind, "layer": f"science/{target.layer}",
                  "image": f"{target.image}:{target.version}"}
        if target.name not in exported:
            targets.append({**common, "exported": False, "tags": [], "digest": None, "platforms": {},
                            "pushed": False})
            continue
        digest = entry.get("containerimage.digest")
        targets.append({**common, "exported": True, "tags": list(target.tags), "digest": digest,
                        "platforms": _platform_digests(target, digest, runner) if options.push and digest else {},
                        "pushed": options.push})
    return {
        "build_id": plan.build.build_id,
        "revision": plan.build.revision,
        "requested": list(selected),
        "duration_seconds": round(duration, 3),
        "targets": targets,
    }


def failed_layer(plan: Plan, failure: BakeFailure, dockerfiles: dict[str, str]) -> str | None:
    """Name the layer whose Dockerfile holds the failed step.

    ``dockerfiles`` maps science directories to their Dockerfile text. BuildKit labels a
    step shared by linked targets with any one of them (and with that target's "k/n"), so
    the label only says where to start looking: the source lines BuildKit quotes under its
    error decide, then the instruction text. Among equal candidates the layer nearest the
    root wins, since a failing root stops everything above it."""
    by_name = {t.name: t for t in plan.targets}
    labelled = [by_name[step.target] for step in failure.steps if step.target in by_name]
    order: list[tuple[str, str]] = []
    for target in labelled + list(plan.targets):
        if target.kind == "rel":
            label = f"rel image {target.image}:{target.version} (compat {'+'.join(target.compat_chain)})"
            order.append((label, target.dockerfile_text or ""))
        order += [(f"science/{d}", dockerfiles.get(d, "")) for d in reversed(plan_chain(plan, target.layer))]
    candidates = list(dict.fromkeys(order))
    if failure.excerpt:
        for label, dockerfile in candidates:
            if _quotes(dockerfile, failure.excerpt):
                return label
    for step in failure.steps:
        text = normalized_instruction(step.instruction)
        for label, dockerfile in candidates:
            if text and text in normalized_instruction(dockerfile):
                return label
    if labelled:
        first = labelled[0]
        return candidates[0][0] if first.kind == "rel" else f"science/{first.layer}"
    return None


def _quotes(dockerfile: str, excerpt: tuple[tuple[int, str], ...]) -> bool:
    lines = dockerfile.split("\n")
    return all(0 < number <= len(lines) and lines[number - 1].rstrip() == text for number, text in excerpt)


def plan_chain(plan: Plan, directory: str) -> list[str]:
    """``directory`` and the science layers it builds on through the plan's links, nearest first."""
    by_name = {t.name: t for t in plan.science}
    by_layer = {t.layer: t for t in plan.science}
    chain = [directory]
    seen = {directory}
    for current in chain:  # breadth first: the list grows while it is walked
        target = by_layer.get(current)
        if target is None:
            continue
        for _key, source in target.contexts:
            parent = by_name.get(source.removeprefix("target:"))
            if parent is not None and parent.layer not in seen:
                seen.add(parent.layer)
                chain.append(parent.layer)
    return chain


def _platform_digests(target: Target, digest: str, runner: BuildxRunner) -> dict[str, str]:
    """Platform -> manifest digest of a pushed image, read back from its registry."""
    index = runner.manifest(f"{target.tags[0].rsplit(':', 1)[0]}@{digest}") or {}
    platforms = {}
    for manifest in index.get("manifests", []):
        platform = manifest.get("platform", {})
        if platform.get("os") == "unknown":
            continue  # attestation manifests
        name = "/".join(filter(None, (platform.get("os"), platform.get("architecture"), platform.get("variant"))))
        platforms[name] = manifest["digest"]
    if not platforms and index.get("config"):  # a single-platform image is a manifest, not an index
        platforms[",".join(target.platforms)] = digest
    return platforms
