"""Settings that are not in the catalogue: registry prefix and default platforms.

Precedence: command line, then the environment (BAKEGEN_REPO), then ``bakegen.yaml`` in
the catalogue root, then built-in defaults.
"""
from __future__ import annotations

import difflib
import json
import os
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from . import references
from .errors import CatalogueError, UsageError, error
from .graph import DEFAULT_PLATFORMS
from .plan import Settings

DEFAULT_REPO = "compute.repo.sciserver.org"
CONFIG_FILE = "bakegen.yaml"


def load_settings(root: Path, repo: str | None = None) -> Settings:
    data = _read_config(root)
    chosen = repo or os.environ.get("BAKEGEN_REPO") or data.get("repo") or DEFAULT_REPO
    if not references.is_repo_prefix(chosen):
        source = "--repo" if repo else ("BAKEGEN_REPO" if os.environ.get("BAKEGEN_REPO") else CONFIG_FILE)
        raise UsageError(f"{source}: invalid registry prefix {chosen!r} (expected e.g. registry.example.org/team, "
                         "lower case, no trailing '/')")
    platforms = tuple(data.get("platforms") or DEFAULT_PLATFORMS)
    return Settings(repo=chosen, platforms=platforms)


def _read_config(root: Path) -> dict:
    path = root / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise CatalogueError([error(CONFIG_FILE, f"invalid YAML: {getattr(exc, 'problem', exc)}",
                                    mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise CatalogueError([error(CONFIG_FILE, "must be a mapping of settings (repo:, platforms:)", 1)])
    schema = json.loads(resources.files("bakegen").joinpath("schemas", "config.schema.json").read_text())
    known = sorted(schema["properties"])
    problems = []
    for key in sorted(set(data) - set(known)):
        hint = difflib.get_close_matches(str(key), known, n=1)
        problems.append(error(CONFIG_FILE, f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else
                                                                      f" (known keys: {', '.join(known)})")))
    for issue in jsonschema.Draft202012Validator(schema).iter_errors({k: v for k, v in data.items() if k in known}):
        where = ".".join(map(str, issue.absolute_path)) or "document"
        problems.append(error(CONFIG_FILE, f"{where}: {issue.message}"))
    platforms = data.get("platforms")
    for platform in platforms if isinstance(platforms, list) else ():
        if isinstance(platform, str) and not references.is_platform(platform):
            problems.append(error(CONFIG_FILE, f"invalid platform {platform!r}: write os/arch[/variant]"))
    repo = data.get("repo")
    if isinstance(repo, str) and not references.is_repo_prefix(repo):
        problems.append(error(CONFIG_FILE, f"repo: invalid registry prefix {repo!r} (expected e.g. "
                                           "registry.example.org/team, lower case, no trailing '/')"))
    if problems:
        raise CatalogueError(problems)
    return data
