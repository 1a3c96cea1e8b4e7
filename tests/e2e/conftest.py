"""End-to-end fixtures: the real engine, offline catalogues in git, a private registry namespace.

Every test here talks to the engine started by ``scripts/engine up`` (dockerd with the
containerd image store, buildx, qemu for arm64, a registry on 127.0.0.1:5000). Nothing is
ever skipped: an engine or registry that does not answer is a failure that says
``run scripts/engine up``.

Helpers are plain functions (importable from ``tests.e2e.conftest``); fixtures build on them.
The registry is only ever reached on 127.0.0.1.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import GIT_ENV, commit_all, git, init_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
OFFLINE = REPO_ROOT / "examples" / "offline"
OFFLINE_BASE = REPO_ROOT / "scripts" / "offline-base"
REGISTRY = "127.0.0.1:5000"
REGISTRY_URL = f"http://{REGISTRY}"
ENGINE_HINT = "run scripts/engine up"
PLATFORMS = ("linux/amd64", "linux/arm64")
BUILD_TIMEOUT = 600

# The offline catalogue, as its README describes it.
# science dir -> (image, version, target, parent dir or None, compat or None)
LAYERS = {
    "base": ("offline-base", "1.0", "base", None, "common"),
    "base-2": ("offline-base", "2.0", "base-2", "base", "jupyter"),
    "tools": ("offline-tools", "1.0", "tools", "base-2", None),
    "tools-extra": ("offline-tools", "1.0", "tools-extra", "tools", "app"),
    "data": ("offline-data", "1.0", "data", "base-2", "jupyter"),
}
# final science dir of each image:version
FINALS = {"offline-base:1.0": "base", "offline-base:2.0": "base-2", "offline-tools:1.0": "tools-extra",
          "offline-data:1.0": "data"}
COMPAT_CHAINS = {"common": ("common",), "jupyter": ("common", "jupyter"), "app": ("common", "jupyter", "app")}
# Commit dates used by the tests: clearly not the wall clock.
DATE1 = "2024-05-06T07:08:09+00:00"
DATE2 = "2024-06-07T08:09:10+00:00"
DATE3 = "2024-07-08T09:10:11+00:00"


def chain(directory: str) -> list[str]:
    """The science dirs ``directory`` is built on, root first, itself last."""
    result = []
    current: str | None = directory
    while current is not None:
        result.append(current)
        current = LAYERS[current][3]
    return result[::-1]


def descendants(directory: str) -> set[str]:
    found = {directory}
    changed = True
    while changed:
        changed = False
        for name, (_i, _v, _t, parent, _c) in LAYERS.items():
            if parent in found and name not in found:
                found.add(name)
                changed = True
    return found


def sci_target(directory: str) -> str:
    return f"sci-{LAYERS[directory][2]}"


def rel_target(image_version: str) -> str:
    image, version = image_version.split(":")
    return f"rel-{image}-{version.replace('.', '_')}"


# --- the engine ---------------------------------------------------------------------------------

def _engine_problem() -> str | None:
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker info: {exc}"
    if info.returncode != 0 or not info.stdout.strip():
        return f"docker info failed: {(info.stderr or info.stdout).strip()[-300:]}"
    try:
        with urllib.request.urlopen(f"{REGISTRY_URL}/v2/", timeout=10) as response:
            if response.status != 200:
                return f"registry {REGISTRY_URL}/v2/ answered {response.status}"
    except (OSError, urllib.error.URLError) as exc:
        return f"registry {REGISTRY_URL}/v2/ does not answer: {exc}"
    return None


@pytest.fixture(scope="session")
def engine():
    """Fails (never skips) every e2e test when the engine or the registry is down."""
    problem = _engine_problem()
    if problem is not None:
        pytest.fail(f"the real engine is needed: {problem}; {ENGINE_HINT}", pytrace=False)
    return REGISTRY


_NAMESPACES: list[str] = []


def new_namespace(label: str = "e2e") -> str:
    """A registry prefix no other run uses: ``127.0.0.1:5000/e2e-<random>``."""
    name = f"e2e-{label}-{uuid.uuid4().hex[:10]}" if label != "e2e" else f"e2e-{uuid.uuid4().hex[:12]}"
    _NAMESPACES.append(name)
    return f"{REGISTRY}/{name}"


@pytest.fixture(scope="session", autouse=True)
def _untag_local_images():
    """Pushes and loads also put the images into the local image store. With
    BAKEGEN_E2E_CLEANUP=1 ours are untagged at the end; not by default, because removing
    images from the containerd store while someone else builds on the same engine has been
    seen to go with broken BuildKit cache records ("snapshot ... does not exist")."""
    yield
    if not _NAMESPACES or os.environ.get("BAKEGEN_E2E_CLEANUP") != "1":
        return
    listed = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                            text=True, timeout=120)
    prefixes = tuple(f"{REGISTRY}/{name}/" for name in _NAMESPACES)
    ours = [line for line in listed.stdout.splitlines() if line.startswith(prefixes)]
    for start in range(0, len(ours), 50):
        subprocess.run(["docker", "image", "rm", "--force", *ours[start:start + 50]], capture_output=True,
                       timeout=300)


# --- running bakegen ----------------------------------------------------------------------------

@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # assertion messages: what bakegen said
        tail = "\n".join(self.stderr.splitlines()[-60:])
        return (f"bakegen {' '.join(self.args)} -> exit {self.returncode}\n--- stdout ---\n{self.stdout[-3000:]}\n"
                f"--- stderr (last 60 lines) ---\n{tail}")


def bakegen_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("BAKEGEN_REPO", "SOURCE_DATE_EPOCH")}
    env.update(GIT_ENV)
    env.update(extra or {})
    return env


def bakegen(root: Path, *args, env: dict | None = None, timeout: int = BUILD_TIMEOUT) -> Run:
    """The installed console script, in a subprocess, in ``root``."""
    executable = shutil.which("bakegen")
    assert executable, "the bakegen console script is not on PATH (pip install -e .)"
    argv = [str(a) for a in args]
    completed = subprocess.run([executable, *argv], cwd=root, env=bakegen_env(env), capture_output=True, text=True,
                               timeout=timeout)
    return Run(argv, completed.returncode, completed.stdout, completed.stderr)


def assert_no_traceback(run: Run) -> None:
    assert "Traceback (most recent call last)" not in run.stdout + run.stderr, str(run)


# dockerd 26 (containerd store) + buildx 0.13 push every tag twice: BuildKit's exporter, then
# "pushing ... with docker", whose containerd pusher PUTs the child manifests to the tag while it
# HEADs the same tag; registry 2.8 (filesystem driver) rewrites the tag link in place, and a HEAD
# that reads it mid-write gets 500 "invalid checksum digest format". Seen in ~10-20% of push builds.
REGISTRY_RACE = re.compile(r"unexpected status from HEAD request to http://127\.0\.0\.1:5000/v2/\S+/manifests/\S+: "
                           r"500 Internal Server Error")
RETRIES = 2
# What BuildKit says when its cache changes under a running build (a concurrent prune or image rm).
ENGINE_TROUBLE = re.compile(r"failed to get state for index \d+|snapshot \S+ does not exist|failed to commit \S+ to \S+")


def build_ok(root: Path, *args, env: dict | None = None) -> Run:
    """``bakegen build ARGS`` must succeed. A push that fails only on the registry race above is
    retried (same plan, same build id), with a warning in the test summary."""
    run = bakegen(root, "build", *args, env=env)
    for _attempt in range(RETRIES):
        if not (run.returncode == 1 and "--push" in args and REGISTRY_RACE.search(run.stderr)):
            break
        last = [line for line in run.stderr.splitlines() if line.startswith("bakegen:")]
        warnings.warn(f"registry race on push, retrying bakegen build: {last[-1] if last else run.stderr[-300:]}",
                      stacklevel=2)
        run = bakegen(root, "build", *args, env=env)
    assert_no_traceback(run)
    hint = ""
    if ENGINE_TROUBLE.search(run.stderr):
        hint = ("BuildKit's cache lost a snapshot under this build: was the cache pruned or were images removed "
                "meanwhile (benchmarks/bench_build.py runs docker buildx prune -af)? Run the e2e tests alone.\n")
    assert run.returncode == 0, hint + str(run)
    return run


def report(root: Path) -> dict:
    path = root / ".bakegen" / "build-report.json"
    assert path.is_file(), f"no build report at {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def built_targets(data: dict) -> set[str]:
    return {entry["target"] for entry in data["targets"]}


# --- catalogues in git --------------------------------------------------------------------------

# One value per test session, baked into the root layer's environment: every step of the
# session's builds has cache keys no earlier session (nor anyone else's build of examples/offline)
# has used, so each session really builds, arm64 steps under qemu included, once, and a cache
# record broken by an earlier run cannot fail it. Within the session the cache is shared.
SESSION_SALT = os.environ.get("BAKEGEN_E2E_SALT") or uuid.uuid4().hex[:16]


def make_offline_catalogue(destination: Path, date: str = DATE1, salt: str | None = SESSION_SALT) -> Path:
    """examples/offline copied to ``destination`` (no staged files), busybox in the root layer,
    the session salt as ``ENV BAKEGEN_E2E_SALT`` after the root's ``FROM scratch`` (``salt=None``:
    the example unchanged), committed once as a new git repository."""
    shutil.copytree(OFFLINE, destination, symlinks=True,
                    ignore=shutil.ignore_patterns(".bakegen", "docker-bake.*", "busybox-*", "__pycache__"))
    if salt:
        dockerfile = destination / "science" / "base" / "Dockerfile"
        text = dockerfile.read_text(encoding="utf-8")
        assert "\nFROM scratch\n" in text, "examples/offline/science/base/Dockerfile no longer starts FROM scratch"
        dockerfile.write_text(text.replace("\nFROM scratch\n", f"\nFROM scratch\nENV BAKEGEN_E2E_SALT={salt}\n", 1),
                              encoding="utf-8")
    completed = subprocess.run([str(OFFLINE_BASE), str(destination / "science" / "base")], capture_output=True,
                               text=True, timeout=900)
    assert completed.returncode == 0, f"scripts/offline-base failed:\n{completed.stderr}"
    for arch in ("amd64", "arm64"):
        assert (destination / "science" / "base" / f"busybox-{arch}").is_file()
    return init_repo(destination, date=date, message="offline catalogue")


def commit(root: Path, message: str, date: str) -> None:
    commit_all(root, message, date)


def commit_time(root: Path) -> str:
    return git(root, "log", "-1", "--format=%ct")


def build_id(root: Path) -> str:
    return f"{git(root, 'rev-list', '--count', 'HEAD')}-{git(root, 'rev-parse', '--short', 'HEAD')}"


# --- the registry -------------------------------------------------------------------------------

MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])


def _path(repo: str, name: str) -> str:
    """``127.0.0.1:5000/e2e-x`` + ``sci/base`` -> ``e2e-x/sci/base``."""
    assert repo.startswith(REGISTRY + "/"), repo
    return f"{repo[len(REGISTRY) + 1:]}/{name}"


def registry_tags(repo: str, name: str) -> set[str]:
    """Tags of ``<repo>/<name>`` (``name`` like ``sci/base``); empty when the repository is unknown."""
    url = f"{REGISTRY_URL}/v2/{_path(repo, name)}/tags/list"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return set(json.loads(response.read()).get("tags") or ())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return set()
        raise


@dataclass(frozen=True)
class Manifest:
    digest: str
    raw: bytes
    media_type: str

    @property
    def json(self) -> dict:
        return json.loads(self.raw)


def registry_manifest(repo: str, name: str, reference: str) -> Manifest | None:
    """The raw manifest (index) bytes and digest of ``<repo>/<name>:<reference>``; None if absent."""
    request = urllib.request.Request(f"{REGISTRY_URL}/v2/{_path(repo, name)}/manifests/{reference}",
                                     headers={"Accept": MANIFEST_TYPES})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return Manifest(response.headers["Docker-Content-Digest"], raw, response.headers["Content-Type"])
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def imagetools_raw(reference: str) -> bytes:
    completed = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--raw", reference], capture_output=True,
                               timeout=120)
    assert completed.returncode == 0, f"imagetools inspect --raw {reference}: {completed.stderr.decode()}"
    return completed.stdout


def image_configs(reference: str) -> dict[str, dict]:
    """Platform -> image config (``imagetools inspect --format '{{json .Image}}'``)."""
    completed = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Image}}", reference],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, f"imagetools inspect {reference}: {completed.stderr}"
    data = json.loads(completed.stdout)
    if "config" in data and "architecture" in data:  # a single-platform image
        return {f"{data['os']}/{data['architecture']}": data}
    return data


def index_platforms(manifest: Manifest) -> dict[str, str]:
    """Platform -> manifest digest of an index, attestation manifests left out."""
    result = {}
    for entry in manifest.json.get("manifests", []):
        platform = entry.get("platform", {})
        if platform.get("os") == "unknown":
            continue
        name = "/".join(filter(None, (platform.get("os"), platform.get("architecture"), platform.get("variant"))))
        result[name] = entry["digest"]
    return result


def all_tags(repo: str, build: str) -> dict[str, tuple[str, str]]:
    """Every tag a full build ``build`` (N-H) of the offline catalogue publishes:
    ``sci/base:1.0`` -> (``sci/base``, ``1.0``), ..."""
    tags = {}
    for directory, (image, version, target, _parent, _compat) in LAYERS.items():
        for tag in (version, f"{version}-{build}"):
            tags[f"sci/{target}:{tag}"] = (f"sci/{target}", tag)
    for image_version in FINALS:
        image, version = image_version.split(":")
        for tag in (version, f"{version}-{build}"):
            tags[f"rel/{image}:{tag}"] = (f"rel/{image}", tag)
    return tags


def snapshot(repo: str, names: list[str]) -> dict[str, Manifest | None]:
    """``sci/base:1.0``-style names -> what the registry holds under them now."""
    result = {}
    for name in names:
        repository, tag = name.rsplit(":", 1)
        result[name] = registry_manifest(repo, repository, tag)
    return result


def floating_names() -> list[str]:
    names = [f"sci/{target}:{version}" for (_i, version, target, _p, _c) in LAYERS.values()]
    names += [f"rel/{iv.split(':')[0]}:{iv.split(':')[1]}" for iv in FINALS]
    return names


# --- reading files out of pushed images ---------------------------------------------------------

def extract(images: dict[str, str], paths: list[str], destination: Path,
            platforms: tuple[str, ...] = PLATFORMS) -> dict[str, Path]:
    """Copy ``paths`` out of each image (``label -> reference``) for every platform, in one
    ``docker buildx build --output type=local``. Returns platform -> directory holding
    ``<label>/<path>``."""
    context = destination / "context"
    context.mkdir(parents=True, exist_ok=True)
    lines = ["FROM scratch"]
    for label, reference in images.items():
        for path in paths:
            target = f"/{label}{path}" + ("/" if path.endswith("/") else "")
            lines.append(f"COPY --from={reference} {path} {target}")
    (context / "Dockerfile").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = destination / "out"
    completed = subprocess.run(
        ["docker", "buildx", "build", "--progress", "plain", "--platform", ",".join(platforms),
         "--output", f"type=local,dest={out}", str(context)],
        capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )
    assert completed.returncode == 0, f"extracting {paths} from {images} failed:\n{completed.stderr[-4000:]}"
    if len(platforms) == 1:
        return {platforms[0]: out}
    return {platform: out / platform.replace("/", "_") for platform in platforms}


def elf_machine(path: Path) -> str:
    """``x86_64`` / ``aarch64`` from the ELF header of ``path``."""
    data = path.read_bytes()[:20]
    assert data[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return {0x3E: "x86_64", 0xB7: "aarch64"}.get(data[18], hex(data[18]))


# --- build logs ---------------------------------------------------------------------------------

_HEADER = re.compile(r"^#(?P<step>\d+) \[(?P<label>[^\]]*)\] (?P<what>.*)")
_INSTRUCTION = re.compile(r"\b\d+/\d+$")


def uncached_steps(log: str) -> tuple[int, list[str]]:
    """(number of Dockerfile instruction steps, those that BuildKit did not report CACHED) of a
    plain-progress log."""
    steps: dict[str, str] = {}
    cached: set[str] = set()
    for line in log.splitlines():
        header = _HEADER.match(line)
        if header and _INSTRUCTION.search(header.group("label")):
            steps.setdefault(header.group("step"), f"[{header.group('label')}] {header.group('what')}")
            continue
        match = re.match(r"^#(\d+) CACHED\s*$", line)
        if match:
            cached.add(match.group(1))
    return len(steps), [text for step, text in sorted(steps.items(), key=lambda kv: int(kv[0]))
                        if step not in cached]


# --- shared catalogue fixture -------------------------------------------------------------------

@dataclass
class Pushed:
    """An offline catalogue built and pushed for both platforms into its own namespace."""

    root: Path
    repo: str
    build: str  # N-H
    commit_time: str
    run: Run
    report: dict
    metadata: dict
    metadata_file: Path


def build_and_push(tmp: Path, label: str, *extra: str) -> Pushed:
    root = make_offline_catalogue(tmp / "catalogue")
    repo = new_namespace(label)
    metadata_file = tmp / "metadata.json"
    run = build_ok(root, "--repo", repo, "--push", "--platform", ",".join(PLATFORMS), "--progress", "plain",
                   "--metadata-file", metadata_file, *extra)
    metadata = json.loads(metadata_file.read_text(encoding="utf-8")) if metadata_file.is_file() else {}
    return Pushed(root, repo, build_id(root), commit_time(root), run, report(root), metadata, metadata_file)
