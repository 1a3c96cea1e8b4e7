"""bakegen.config: registry prefix and default platforms, with their precedence."""
from __future__ import annotations

import pytest

from bakegen.config import DEFAULT_REPO, load_settings
from bakegen.errors import CatalogueError, UsageError
from tests.support import write_tree


@pytest.fixture
def root(tmp_path):
    return write_tree(tmp_path / "cat", {"README.md": "x\n"})


def test_default(root):
    settings = load_settings(root)
    assert (settings.repo, settings.platforms) == (DEFAULT_REPO, ("linux/amd64",))
    assert DEFAULT_REPO == "compute.repo.sciserver.org"


def test_precedence(root, monkeypatch):
    write_tree(root, {"bakegen.yaml": "repo: yaml.example.org/team\nplatforms: [linux/arm64]\n"})
    assert load_settings(root).repo == "yaml.example.org/team"
    assert load_settings(root).platforms == ("linux/arm64",)
    monkeypatch.setenv("BAKEGEN_REPO", "env.example.org")
    assert load_settings(root).repo == "env.example.org"
    assert load_settings(root, "cli.example.org:5000/x").repo == "cli.example.org:5000/x"


@pytest.mark.parametrize("source", ["cli", "env", "yaml"])
def test_invalid_repo_names_its_source(root, monkeypatch, source):
    bad = "Reg.io/Team/"
    if source == "yaml":
        write_tree(root, {"bakegen.yaml": f"repo: {bad}\n"})
    if source == "env":
        monkeypatch.setenv("BAKEGEN_REPO", bad)
    expected = {"cli": "--repo", "env": "BAKEGEN_REPO", "yaml": "bakegen.yaml"}[source]
    # a bad bakegen.yaml is a catalogue problem (path: message, with the others); a bad
    # flag or variable is a usage error
    with pytest.raises(CatalogueError if source == "yaml" else UsageError) as info:
        load_settings(root, bad if source == "cli" else None)
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize("text, fragment", [
    ("repo: [a\n", "invalid YAML"),
    ("repository: x\n", "repository"),
    ("platforms: linux/amd64\n", "platforms"),
    ("platforms: [amd64]\n", "invalid platform 'amd64'"),
    ("platforms: []\n", "platforms"),
])
def test_invalid_config(root, text, fragment):
    write_tree(root, {"bakegen.yaml": text})
    with pytest.raises(CatalogueError) as info:
        load_settings(root)
    assert all(p.path == "bakegen.yaml" for p in info.value.problems)
    assert any(fragment in str(p) for p in info.value.problems), info.value.problems


def test_empty_config_is_fine(root):
    write_tree(root, {"bakegen.yaml": "# nothing\n"})
    assert load_settings(root).repo == DEFAULT_REPO
