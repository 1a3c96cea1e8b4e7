"""Running a plan: pick the bake targets the user named, run bake, report digests.

Target selection is pure; ``execute`` does the I/O through a BuildxRunner.
"""
from __future__ import annotations

import difflib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import UsageError
from .plan import STAGING_DIR, Plan
from .runner import BakeRequest, BuildxRunner

REPORT_FILE = f"{STAGING_DIR}/build-report.json"
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


def execute(root: Path, plan: Plan, bake_file: Path, options: BuildOptions, runner: BuildxRunner,
            echo: Callable[[str], None]) -> dict:
    """Run bake for the selected targets and return the build report (also written to disk)."""
    selected = select_targets(plan, options.targets)
    overrides = list(options.overrides)
    if options.platforms:
        overrides.append(("*.platform", ",".join(options.platforms)))
    metadata = options.metadata_file or root / METADATA_FILE
    metadata.unlink(missing_ok=True)
    started = time.monotonic()
    runner.bake(
        BakeRequest(
            root=root, bake_file=bake_file, targets=selected, push=options.push, load=options.load,
            builder=options.builder, overrides=tuple(overrides), progress=options.progress,
            metadata_file=metadata,
        ),
        echo,
    )
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
    targets = []
    for target in plan.targets:
        entry = metadata.get(target.name)
        if entry is None:
            continue
        digest = entry.get("containerimage.digest")
        platforms: dict[str, str] = {}
        if options.push and digest:
            index = runner.manifest(f"{target.tags[0].rsplit(':', 1)[0]}@{digest}") or {}
            for manifest in index.get("manifests", []):
                platform = manifest.get("platform", {})
                if platform.get("os") == "unknown":
                    continue  # attestation manifests
                name = "/".join(filter(None, (platform.get("os"), platform.get("architecture"),
                                              platform.get("variant"))))
                platforms[name] = manifest["digest"]
            if not platforms and index.get("config"):
                platforms[",".join(target.platforms)] = digest
        targets.append({
            "target": target.name,
            "kind": target.kind,
            "layer": f"science/{target.layer}",
            "image": f"{target.image}:{target.version}",
            "tags": list(target.tags),
            "digest": digest,
            "platforms": platforms,
            "pushed": options.push,
        })
    return {
        "build_id": plan.build.build_id,
        "revision": plan.build.revision,
        "requested": list(selected),
        "duration_seconds": round(duration, 3),
        "targets": targets,
    }


def failed_layer(plan: Plan, steps: tuple[tuple[str, str, str], ...], dockerfiles: dict[str, str]) -> str | None:
    """Name the layer whose Dockerfile holds the failed instruction.

    ``dockerfiles`` maps science directories to their Dockerfile text. BuildKit may label a
    step of a science layer with the name of a target linked to it, so the instruction is
    looked up in the labelled target's own Dockerfile first, then in the science layers it
    builds on."""
    by_name = {t.name: t for t in plan.targets}
    for target_name, instruction, _error in steps:
        target = by_name.get(target_name)
        if target is None:
            continue
        text = " ".join(instruction.split())
        if target.kind == "rel" and text and text in (target.dockerfile_text or ""):
            return f"rel image {target.image}:{target.version} (compat {'+'.join(target.compat_chain)})"
        for directory in [target.layer, *sorted(plan_ancestors(plan, target.layer))]:
            if text and text in " ".join(dockerfiles.get(directory, "").split()):
                return f"science/{directory}"
        return f"science/{target.layer}" if target.kind == "science" else f"rel image {target.image}:{target.version}"
    return None


def plan_ancestors(plan: Plan, directory: str) -> set[str]:
    """Science directories that ``directory`` builds on, through the plan's target links."""
    by_name = {t.name: t for t in plan.science}
    by_layer = {t.layer: t for t in plan.science}
    seen: set[str] = set()
    stack = [directory]
    while stack:
        target = by_layer.get(stack.pop())
        if target is None:
            continue
        for _key, source in target.contexts:
            parent = by_name.get(source.removeprefix("target:"))
            if parent is not None and parent.layer not in seen:
                seen.add(parent.layer)
                stack.append(parent.layer)
    return seen
