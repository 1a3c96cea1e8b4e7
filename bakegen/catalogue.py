"""The catalogue on disk: science and compat layers, read and validated.

Loading collects every problem instead of stopping at the first one; the caller decides
whether to raise. Nothing here knows about the graph, git or bake.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema

from . import references
from .errors import Problem, error, warning

DESCRIPTOR = "sciserver-image.json"
DEFAULT_VERSION = "1.0"


@dataclass(frozen=True)
class ScienceLayer:
    directory: str  # name of the directory under science/
    image: str
    version: str
    target: str
    compat: str | None = None
    platforms: tuple[str, ...] | None = None
    args: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    dockerfile_text: str = field(default="", repr=False, compare=False)

    @property
    def path(self) -> str:
        return f"science/{self.directory}"

    @property
    def image_version(self) -> str:
        return f"{self.image}:{self.version}"


@dataclass(frozen=True)
class CompatLayer:
    directory: str
    includes: tuple[str, ...] = ()
    fragment: str = field(default="", repr=False, compare=False)

    @property
    def path(self) -> str:
        return f"compat/{self.directory}"


@dataclass(frozen=True)
class Catalogue:
    root: Path
    science: tuple[ScienceLayer, ...]
    compat: tuple[CompatLayer, ...]
    unloaded: frozenset[str] = frozenset()  # "science/x", "compat/y": present but invalid

    def compat_by_name(self) -> dict[str, CompatLayer]:
        return {layer.directory: layer for layer in self.compat}


@cache
def _schema(name: str) -> jsonschema.protocols.Validator:
    text = resources.files("bakegen").joinpath("schemas", f"{name}.schema.json").read_text()
    schema = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema)
    return validator_class(schema)


class DiskTree:
    """The catalogue's files on disk."""

    def __init__(self, root: Path):
        self.root = root

    def layers(self, kind: str) -> list[str]:
        directory = self.root / kind
        if not directory.is_dir():
            return []
        return sorted(c.name for c in directory.iterdir() if not c.name.startswith(".") and (c / DESCRIPTOR).is_file())

    def read(self, relative: str) -> bytes | None:
        path = self.root / relative
        return path.read_bytes() if path.is_file() else None

    def layers_without_descriptor(self, kind: str) -> list[str]:
        directory = self.root / kind
        if not directory.is_dir():
            return []
        return sorted(c.name for c in directory.iterdir() if not c.name.startswith(".")
                      and (c / "Dockerfile").is_file() and not (c / DESCRIPTOR).exists())


