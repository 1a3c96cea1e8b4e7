"""Issue 3 end to end: ``bakegen build`` of the offline catalogue on the real engine (failures:
test_errors.py).

One module-scoped build pushes the whole catalogue for linux/amd64 and linux/arm64 into a
private namespace of the loopback registry; the tests read it back from there. The other
tests build their own copies (cached by BuildKit, so they stay quick).
"""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import (
    COMPAT_CHAINS,
    FINALS,
    LAYERS,
    PLATFORMS,
    all_tags,
    assert_no_traceback,
    bakegen,
    build_and_push,
    build_ok,
    built_targets,
    chain,
    elf_machine,
    extract,
    image_configs,
    index_platforms,
    make_offline_catalogue,
    new_namespace,
    registry_manifest,
    registry_tags,
    rel_target,
    report,
    sci_target,
    uncached_steps,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine")]


@pytest.fixture(scope="module")
def pushed(engine, tmp_path_factory):
    return build_and_push(tmp_path_factory.mktemp("pushed"), "build")


def _label(image_version: str) -> str:
    return image_version.replace(":", "-")


@pytest.fixture(scope="module")
def rel_files(pushed, tmp_path_factory):
    """Files of every rel image, both platforms, read from the registry by digest."""
    images = {}
    for image_version in FINALS:
        image, version = image_version.split(":")
        manifest = registry_manifest(pushed.repo, f"rel/{image}", version)
        assert manifest is not None, f"rel/{image_version} is not in the registry"
        images[_label(image_version)] = f"{pushed.repo}/rel/{image}@{manifest.digest}"
    return extract(images, ["/opt/", "/etc/motd", "/etc/passwd", "/bin/busybox"],
                   tmp_path_factory.mktemp("rel-files"))


# --- a. what the registry holds ---------------------------------------------------------------

def test_every_expected_tag_is_in_the_registry(pushed):
    missing = []
    for name, (repository, tag) in all_tags(pushed.repo, pushed.build).items():
        if tag not in registry_tags(pushed.repo, repository):
            missing.append(name)
    assert missing == [], f"not pushed to {pushed.repo}: {missing}"


def test_floating_and_build_tags_name_the_same_index(pushed):
    for name, (repository, tag) in all_tags(pushed.repo, pushed.build).items():
        if "-" in tag:
            continue
        floating = registry_manifest(pushed.repo, repository, tag)
        build = registry_manifest(pushed.repo, repository, f"{tag}-{pushed.build}")
        assert floating is not None and build is not None, name
        assert floating.digest == build.digest, f"{name} and its build tag differ"


def test_every_index_has_both_platforms(pushed):
    for name, (repository, tag) in all_tags(pushed.repo, pushed.build).items():
        manifest = registry_manifest(pushed.repo, repository, tag)
        assert manifest is not None, name
        assert "index" in manifest.media_type or "list" in manifest.media_type, (name, manifest.media_type)
        assert sorted(index_platforms(manifest)) == sorted(PLATFORMS), name


@pytest.mark.parametrize("image_version", sorted(FINALS))
def test_rel_image_labels_env_and_config(pushed, image_version):
    image, version = image_version.split(":")
    configs = image_configs(f"{pushed.repo}/rel/{image}:{version}")
    assert sorted(configs) == sorted(PLATFORMS)
    final = FINALS[image_version]
    for platform, config in configs.items():
        assert f"{config['os']}/{config['architecture']}" == platform
        labels = config["config"]["Labels"]
        for directory in chain(final):
            layer_version, target = LAYERS[directory][1], LAYERS[directory][2]
            assert labels.get(f"org.sciserver.science.{target}.version") == f"{layer_version}-{pushed.build}", (
                platform, directory, labels)
            # buildtime is the commit time of HEAD (the fixture commits in 2024), not the wall clock
            assert labels.get(f"org.sciserver.science.{target}.buildtime") == pushed.commit_time, (
                platform, directory, labels)
        foreign = {key for key in labels if key.startswith("org.sciserver.science.")} - {
            f"org.sciserver.science.{LAYERS[d][2]}.{what}" for d in chain(final) for what in ("version", "buildtime")}
        assert foreign == set(), f"breadcrumbs of layers outside the chain of {image_version}: {foreign}"
        assert labels.get("org.sciserver.compat.version") == f"{image_version}-{pushed.build}", labels
        assert labels.get("org.sciserver.compat.buildtime") == pushed.commit_time, labels
        env = dict(item.split("=", 1) for item in config["config"].get("Env", []))
        assert env.get("SCISERVER_IMAGE") == f"{image_version}-{pushed.build}", env


@pytest.mark.parametrize("image_version", sorted(FINALS))
def test_rel_image_holds_every_science_layer_of_its_chain(rel_files, image_version):
    image = _label(image_version)
    expected = {LAYERS[d][2] for d in chain(FINALS[image_version])}
    for platform, directory in rel_files.items():
        layers = directory / image / "opt" / "layers"
        assert layers.is_dir(), f"{platform}: no /opt/layers in rel/{image_version}"
        present = {p.name for p in layers.iterdir()}
        assert present == expected, f"{platform}: rel/{image_version} has layer markers {present}, not {expected}"
        for target in expected:
            assert (layers / target).read_text().strip() == target, (platform, target)


def test_arm64_content_is_arm64(rel_files):
    """The arm64 variant was built from the arm64 busybox, and its RUN steps ran (under qemu)."""
    for platform, machine in (("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")):
        for image_version in FINALS:
            image = _label(image_version)
            assert elf_machine(rel_files[platform] / image / "bin" / "busybox") == machine, (platform, image)


@pytest.mark.parametrize("image_version", sorted(FINALS))
def test_compat_files_follow_include_order(rel_files, image_version):
    """A file of an earlier compat layer that a later one overrides has the later content."""
    image = _label(image_version)
    compat = LAYERS[FINALS[image_version]][4]
    compat_chain = COMPAT_CHAINS[compat]
    motd_from = compat_chain[-1]  # every compat layer has etc/motd: the last one wins
    startup_from = "jupyter" if "jupyter" in compat_chain else "common"  # app has no startup.sh
    for platform, directory in rel_files.items():
        root = directory / image
        assert (root / "etc" / "motd").read_text().strip() == f"from compat/{motd_from}", (platform, image)
        assert f"# from compat/{startup_from}" in (root / "opt" / "startup.sh").read_text(), (platform, image)
        assert {p.name for p in (root / "opt" / "compat").iterdir()} == set(compat_chain), (platform, image)
        assert "idies:x:1000:1000" in (root / "etc" / "passwd").read_text(), (platform, image)
        app_conf = root / "opt" / "app" / "app.conf"
        assert app_conf.is_file() == ("app" in compat_chain), (platform, image)


# --- f. the build report and the metadata file ------------------------------------------------

def test_build_report_next_to_staged_contexts(pushed):
    staging = pushed.root / ".bakegen"
    assert (staging / "build-report.json").is_file()
    assert (staging / "ctx").is_dir()
    bake = json.loads((staging / "docker-bake.json").read_text())  # the file bakegen ran bake on
    for image_version in FINALS:
        context = pushed.root / bake["target"][rel_target(image_version)]["context"]
        assert context.parent == staging / "ctx" and context.is_dir(), (image_version, context)
    data = pushed.report
    assert data["build_id"] == pushed.build
    assert isinstance(data["duration_seconds"], (int, float)) and data["duration_seconds"] > 0
    expected = {sci_target(d) for d in LAYERS} | {rel_target(iv) for iv in FINALS}
    assert built_targets(data) == expected


def test_build_report_tags_and_digests_match_the_registry(pushed):
    for entry in pushed.report["targets"]:
        name = entry["target"]
        assert entry["pushed"] is True, name
        if entry["kind"] == "science":
            directory = entry["layer"].removeprefix("science/")
            _image, version, target, _p, _c = LAYERS[directory]
            repository = f"sci/{target}"
        else:
            image, version = entry["image"].split(":")
            repository = f"rel/{image}"
        assert entry["tags"] == [f"{pushed.repo}/{repository}:{version}",
                                 f"{pushed.repo}/{repository}:{version}-{pushed.build}"], name
        manifest = registry_manifest(pushed.repo, repository, version)
        assert manifest is not None, name
        assert entry["digest"] == manifest.digest, name
        assert entry["platforms"] == index_platforms(manifest), name
        assert sorted(entry["platforms"]) == sorted(PLATFORMS), name


def test_build_prints_tags_and_digest_per_image(pushed):
    for entry in pushed.report["targets"]:
        assert entry["digest"] in pushed.run.stdout, entry["target"]
        for tag in entry["tags"]:
            assert tag in pushed.run.stdout


def test_metadata_file_is_written(pushed):
    assert pushed.metadata_file.is_file(), "--metadata-file was not written"
    by_target = {entry["target"]: entry for entry in pushed.report["targets"]}
    assert set(pushed.metadata) >= set(by_target)
    for name, entry in by_target.items():
        assert pushed.metadata[name].get("containerimage.digest") == entry["digest"], name


# --- g. a rebuild with no change --------------------------------------------------------------

def test_no_change_rebuild_is_all_cached(pushed):
    run = build_ok(pushed.root, "--repo", pushed.repo, "--platform", ",".join(PLATFORMS), "--progress", "plain")
    steps, uncached = uncached_steps(run.stderr)
    assert steps >= 20, f"only {steps} instruction steps found in the log:\n{run.stderr[-3000:]}"
    assert uncached == [], f"not CACHED on a no-change rebuild: {uncached}"
    assert built_targets(report(pushed.root)) == built_targets(pushed.report)


# --- e. target selection ----------------------------------------------------------------------

def _closure(*names: str) -> set[str]:
    """Bake targets built when ``names`` (bake targets) are: they and the science layers they build on."""
    result = set()
    for name in names:
        result.add(name)
        directory = next((d for d in LAYERS if sci_target(d) == name), None)
        if directory is None:
            directory = FINALS[next(iv for iv in FINALS if rel_target(iv) == name)]
        result |= {sci_target(d) for d in chain(directory)}
    return result


@pytest.fixture(scope="module")
def local_catalogue(engine, tmp_path_factory):
    return make_offline_catalogue(tmp_path_factory.mktemp("select") / "catalogue"), new_namespace("select")


@pytest.mark.parametrize("names, expected", [
    (("offline-tools",), _closure("rel-offline-tools-1_0", "sci-tools-extra", "sci-tools")),
    (("offline-base:2.0",), _closure("rel-offline-base-2_0", "sci-base-2")),
    (("tools-extra",), _closure("sci-tools-extra")),
    (("sci-data",), _closure("sci-data")),
    (("rel-offline-base-1_0",), _closure("rel-offline-base-1_0")),
    (("data", "offline-base:1.0"), _closure("sci-data", "rel-offline-base-1_0", "sci-base")),
], ids=["image", "image:version", "science-target", "bake-target-sci", "bake-target-rel", "mixed"])
def test_target_selection(local_catalogue, names, expected):
    root, repo = local_catalogue
    build_ok(root, "--repo", repo, "--platform", "linux/amd64", "--progress", "quiet", *names)
    data = report(root)
    assert built_targets(data) == expected, f"{names}: built {sorted(built_targets(data))}"


def test_unknown_target_is_a_usage_error(local_catalogue):
    root, repo = local_catalogue
    run = bakegen(root, "build", "--repo", repo, "offline-tool")
    assert_no_traceback(run)
    assert run.returncode == 2, str(run)
    assert "offline-tool" in run.stderr and "offline-tools" in run.stderr, run  # with a did-you-mean


# --- b. --load --------------------------------------------------------------------------------

def _local_image(tag: str) -> dict | None:
    completed = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, text=True, timeout=60)
    return json.loads(completed.stdout)[0] if completed.returncode == 0 else None


def test_load_puts_the_image_into_the_local_store(local_catalogue):
    root, _repo = local_catalogue
    repo = new_namespace("load")  # nothing of this namespace is in the store yet
    floating = f"{repo}/rel/offline-data:1.0"
    assert _local_image(floating) is None
    build_ok(root, "--repo", repo, "--load", "--progress", "quiet", "offline-data:1.0")
    build_tag = next(t for e in report(root)["targets"] if e["target"] == "rel-offline-data-1_0" for t in e["tags"]
                     if t != floating)
    for tag in (floating, build_tag):
        image = _local_image(tag)
        assert image is not None, f"docker image inspect {tag} fails after bakegen build --load"
    env = dict(item.split("=", 1) for item in _local_image(floating)["Config"]["Env"])
    assert env["SCISERVER_IMAGE"] == build_tag.rsplit("/", 1)[-1]
    assert _local_image(f"{repo}/rel/offline-tools:1.0") is None, "an image that was not selected was loaded"
    assert registry_tags(repo, "rel/offline-data") == set(), "--load alone pushed to the registry"
