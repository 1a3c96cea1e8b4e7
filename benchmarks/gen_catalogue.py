#!/usr/bin/env python3
"""Generate a synthetic SciServer-style catalogue for bakegen benchmarks.

    python benchmarks/gen_catalogue.py DIR -n 1000 [--seed 1] [--compat 20] [--no-git]

writes ``DIR/science/<dir>/{Dockerfile,sciserver-image.json,requirements.txt}`` for N science
layers and ``DIR/compat/<dir>/{Dockerfile,sciserver-image.json,files...}`` for ~20 compat
layers, then (unless --no-git) makes DIR a fresh git repository with one commit whose hash
depends only on the arguments (fixed author, committer and dates).

Shape of the catalogue (all choices come from ``random.Random(seed)``):

* images ``imgNNNN``, each with one or more versions (1.0 -> 2.0 -> 3.0: a version chain, the
  first layer of version k+1 builds FROM the final layer of version k);
* each image:version is a chain of 1-4 layers (``FROM .../sci/<previous>:<version>``); its top
  layer is the final and names a compat layer;
* the first layer of a new image either builds FROM a public base image or forks from an
  existing science layer of another image (so popular layers get many children);
* a few layers are multi-stage with a second science parent (``COPY --from``);
* FROM references are written in several styles: plain registry path, another registry, the
  bare ``<target>:<version>`` form, ``ARG REPO=...`` / ``FROM ${REPO}/sci/...``, a version
  ARG in the tag, and an ARG without default set through the descriptor's ``args``;
* compat layers form a DAG of nested includes (diamonds included, no cycles), each with a
  Dockerfile fragment and three files (about 2 KB in all): an executable ``startup.sh`` that
  every layer has, so later layers of a chain overwrite it, and two files in subdirectories.

Also importable: ``generate(root, n, seed=1, compat=20, git=True) -> dict`` (summary counts).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

REGISTRY = "compute.repo.sciserver.org"
OTHER_REGISTRY = "ghcr.io/sciserver-bench"
PUBLIC_BASES = ("ubuntu:22.04", "ubuntu:24.04", "debian:bookworm-slim", "python:3.11-slim-bookworm",
                "rockylinux:9", "nvidia/cuda:12.4.1-runtime-ubuntu22.04")
PACKAGES = ("numpy", "scipy", "pandas", "astropy", "xarray", "dask", "matplotlib", "scikit-learn",
            "h5py", "netcdf4", "healpy", "pyarrow", "sympy", "numba", "statsmodels", "seaborn",
            "bokeh", "zarr", "fitsio", "emcee")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bakegen bench", "GIT_AUTHOR_EMAIL": "bench@bakegen.invalid",
    "GIT_COMMITTER_NAME": "bakegen bench", "GIT_COMMITTER_EMAIL": "bench@bakegen.invalid",
    "GIT_AUTHOR_DATE": "1700000000 +0000", "GIT_COMMITTER_DATE": "1700000000 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)


def _filler(rng: random.Random, lines: int, prefix: str = "# ") -> str:
    words = ("layer", "build", "cache", "science", "python", "conda", "kernel", "notebook", "volume",
             "workspace", "compute", "image", "tools", "runtime", "library", "module", "config")
    return "".join(prefix + " ".join(rng.choice(words) for _ in range(rng.randint(6, 12))) + "\n"
                   for _ in range(lines))


# ---------------------------------------------------------------------------------- compat


def _compat_names(count: int) -> list[str]:
    fixed = ["core", "users", "env", "common"]
    names = fixed[:count]
    names += [f"mid-{i:02d}" for i in range(max(0, min(count, count // 2) - len(names)))]
    names += [f"ui-{i:02d}" for i in range(count - len(names))]
    return names


def _compat_includes(rng: random.Random, names: list[str]) -> dict[str, list[str]]:
    """Includes only point at earlier names: a DAG. core <- users, env <- common is a diamond;
    every later layer includes one to three earlier ones, so diamonds abound."""
    includes: dict[str, list[str]] = {}
    for index, name in enumerate(names):
        if index == 0:
            includes[name] = []
        elif name in ("users", "env"):
            includes[name] = [names[0]]
        elif name == "common":
            includes[name] = [n for n in ("users", "env") if n in names]
        else:
            earlier = names[:index]
            weights = [3 if n == "common" else 2 if n.startswith("mid-") else 1 for n in earlier]
            chosen: list[str] = []
            for _ in range(rng.randint(1, min(3, len(earlier)))):
                pick = rng.choices(earlier, weights)[0]
                if pick not in chosen:
                    chosen.append(pick)
            includes[name] = chosen
    return includes


def _write_compat(rng: random.Random, root: Path, name: str, includes: list[str]) -> None:
    directory = root / "compat" / name
    descriptor = {"includes": includes, "description": f"synthetic compat layer {name}"}
    if not includes:
        descriptor.pop("includes")
    _write(directory / "sciserver-image.json", json.dumps(descriptor, indent=2) + "\n")
    script = "startup.sh"  # the same name in every layer: later layers of a chain overwrite it
    config = f"etc/{name}/settings.conf"
    readme = f"share/{name}.txt"
    fragment = (
        f"# compat/{name}: synthetic interface fragment (no FROM: appended to the science image)\n"
        f"COPY {script} /opt/sciserver/startup.sh\n"
        f"COPY etc/{name}/ /etc/{name}/\n"
        f"COPY {readme} /usr/share/doc/sciserver/{name}.txt\n"
        f"ENV SCISERVER_{name.upper().replace('-', '_')}=1\n"
        "RUN chmod 0755 /opt/sciserver/*.sh \\\n"
        f" && echo {name} >> /etc/sciserver-compat\n"
    )
    _write(directory / "Dockerfile", fragment)
    _write(directory / script, "#!/bin/sh\nset -eu\n" + _filler(rng, 10) + f'exec "$@"\n', 0o755)
    _write(directory / config, _filler(rng, 10, prefix="key = "))
    _write(directory / readme, _filler(rng, 10, prefix=""))


# ---------------------------------------------------------------------------------- science


def _reference(rng: random.Random, parent: dict, style: str) -> tuple[list[str], str, dict[str, str]]:
    """(lines before FROM, FROM argument, descriptor args) for a science parent."""
    target, version = parent["target"], parent["version"]
    if style == "arg-repo":
        return [f"ARG REPO={REGISTRY}"], "${REPO}/sci/%s:%s" % (target, version), {}
    if style == "arg-version":
        return [f"ARG BASE_VERSION={version}"], f"{REGISTRY}/sci/{target}:${{BASE_VERSION}}", {}
    if style == "arg-descriptor":
        return ["ARG REGISTRY"], "${REGISTRY}/sci/%s:%s" % (target, version), {"REGISTRY": REGISTRY}
    if style == "other-registry":
        return [], f"{OTHER_REGISTRY}/sci/{target}:{version}", {}
    if style == "bare":
        return [], f"{target}:{version}", {}
    return [], f"{REGISTRY}/sci/{target}:{version}", {}


STYLES = ("plain", "arg-repo", "arg-version", "arg-descriptor", "other-registry", "bare")
STYLE_WEIGHTS = (60, 12, 8, 8, 6, 6)


def _write_science(rng: random.Random, root: Path, layer: dict, parent: dict | None, second: dict | None,
                   compat: str | None) -> None:
    directory = root / "science" / layer["dir"]
    descriptor: dict = {"image": layer["image"], "version": layer["version"]}
    if layer["target"] != layer["dir"]:
        descriptor["target"] = layer["target"]
    if compat:
        descriptor["compat"] = compat
    lines = [f"# science/{layer['dir']}: synthetic layer {layer['image']}:{layer['version']}"]
    args: dict[str, str] = {}
    if parent is None:
        base = rng.choice(PUBLIC_BASES)
        style = "public"
        head, reference = [], base
    else:
        style = rng.choices(STYLES, STYLE_WEIGHTS)[0]
        head, reference, args = _reference(rng, parent, style)
    if second is not None:
        head2, reference2, args2 = _reference(rng, second, "plain")
        lines += head + head2 + [f"FROM {reference2} AS extra", "", f"FROM {reference}"]
        args.update(args2)
    else:
        lines += head + [f"FROM {reference}"]
    lines.append("")
    lines.append("ARG DEBIAN_FRONTEND=noninteractive")
    packages = rng.sample(PACKAGES, rng.randint(2, 5))
    lines.append("RUN python3 -m pip install --no-cache-dir \\")
    lines += [f"      {p}=={rng.randint(1, 3)}.{rng.randint(0, 20)} \\" for p in packages[:-1]]
    lines.append(f"      {packages[-1]}=={rng.randint(1, 3)}.{rng.randint(0, 20)}")
    lines.append("COPY requirements.txt /opt/requirements/" + layer["dir"] + ".txt")
    if second is not None:
        lines.append(f"COPY --from=extra /opt/lib /opt/lib-{second['target']}")
    lines.append(_filler(rng, rng.randint(3, 8)).rstrip("\n"))
    lines.append(f"LABEL org.sciserver.bench.layer={layer['dir']}")
    if args:
        descriptor["args"] = args
    if rng.random() < 0.2:
        descriptor["description"] = f"synthetic science layer {layer['dir']} ({style})"
    _write(directory / "Dockerfile", "\n".join(lines) + "\n")
    _write(directory / "sciserver-image.json", json.dumps(descriptor, indent=2) + "\n")
    _write(directory / "requirements.txt", "".join(f"{p}\n" for p in packages))


def _plan_layers(rng: random.Random, n: int) -> list[dict]:
    """The science layers in creation order (parents always earlier): dicts with dir, target,
    image, version, parent index, second parent index, final flag."""
    layers: list[dict] = []
    image_index = 0
    while len(layers) < n:
        image = f"img{image_index:04d}"
        image_index += 1
        versions = 1
        while versions < 4 and rng.random() < 0.3:
            versions += 1
        previous_final: int | None = None
        for major in range(1, versions + 1):
            if len(layers) >= n:
                break
            version = f"{major}.0"
            length = min(rng.choices((1, 2, 3, 4), (30, 30, 25, 15))[0], n - len(layers))
            for position in range(length):
                index = len(layers)
                if position > 0:
                    parent = index - 1
                elif previous_final is not None:
                    parent = previous_final  # version chain: 2.0 builds on 1.0's final
                elif layers and rng.random() < 0.6:
                    # fork: prefer recent layers, and now and then a popular early one
                    if rng.random() < 0.3:
                        parent = rng.randrange(min(len(layers), 25))
                    else:
                        parent = rng.randrange(max(0, len(layers) - 200), len(layers))
                else:
                    parent = None
                second = None
                if parent is not None and rng.random() < 0.05 and index > 1:
                    candidate = rng.randrange(index)
                    if layers[candidate]["image"] != image and candidate != parent:
                        second = candidate
                directory = f"{image}-v{major}" + (f"-l{position + 1}" if length > 1 else "")
                target = directory if rng.random() > 0.05 else f"t-{directory}"
                layers.append({"dir": directory, "target": target, "image": image, "version": version,
                               "parent": parent, "second": second, "final": position == length - 1})
            previous_final = len(layers) - 1
    return layers


def generate(root: Path, n: int, seed: int = 1, compat: int = 20, git: bool = True) -> dict:
    root = Path(root)
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        raise SystemExit(f"{root}: not empty")
    names = _compat_names(compat)
    includes = _compat_includes(rng, names)
    for name in names:
        _write_compat(rng, root, name, includes[name])
    # finals use the upper compat layers mostly (the ones with the deepest include chains)
    compat_choices = names[len(names) // 2:] or names
    layers = _plan_layers(rng, n)
    finals = 0
    for layer in layers:
        parent = layers[layer["parent"]] if layer["parent"] is not None else None
        second = layers[layer["second"]] if layer["second"] is not None else None
        chosen = rng.choice(compat_choices) if layer["final"] else None
        finals += layer["final"]
        _write_science(rng, root, layer, parent, second, chosen)
    _write(root / ".gitignore", "docker-bake.hcl\ndocker-bake.json\n")
    if git:
        env = {**os.environ, **GIT_ENV}
        run = lambda *args: subprocess.run(["git", *args], cwd=root, env=env, check=True,  # noqa: E731
                                           stdout=subprocess.DEVNULL)
        run("init", "-q", "-b", "main")
        run("add", "-A")
        run("commit", "-q", "-m", f"synthetic catalogue: {n} science layers, seed {seed}")
    return {"science": len(layers), "finals": finals, "compat": len(names),
            "images": len({l["image"] for l in layers}),
            "image_versions": len({(l["image"], l["version"]) for l in layers}),
            "forks": sum(1 for l in layers if l["parent"] is not None and l["dir"].endswith(("-v1", "-v1-l1"))),
            "multi_parent": sum(1 for l in layers if l["second"] is not None)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("-n", "--layers", type=int, default=1000, help="science layers (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compat", type=int, default=20, help="compat layers (default 20)")
    parser.add_argument("--no-git", action="store_true", help="do not make it a git repository")
    options = parser.parse_args(argv)
    summary = generate(options.directory, options.layers, options.seed, options.compat, not options.no_git)
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