class MemoryTree:
    """Catalogue files held in memory (read from git at another revision)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def layers(self, kind: str) -> list[str]:
        names = set()
        for path in self.files:
            parts = path.split("/")
            if len(parts) == 3 and parts[0] == kind and parts[2] == DESCRIPTOR and not parts[1].startswith("."):
                names.add(parts[1])
        return sorted(names)

    def read(self, relative: str) -> bytes | None:
        return self.files.get(relative)


def load_catalogue(root: Path, tree: DiskTree | MemoryTree | None = None) -> tuple[Catalogue, list[Problem]]:
    """Read ``science/*`` and ``compat/*`` under ``root`` (sorted, direct children)."""
    tree = tree or DiskTree(root)
    problems: list[Problem] = []
    science, compat, unloaded = [], [], set()
    targets: dict[str, list] = {}
    for directory in tree.layers("science"):
        layer = _load_science(tree, directory, problems, targets)
        if layer is None:
            unloaded.add(f"science/{directory}")
        else:
            science.append(layer)
    problems.extend(_duplicate_targets(targets))
    for kind in ("science", "compat"):
        for directory in tree.layers_without_descriptor(kind) if isinstance(tree, DiskTree) else ():
            problems.append(warning(f"{kind}/{directory}", f"has a Dockerfile but no {DESCRIPTOR}, so it is "
                                                           "not part of the catalogue"))
    for directory in tree.layers("compat"):
        layer = _load_compat(tree, directory, problems)
        if layer is None:
            unloaded.add(f"compat/{directory}")
        else:
            compat.append(layer)
    catalogue = Catalogue(root=root, science=tuple(science), compat=tuple(compat), unloaded=frozenset(unloaded))
    return catalogue, problems


def _read_text(tree, relative: str) -> str | None:
    data = tree.read(relative)
    return None if data is None else data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _read_json(tree, shown: str, problems: list[Problem]):
    try:
        text = tree.read(shown).decode("utf-8-sig")  # a byte-order mark is harmless
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(error(shown, f"cannot read: {exc}"))
        return shown, None, ""
    duplicates: list[str] = []

    def pairs(items):
        seen = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        data = json.loads(text, parse_float=Decimal, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        problems.append(error(shown, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno))
        return shown, None, text
    for key in duplicates:
        problems.append(error(shown, f"key {key!r} is given twice", _key_line(text, key)))
    return shown, data, text


def _key_line(text: str, key: str) -> int | None:
    """Line of ``"key":``, preferring the top-level key to a nested one of the same name."""
    matches = list(re.finditer(r'"%s"\s*:' % re.escape(key), text))
    top = [m for m in matches if _depth(text, m.start()) == 1]
    match = (top or matches or [None])[0]
    return text.count("\n", 0, match.start()) + 1 if match else None


def _depth(text: str, position: int) -> int:
    """Nesting depth of ``{``/``[`` at ``position``, outside JSON strings."""
    depth, in_string, escaped = 0, False, False
    for char in text[:position]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return depth


def _schema_problems(name: str, shown: str, data, text: str) -> list[Problem]:
    problems = []
    validator = _schema(name)
    allowed = sorted(validator.schema.get("properties", {}))
    for issue in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        key = str(issue.absolute_path[0]) if issue.absolute_path else None
        line = _key_line(text, key) if key else None
        if issue.validator == "additionalProperties":
            for unknown in sorted(set(data) - set(allowed)):
                hint = difflib.get_close_matches(unknown, allowed, n=1)
                suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(allowed)})"
                problems.append(error(shown, f"unknown key {unknown!r}{suggestion}", _key_line(text, unknown)))
        elif issue.validator == "type" and key is not None and issue.schema.get("type") == "string" and isinstance(
            issue.instance, (int, Decimal)
        ) and not isinstance(issue.instance, bool):
            # nested values (args.X, platforms.N) name their own key, or none in a list
            where, last = ".".join(map(str, issue.absolute_path)), issue.absolute_path[-1]
            written = f'"{last}": "{issue.instance}"' if isinstance(last, str) else f'"{issue.instance}"'
            problems.append(error(
                shown,
                f"{where!r} must be a string, not a number: write {written}",
                line,
            ))
        elif issue.validator == "type" and not issue.absolute_path:
            problems.append(error(shown, "must be a JSON object ({...})", 1))
        else:
            where = ".".join(map(str, issue.absolute_path)) or "document"
            problems.append(error(shown, f"{where}: {_plain(issue)}", line))
    return problems


_JSON_TYPES = {str: "string", int: "number", Decimal: "number", float: "number", bool: "boolean",
               list: "array", dict: "object", type(None): "null"}


def _plain(issue: jsonschema.ValidationError) -> str:
    if issue.validator == "type":  # JSON's names for what was written, not Python's
        written = _JSON_TYPES.get(type(issue.instance), type(issue.instance).__name__)
        return f"must be of type {issue.validator_value}, not {written}"
    if issue.validator == "required":
        return issue.message.replace("is a required property", "is required")
    return issue.message


def _load_science(tree, directory: str, problems: list[Problem], targets: dict) -> ScienceLayer | None:
    shown, data, text = _read_json(tree, f"science/{directory}/{DESCRIPTOR}", problems)
    dockerfile_text = _read_text(tree, f"science/{directory}/Dockerfile")
    if data is None:  # still say what else is wrong with the directory
        if dockerfile_text is None:
            problems.append(error(f"science/{directory}/Dockerfile", "missing Dockerfile"))
        return None
    found = _schema_problems("science", shown, data, text)
    data = data if isinstance(data, dict) else {}

    def text_value(key: str, default=None):
        value = data.get(key, default)
        return value if isinstance(value, str) else None

    image, version, target = text_value("image"), text_value("version", DEFAULT_VERSION), text_value("target", directory)
    if image is not None and not references.is_name_component(image):
        found.append(error(shown, f"invalid image name {image!r}: use lower-case letters, digits and single "
                                  "separators ('.', '_', '-') as Docker requires", _key_line(text, "image")))
    if version is not None and not references.is_version(version):
        found.append(error(shown, f"invalid version {version!r}: use dot-separated numbers such as \"1.0\"",
                           _key_line(text, "version")))
    if target is not None:
        if references.is_name_component(target):
            targets.setdefault(target, []).append((shown, _key_line(text, "target") if "target" in data else None))
        else:
            origin = "target" if "target" in data else "target (the directory name)"
            found.append(error(shown, f"invalid {origin} {target!r}: use lower-case letters, digits and single "
                                      "separators ('.', '_', '-') as Docker requires",
                               _key_line(text, "target") if "target" in data else None))
    platforms = data.get("platforms")
    for platform in platforms if isinstance(platforms, list) else ():
        if isinstance(platform, str) and not references.is_platform(platform):
            found.append(error(shown, f"invalid platform {platform!r}: write os/arch[/variant], e.g. linux/arm64",
                               _key_line(text, "platforms")))
    if dockerfile_text is None:
        found.append(error(f"science/{directory}/Dockerfile", "missing Dockerfile"))
    problems.extend(found)
    if found:
        return None
    return ScienceLayer(
        directory=directory,
        image=image,
        version=version,
        target=target,
        compat=data.get("compat"),
        platforms=tuple(platforms) if platforms else None,
        args=tuple(sorted(data.get("args", {}).items())),
        description=data.get("description"),
        dockerfile_text=dockerfile_text,
    )


def _duplicate_targets(targets: dict) -> list[Problem]:
    problems = []
    for target, owners in sorted(targets.items()):
        if len(owners) > 1:
            for shown, line in owners:
                others = ", ".join(o.rsplit("/", 1)[0] for o, _ in owners if o != shown)
                problems.append(error(shown, f"duplicate target {target!r}: also used by {others}", line))
    return problems


def _load_compat(tree, directory: str, problems: list[Problem]) -> CompatLayer | None:
    shown, data, text = _read_json(tree, f"compat/{directory}/{DESCRIPTOR}", problems)
    fragment = _read_text(tree, f"compat/{directory}/Dockerfile")
    if data is None:  # still say what else is wrong with the directory
        if fragment is None:
            problems.append(error(f"compat/{directory}/Dockerfile", "missing Dockerfile (a fragment with no FROM)"))
        return None
    found = _schema_problems("compat", shown, data, text)
    problems.extend(found)
    if fragment is None:
        problems.append(error(f"compat/{directory}/Dockerfile", "missing Dockerfile (a fragment with no FROM)"))
        return None
    if found:
        return None
    return CompatLayer(directory=directory, includes=tuple(data.get("includes", ())), fragment=fragment)
