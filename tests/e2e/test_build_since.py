"""Issue 4 end to end: ``--since`` on the real engine, with the offline catalogue.

One history, built step by step by module-scoped fixtures (each step runs once, in order):

1. ``full``: the catalogue committed (DATE1), built and pushed for both platforms;
2. ``compat_step``: compat/jupyter/startup.sh changed, committed (DATE2),
   ``bakegen build --since HEAD~1 --push``: only the rel images of finals whose compat chain
   holds jupyter are rebuilt, on top of the published science images;
3. ``science_step``: science/tools (a middle layer) changed, committed (DATE3), rendered,
   then ``bakegen build --since HEAD~1 --push``: tools, tools-extra and rel offline-tools only.

Every step snapshots the raw manifests of every floating tag in the registry, so the tests
compare what the registry held before and after, byte for byte.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    DATE2,
    DATE3,
    FINALS,
    LAYERS,
    Manifest,
    Pushed,
    Run,
    assert_no_traceback,
    bakegen,
    build_and_push,
    build_id,
    build_ok,
    built_targets,
    chain,
    commit,
    commit_time,
    descendants,
    extract,
    floating_names,
    image_configs,
    imagetools_raw,
    new_namespace,
    registry_manifest,
    registry_tags,
    rel_target,
    report,
    sci_target,
    snapshot,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]

COMPAT_CHANGED = "jupyter"
# finals whose compat chain holds jupyter: every one but offline-base:1.0 (common only)
COMPAT_FINALS = {"offline-base:2.0", "offline-data:1.0", "offline-tools:1.0"}
SCIENCE_CHANGED = "tools"  # base -> base-2 -> tools -> tools-extra: a middle layer
SCIENCE_REBUILT = descendants(SCIENCE_CHANGED)  # tools, tools-extra
SCIENCE_FINALS = {iv for iv, d in FINALS.items() if d in SCIENCE_REBUILT}  # offline-tools:1.0


@dataclass
class Step:
    build: str  # N-H of HEAD
    commit_time: str
    run: Run
    report: dict
    before: dict[str, Manifest | None]
    after: dict[str, Manifest | None]


def _step(root: Path, repo: str, before: dict) -> Step:
    run = build_ok(root, "--repo", repo, "--since", "HEAD~1", "--push", "--progress", "plain")
    return Step(build_id(root), commit_time(root), run, report(root), before, snapshot(repo, floating_names()))


@pytest.fixture(scope="module")
def full(engine, tmp_path_factory) -> Pushed:
    return build_and_push(tmp_path_factory.mktemp("incremental"), "since")


@pytest.fixture(scope="module")
def full_snapshot(full):
    return snapshot(full.repo, floating_names())


@pytest.fixture(scope="module")
def compat_step(full, full_snapshot) -> Step:
    startup = full.root / "compat" / COMPAT_CHANGED / "startup.sh"
    startup.write_text(startup.read_text() + "# e2e: compat update\n")
    commit(full.root, "compat update", DATE2)
    return _step(full.root, full.repo, full_snapshot)


@dataclass
class Rendered:
    online: Run
    offline: Run
    registry_digest: str  # sci/base-2:2.0, as the registry says


@pytest.fixture(scope="module")
def science_step(full, compat_step):
    dockerfile = full.root / "science" / SCIENCE_CHANGED / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN echo v2 > /opt/layers/tools.v2\n")
    commit(full.root, "science update", DATE3)
    online = bakegen(full.root, "render", "--repo", full.repo, "--since", "HEAD~1", "--format", "json", "-o", "-")
    offline = bakegen(full.root, "render", "--repo", full.repo, "--since", "HEAD~1", "--offline", "--format", "json",
                      "-o", "-")
    parent = registry_manifest(full.repo, "sci/base-2", "2.0")
    assert parent is not None
    rendered = Rendered(online, offline, parent.digest)
    return _step(full.root, full.repo, compat_step.after), rendered


def _changed(step: Step) -> set[str]:
    return {name for name in step.before if _digest(step.before[name]) != _digest(step.after[name])}


def _digest(manifest: Manifest | None) -> str | None:
    return manifest.digest if manifest else None


def _sci(directory: str) -> str:
    return f"sci/{LAYERS[directory][2]}:{LAYERS[directory][1]}"


def _rel(image_version: str) -> str:
    return f"rel/{image_version}"


# --- the compat change ------------------------------------------------------------------------

def test_compat_change_builds_only_rel_targets(compat_step):
    assert built_targets(compat_step.report) == {rel_target(iv) for iv in COMPAT_FINALS}
    assert {e["kind"] for e in compat_step.report["targets"]} == {"rel"}
    science_steps = [line for line in compat_step.run.stderr.splitlines() if re.match(r"^#\d+ \[sci-", line)]
    assert science_steps == [], "science targets in the bake log of a compat-only change"


def test_compat_change_leaves_science_bytes_unchanged(full, compat_step):
    for directory in LAYERS:
        name = _sci(directory)
        before, after = compat_step.before[name], compat_step.after[name]
        assert before is not None and after is not None, name
        assert after.raw == before.raw, f"{name} changed in the registry on a compat-only change"
        assert after.digest == before.digest, name
        # and as buildx reads it
        raw = imagetools_raw(f"{full.repo}/{name}")
        assert raw == before.raw, name
        # no science tag of the new build id
        target, version = LAYERS[directory][2], LAYERS[directory][1]
        assert f"{version}-{compat_step.build}" not in registry_tags(full.repo, f"sci/{target}"), name


def test_compat_change_moves_exactly_the_affected_rel_images(full, compat_step):
    assert _changed(compat_step) == {_rel(iv) for iv in COMPAT_FINALS}
    for image_version in FINALS:
        image, version = image_version.split(":")
        tags = registry_tags(full.repo, f"rel/{image}")
        assert (f"{version}-{compat_step.build}" in tags) == (image_version in COMPAT_FINALS), (image_version, tags)
        if image_version in COMPAT_FINALS:
            floating = registry_manifest(full.repo, f"rel/{image}", version)
            tagged = registry_manifest(full.repo, f"rel/{image}", f"{version}-{compat_step.build}")
            assert floating.digest == tagged.digest, image_version


def test_compat_rebuilt_rel_images_sit_on_the_published_science(full, compat_step):
    """Science breadcrumbs keep the first build's id and time; compat labels are the new commit's."""
    for image_version in COMPAT_FINALS:
        image, version = image_version.split(":")
        configs = image_configs(f"{full.repo}/rel/{image}:{version}")
        assert len(configs) == 2, image_version
        for platform, config in configs.items():
            labels = config["config"]["Labels"]
            for directory in chain(FINALS[image_version]):
                target = LAYERS[directory][2]
                assert labels[f"org.sciserver.science.{target}.version"] == f"{LAYERS[directory][1]}-{full.build}"
                assert labels[f"org.sciserver.science.{target}.buildtime"] == full.commit_time
            assert labels["org.sciserver.compat.version"] == f"{image_version}-{compat_step.build}"
            assert labels["org.sciserver.compat.buildtime"] == compat_step.commit_time != full.commit_time
            env = dict(item.split("=", 1) for item in config["config"]["Env"])
            assert env["SCISERVER_IMAGE"] == f"{image_version}-{compat_step.build}", (platform, env)


def test_compat_rebuilt_rel_images_carry_the_new_file(full, compat_step, tmp_path):
    images = {}
    for image_version in sorted(COMPAT_FINALS | {"offline-base:1.0"}):
        image, version = image_version.split(":")
        digest = compat_step.after[_rel(image_version)].digest
        images[image_version.replace(":", "-")] = f"{full.repo}/rel/{image}@{digest}"
    files = extract(images, ["/opt/startup.sh", "/opt/layers/"], tmp_path)
    for platform, directory in files.items():
        for label in images:
            startup = (directory / label / "opt" / "startup.sh").read_text()
            updated = label != "offline-base-1.0"
            assert ("# e2e: compat update" in startup) == updated, (platform, label)
            assert ("from compat/jupyter" in startup) == updated, (platform, label)
        assert (directory / "offline-tools-1.0" / "opt" / "layers" / "tools-extra").is_file(), platform


# --- the science change -----------------------------------------------------------------------

def test_rendered_bake_file_pins_the_unchanged_parent(full, science_step):
    _step_, rendered = science_step
    run = rendered.online
    assert_no_traceback(run)
    assert run.returncode == 0, str(run)
    bake = json.loads(run.stdout)
    assert sorted(bake["group"]["default"]["targets"]) == sorted(
        [sci_target(d) for d in SCIENCE_REBUILT] + [rel_target(iv) for iv in SCIENCE_FINALS])
    contexts = bake["target"][sci_target(SCIENCE_CHANGED)]["contexts"]
    parent = LAYERS[SCIENCE_CHANGED][3]
    expected = f"docker-image://{full.repo}/{_sci(parent)}@{rendered.registry_digest}"
    assert list(contexts.values()) == [expected], contexts
    # the digest is the one buildx reads from the registry too
    raw = imagetools_raw(f"{full.repo}/{_sci(parent)}")
    assert rendered.registry_digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    # layers rebuilt together stay linked inside the solve
    assert bake["target"]["sci-tools-extra"]["contexts"] == {
        "compute.repo.sciserver.org/sci/tools:1.0": "target:sci-tools"}


def test_rendered_offline_uses_the_tag_with_a_warning(full, science_step):
    _step_, rendered = science_step
    run = rendered.offline
    assert_no_traceback(run)
    assert run.returncode == 0, str(run)
    contexts = json.loads(run.stdout)["target"][sci_target(SCIENCE_CHANGED)]["contexts"]
    parent = LAYERS[SCIENCE_CHANGED][3]
    assert list(contexts.values()) == [f"docker-image://{full.repo}/{_sci(parent)}"], contexts
    assert "warning" in run.stderr.lower() and "--offline" in run.stderr, str(run)


def test_science_change_builds_that_layer_its_descendants_and_their_rel_images(science_step):
    step, _rendered = science_step
    assert built_targets(step.report) == (
        {sci_target(d) for d in SCIENCE_REBUILT} | {rel_target(iv) for iv in SCIENCE_FINALS})


def test_science_change_moves_exactly_those_digests(full, science_step):
    step, _rendered = science_step
    expected = {_sci(d) for d in SCIENCE_REBUILT} | {_rel(iv) for iv in SCIENCE_FINALS}
    assert _changed(step) == expected
    for name in set(step.before) - expected:
        assert step.after[name] is not None and step.after[name].raw == step.before[name].raw, name
    for directory in LAYERS:
        target, version = LAYERS[directory][2], LAYERS[directory][1]
        has_new = f"{version}-{step.build}" in registry_tags(full.repo, f"sci/{target}")
        assert has_new == (directory in SCIENCE_REBUILT), directory


def test_science_rebuilt_images_are_built_on_the_pinned_parent(full, compat_step, science_step, tmp_path):
    step, _rendered = science_step
    configs = image_configs(f"{full.repo}/rel/offline-tools:1.0")
    for platform, config in configs.items():
        labels = config["config"]["Labels"]
        for directory in chain(FINALS["offline-tools:1.0"]):
            target, version = LAYERS[directory][2], LAYERS[directory][1]
            build = step.build if directory in SCIENCE_REBUILT else full.build
            assert labels[f"org.sciserver.science.{target}.version"] == f"{version}-{build}", (platform, directory)
    digest = step.after[_rel("offline-tools:1.0")].digest
    files = extract({"tools": f"{full.repo}/rel/offline-tools@{digest}"}, ["/opt/layers/", "/opt/startup.sh"],
                    tmp_path)
    for platform, directory in files.items():
        layers = {p.name for p in (directory / "tools" / "opt" / "layers").iterdir()}
        assert layers == {"base", "base-2", "tools", "tools-extra", "tools.v2"}, (platform, layers)
        # the compat update of the previous step is still there
        assert "# e2e: compat update" in (directory / "tools" / "opt" / "startup.sh").read_text(), platform


def test_missing_parent_in_the_registry_is_exit_2_naming_it(full, science_step):
    fresh = new_namespace("missing")  # nothing was ever pushed here
    parent = f"{fresh}/{_sci(LAYERS[SCIENCE_CHANGED][3])}"
    for command in ("render", "build"):
        run = bakegen(full.root, command, "--repo", fresh, "--since", "HEAD~1", *(
            ["--format", "json", "-o", "-"] if command == "render" else ["--push"]))
        assert_no_traceback(run)
        assert run.returncode == 2, str(run)
        errors = [line for line in run.stderr.splitlines() if line.startswith("bakegen:")]
        assert len(errors) == 1 and parent in errors[0], str(run)
    assert registry_tags(fresh, f"sci/{LAYERS[SCIENCE_CHANGED][2]}") == set()


def test_every_missing_image_is_named(full, science_step):
    """Since HEAD~2 (the compat and the science change): the parent of tools, and the science
    images of the finals whose rel images are rebuilt on top of them (base-2, data), are needed."""
    fresh = new_namespace("missing")
    run = bakegen(full.root, "render", "--repo", fresh, "--since", "HEAD~2", "--format", "json", "-o", "-")
    assert_no_traceback(run)
    assert run.returncode == 2, str(run)
    errors = [line for line in run.stderr.splitlines() if line.startswith("bakegen:")]
    assert len(errors) == 1, str(run)
    for directory in ("base-2", "data"):
        assert f"{fresh}/{_sci(directory)}" in errors[0], (directory, errors[0])
    for directory in ("base", "tools", "tools-extra"):  # rebuilt, or not needed
        assert f"{fresh}/{_sci(directory)}" not in errors[0], (directory, errors[0])
