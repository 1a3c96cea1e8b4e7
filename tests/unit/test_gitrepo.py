"""bakegen.gitrepo: N-H, commit time, dirtiness, and the errors outside git / in shallow clones."""
from __future__ import annotations

import pytest

from bakegen.errors import UsageError
from bakegen.gitrepo import BuildInfo, build_info
from tests.support import FIXED_EPOCH, commit_all, compat, git, head, make_repo, science, tree, write_tree


@pytest.fixture
def catalogue_repo(tmp_path):
    root = make_repo(tmp_path / "cat", tree(science("a"), compat("jup"), {"README.md": "hello\n"}))
    write_tree(root, {"science/a/Dockerfile": "FROM ubuntu:24.04\nRUN true\n"})
    commit_all(root, "second", date="2024-03-02T12:00:00+00:00")
    return root


def test_build_id_is_count_and_short_hash(catalogue_repo):
    info = build_info(catalogue_repo)
    count, short, full = head(catalogue_repo)
    assert (info.count, info.short, info.revision, info.dirty) == (2, short, full, False)
    assert count == 2
    assert info.build_id == f"2-{short}"


def test_timestamp_is_the_commit_time_not_the_clock(catalogue_repo):
    info = build_info(catalogue_repo)
    assert info.timestamp == FIXED_EPOCH + 86400
    assert info.created == "2024-03-02T12:00:00Z"


def test_detached_head(catalogue_repo):
    git(catalogue_repo, "checkout", "-q", "--detach", "HEAD~1")
    info = build_info(catalogue_repo)
    assert (info.count, info.short, info.timestamp) == (1, head(catalogue_repo)[1], FIXED_EPOCH)


@pytest.mark.parametrize("change", [
    {"science/a/Dockerfile": "FROM ubuntu:22.04\n"},  # modified, tracked
    {"compat/jup/new-file": "untracked\n"},  # untracked counts
    {"science/new/sciserver-image.json": {"image": "new"}},
])
def test_dirty_under_science_and_compat(catalogue_repo, change):
    write_tree(catalogue_repo, change)
    info = build_info(catalogue_repo)
    assert info.dirty and info.build_id.endswith("-dirty")


def test_staged_change_is_dirty(catalogue_repo):
    write_tree(catalogue_repo, {"compat/jup/Dockerfile": "RUN false\n"})
    git(catalogue_repo, "add", "-A")
    assert build_info(catalogue_repo).dirty


def test_deleted_file_is_dirty(catalogue_repo):
    (catalogue_repo / "compat/jup/Dockerfile").unlink()
    assert build_info(catalogue_repo).dirty


@pytest.mark.parametrize("change", [
    {"README.md": "changed\n"},
    {"notes.txt": "untracked\n"},
    {".bakegen/ctx/jup/start.sh": "#!/bin/sh\n", ".bakegen/contexts.json": "{}\n", ".bakegen/.gitignore": "*\n"},
    {"docker-bake.hcl": "# rendered\n", "docker-bake.json": "{}\n"},
])
def test_changes_elsewhere_are_not_dirty(catalogue_repo, change):
    write_tree(catalogue_repo, change)
    assert not build_info(catalogue_repo).dirty


def test_ignored_files_are_not_dirty(catalogue_repo):
    write_tree(catalogue_repo, {".gitignore": "*.pyc\n"})
    commit_all(catalogue_repo, "ignore")
    write_tree(catalogue_repo, {"science/a/cache.pyc": "x"})
    assert not build_info(catalogue_repo).dirty


def test_catalogue_in_a_subdirectory(tmp_path):
    top = make_repo(tmp_path / "mono", tree(
        {"images/" + k: v for k, v in tree(science("a"), compat("jup")).items()},
        {"science/unrelated.txt": "outside the catalogue root\n"},
    ))
    root = top / "images"
    assert not build_info(root).dirty
    write_tree(top, {"science/unrelated.txt": "changed\n"})
    assert not build_info(root).dirty  # not under images/science
    write_tree(root, {"science/a/Dockerfile": "FROM debian\n"})
    assert build_info(root).dirty


def test_outside_git_needs_a_build_id(tmp_path):
    root = write_tree(tmp_path / "plain", science("a"))
    with pytest.raises(UsageError) as info:
        build_info(root)
    assert "not inside a git repository" in str(info.value) and "--build-id" in str(info.value)
    assert info.value.exit_code == 2


def test_outside_git_with_build_id(tmp_path, monkeypatch):
    root = write_tree(tmp_path / "plain", science("a"))
    assert build_info(root, "12-abcdef0") == BuildInfo(12, "abcdef0", None, 0, False)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(FIXED_EPOCH))
    info = build_info(root, "12-abcdef0-dirty")
    assert (info.build_id, info.timestamp, info.revision) == ("12-abcdef0-dirty", FIXED_EPOCH, None)


def test_repository_without_commits_needs_a_build_id(tmp_path):
    root = write_tree(tmp_path / "empty", science("a"))
    git(root, "init", "-q")
    with pytest.raises(UsageError, match="--build-id"):
        build_info(root)
    assert build_info(root, "1-abcd").build_id == "1-abcd"


@pytest.mark.parametrize("value", ["42", "abc-42", "42-xyz", "42-ABCDEF0", "-1-abc", "42-abcdef0-clean"])
def test_invalid_build_id(catalogue_repo, value):
    with pytest.raises(UsageError, match="N-H"):
        build_info(catalogue_repo, value)


def test_build_id_overrides_git_but_keeps_the_commit(catalogue_repo):
    full = head(catalogue_repo)[2]
    info = build_info(catalogue_repo, f"99-{full[:7]}")
    assert (info.count, info.short) == (99, full[:7])
    assert info.revision == full
    assert info.timestamp == FIXED_EPOCH + 86400
    # an id naming another commit does not borrow HEAD's hash for the revision label
    assert build_info(catalogue_repo, "99-1234567").revision is None


def test_shallow_clone_needs_a_build_id(catalogue_repo, tmp_path):
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{catalogue_repo}", str(clone))
    with pytest.raises(UsageError) as info:
        build_info(clone)
    assert "shallow" in str(info.value) and "--build-id" in str(info.value)
    assert build_info(clone, "2-abcdef0").build_id == "2-abcdef0"


def test_full_clone_gives_the_same_build_id(catalogue_repo, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{catalogue_repo}", str(clone))
    assert build_info(clone) == build_info(catalogue_repo)
