"""Docker naming rules: image references, repository names, tags, versions, bake names.

Parsing and normalisation of references is delegated to docker-image-py, which follows
distribution/reference, the grammar BuildKit uses when it matches named contexts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from docker_image import reference as _reference

# One path component of a repository name (distribution/reference, lower case only).
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_PLATFORM = re.compile(r"[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?")
_BAKE_NAME_INVALID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference, normalised (``ubuntu`` -> ``docker.io/library/ubuntu``)."""

    name: str
    tag: str | None
    digest: str | None

    @property
    def domain(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def path(self) -> str:
        return self.name.split("/", 1)[1]

    @property
    def familiar(self) -> str:
        """The short form BuildKit uses as the key of a named context."""
        name = self.name
        if name.startswith("docker.io/"):
            name = name[len("docker.io/"):]
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/"):]
        if self.tag and not (self.tag == "latest" and not self.digest):
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name


@lru_cache(maxsize=None)
def parse_image_ref(text: str) -> ImageRef:
    """Parse ``text`` as Docker does; raise ValueError with a readable reason."""
    if text != text.strip() or not text:
        raise ValueError(f"invalid image reference {text!r}")
    try:
        parsed = _reference.Reference.parse_normalized_named(text)
    except Exception as exc:  # docker-image-py raises its own hierarchy
        raise ValueError(f"invalid image reference {text!r}: {exc}") from None
    name = parsed["name"]
    # Only the repository path must be lower case; a registry host name may use capitals
    # (distribution/reference checks the remote name only).
    if name.split("/", 1)[-1] != name.split("/", 1)[-1].lower():
        raise ValueError(f"invalid image reference {text!r}: repository names must be lower case")
    return ImageRef(name=name, tag=parsed["tag"], digest=parsed["digest"])


def is_name_component(value: str) -> bool:
    return bool(_COMPONENT.fullmatch(value))


def is_version(value: str) -> bool:
    return bool(_VERSION.fullmatch(value)) and bool(_TAG.fullmatch(value))


def is_platform(value: str) -> bool:
    return bool(_PLATFORM.fullmatch(value))


def version_key(version: str) -> tuple[int, ...]:
    """Numeric order of dot-separated versions: 9.0 < 10.0, 2.9 < 2.10."""
    return tuple(int(part) for part in version.split("."))


def is_repo_prefix(value: str) -> bool:
    """A registry prefix such as ``reg.example.org/team`` (what tags are built under)."""
    try:
        parse_image_ref(f"{value}/sci/x:1")
    except ValueError:
        return False
    return not value.endswith("/")


def bake_name(*parts: str) -> str:
    """A bake target or group name: only ``[A-Za-z0-9_-]``, dots become underscores."""
    return _BAKE_NAME_INVALID.sub("_", "-".join(parts))
