"""--since: what a change rebuilds, through the CLI, on git fixtures (issue 4)."""
from __future__ import annotations

import json
import subprocess

import pytest

ALL_REL = {"rel-x-1_0", "rel-y-1_0", "rel-z-1_0"}


def test_without_since_everything_is_planned(repo):
    assert repo.planned() == {"sci-a", "sci-b", "sci-c", "sci-d"} | ALL_REL


def test_change_at_the_root_of_a_chain_rebuilds_the_chain_and_its_rel_images(repo):
    repo.write("science/a/Dockerfile", "FROM ubuntu:22.04\nRUN echo a2\n")
    repo.commit()
    assert repo.planned("--since", "HEAD~1") == {"sci-a", "sci-b", "sci-c", "rel-x-1_0", "rel-y-1_0"}


def test_change_in_the_middle_rebuilds_it_and_what_builds_on_it_with_the_parent_pinned(repo):
    repo.write("science/b/extra.txt", "new file\n")
    repo.commit()
    plan = repo.plan("--since", "HEAD~1")
    assert {b["name"] for b in plan["builds"]} == {"sci-b", "sci-c", "rel-x-1_0", "rel-y-1_0"}
    sci_b = next(b for b in plan["builds"] if b["name"] == "sci-b")
    # the unchanged parent comes from the registry (tag only with --offline), not from a target
    assert sci_b["contexts"] == {"reg.example.org/sci/a:1.0": "docker-image://compute.repo.sciserver.org/sci/a:1.0"}
    sci_c = next(b for b in plan["builds"] if b["name"] == "sci-c")
    assert sci_c["contexts"] == {"other.example.org/x/sci/b:1.0": "target:sci-b"}


def test_change_at_the_top_rebuilds_only_the_top_and_its_rel_image(repo):
    repo.write("science/c/Dockerfile", "FROM other.example.org/x/sci/b:1.0 AS base\nRUN echo c2\n")
    repo.commit()
    assert repo.planned("--since", "HEAD~1") == {"sci-c", "rel-y-1_0"}


def test_compat_change_rebuilds_rel_images_only(repo):
    repo.write("compat/jup/motd", "jup 2\n")
    repo.commit()
    plan = repo.plan("--since", "HEAD~1")
    assert {b["name"] for b in plan["builds"]} == {"rel-x-1_0", "rel-y-1_0"}
    rel_x = next(b for b in plan["builds"] if b["name"] == "rel-x-1_0")
    assert rel_x["contexts"] == {"compute.repo.sciserver.org/sci/b:1.0":
                                 "docker-image://compute.repo.sciserver.org/sci/b:1.0"}


def test_change_in_a_nested_include_reaches_every_user(repo):
    """Upstream propagated nested includes but built without them (bug 1); both are right here."""
    repo.write("compat/common/Dockerfile", "RUN echo common 2\n")
    repo.commit()
    plan = repo.plan("--since", "HEAD~1")  # renders, and stages the contexts, like any render
    assert {b["name"] for b in plan["builds"]} == {"rel-x-1_0", "rel-y-1_0"}
    rel_y = next(b for b in plan["builds"] if b["name"] == "rel-y-1_0")
    assert rel_y["compat"] == ["common", "jup", "app"]
    dockerfile = rel_y["dockerfile_inline"]
    assert dockerfile.index("RUN echo common 2") < dockerfile.index("EXPOSE 8888") < dockerfile.index("RUN echo app")
    assert rel_y["context"] == ".bakegen/ctx/app"
    assert (repo.root / rel_y["context"] / "motd").read_text() == "jup\n"  # common's file, overridden by jup


@pytest.mark.parametrize("output_format", ["json", "hcl"])
def test_unrelated_file_plans_nothing_and_still_writes_a_valid_bake_file(repo, output_format):
    repo.write("README.md", "changed\n")
    repo.write("docs/notes.txt", "untracked, outside any layer\n")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--format", output_format)
    assert result.returncode == 0, result.stderr
    assert "nothing changed" in result.stderr
    printed = subprocess.run(["docker", "buildx", "bake", "-f", f"docker-bake.{output_format}", "--print"],
                             cwd=repo.root, capture_output=True, text=True)
    assert printed.returncode == 0, printed.stderr + " (run scripts/engine up)"
    resolved = json.loads(printed.stdout)
    assert resolved["group"]["default"].get("targets", []) == []
    assert not resolved.get("target")


def test_nothing_changed_dryrun_prints_upstream_lines(repo):
    result = repo.bakegen("build", "--since", "HEAD", "--dryrun", "--offline")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "final plan includes 0 science build(s) and 0 compat build(s)"


def test_dryrun_lines_match_upstream(repo):
    repo.write("science/c/new.txt", "x\n")
    repo.commit()
    build_id = f"{repo.git('rev-list', '--count', 'HEAD')}-{repo.git('rev-parse', '--short', 'HEAD')}"
    result = repo.bakegen("render", "--since", "HEAD~1", "--dryrun", "--offline")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"change results in final image y => y:1.0-{build_id}, y:1.0",
        "final plan includes 1 science build(s) and 1 compat build(s)",
    ]
    assert not (repo.root / "docker-bake.hcl").exists()  # a dry run writes nothing


def test_new_layer_on_top_is_built_and_is_not_a_rollback(repo):
    repo.science("b2", {"image": "x", "compat": "jup"}, "FROM reg.example.org/sci/b:1.0\n")
    repo.commit()
    assert repo.planned("--since", "HEAD~1") == {"sci-b2", "rel-x-1_0"}


def test_untracked_new_directory_counts_as_changed(repo):
    repo.science("e", {"image": "w", "compat": "plain"}, "FROM busybox:1.36\n")
    assert repo.planned("--since", "HEAD") == {"sci-e", "rel-w-1_0"}


def test_uncommitted_and_staged_changes_count(repo):
    repo.write("science/d/Dockerfile", "FROM busybox:1.36\nRUN echo d2\n")
    assert repo.planned("--since", "HEAD") == {"sci-d", "rel-z-1_0"}
    repo.git("add", "-A")
    assert repo.planned("--since", "HEAD") == {"sci-d", "rel-z-1_0"}


def test_ignored_files_do_not_count(repo):
    repo.write(".gitignore", "*.log\n")
    repo.commit()
    repo.write("science/d/build.log", "noise\n")
    assert repo.planned("--since", "HEAD") == set()


def test_deleted_final_layer_warns_about_the_orphaned_rel_image(repo):
    """Upstream dropped a deleted layer's rel image in silence (bug 20)."""
    repo.git("rm", "-q", "-r", "science/d")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--format", "plan")
    assert result.returncode == 0, result.stderr
    assert "rel/z:1.0 no longer has a final layer" in result.stderr


def test_renamed_layer_warns_and_names_the_broken_child(repo):
    repo.git("mv", "science/c", "science/c-renamed")
    repo.write("science/d/Dockerfile", "FROM reg.example.org/sci/c:1.0\n")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--format", "plan")
    assert result.returncode == 0, result.stderr
    assert "no science layer has target 'c'" in result.stderr
    assert {b["name"] for b in json.loads(result.stdout)["builds"]} >= {"sci-c-renamed", "rel-y-1_0"}


def test_version_bump_in_place_is_a_rollback_and_is_refused(repo):
    """Upstream bug 5: bumping the top of a same-version chain made the layer below final
    again and silently rebuilt rel/x:1.0 without the top layer's contents."""
    repo.science("b", {"image": "x", "version": "2.0", "compat": "jup"}, SCIENCE_B)
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "-o", "-")
    assert result.returncode == 2
    assert "rollback of x:1.0" in result.stderr and "science/a" in result.stderr
    assert "Traceback" not in result.stderr
    allowed = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--allow-rollback", "--format", "plan")
    assert allowed.returncode == 0, allowed.stderr
    # the rollback, once allowed, is carried out: rel/x:1.0 is rebuilt from its new final
    builds = {b["name"]: b for b in json.loads(allowed.stdout)["builds"]}
    assert builds["rel-x-1_0"]["reasons"][0] == "final layer of x:1.0 is science/a, was science/b at HEAD~1"


def test_a_final_layer_removed_from_the_top_rebuilds_the_rel_image_of_the_one_below(repo):
    """b (the top of x:1.0) deleted: a is final again; its rel image must not keep b's files."""
    repo.git("rm", "-q", "-r", "science/b", "science/c")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--allow-rollback", "--format", "plan")
    assert result.returncode == 0, result.stderr
    assert {b["name"] for b in json.loads(result.stdout)["builds"]} == {"rel-x-1_0"}


SCIENCE_B = "ARG REPO=reg.example.org\nFROM ${REPO}/sci/a:1.0\nRUN echo b\n"


def test_revision_that_does_not_exist_is_a_clear_error(repo):
    result = repo.bakegen("render", "--since", "no-such-rev", "--offline")
    assert result.returncode == 2
    assert "--since no-such-rev" in result.stderr and "Traceback" not in result.stderr


def test_shallow_clone_is_a_clear_error(repo, tmp_path):
    repo.write("science/a/x", "1\n")
    repo.commit()
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)], check=True)
    result = subprocess.run(["bakegen", "render", "--since", "HEAD~1", "--offline"], cwd=clone,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "shallow" in result.stderr and "Traceback" not in result.stderr


def test_include_and_ignore_are_relative_to_the_root_from_any_directory(repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = str(repo.root)
    result = repo.bakegen("render", "--root", root, "--include", "science/d", "--offline", "--format", "plan",
                          cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert {b["name"] for b in json.loads(result.stdout)["builds"]} == {"sci-d", "rel-z-1_0"}
    absolute = repo.bakegen("render", "--root", root, "--include", f"{root}/compat/plain", "--offline",
                            "--format", "plan", cwd=elsewhere)
    assert {b["name"] for b in json.loads(absolute.stdout)["builds"]} == {"rel-z-1_0"}
    repo.write("science/a/x", "1\n")
    repo.write("science/d/x", "1\n")
    ignored = repo.bakegen("render", "--root", root, "--since", "HEAD", "--ignore", "science/a", "--offline",
                           "--format", "plan", cwd=elsewhere)
    assert {b["name"] for b in json.loads(ignored.stdout)["builds"]} == {"sci-d", "rel-z-1_0"}


def test_include_takes_several_directories_after_one_flag_as_upstream(repo):
    plan = repo.plan("--include", "science/d", "compat/jup", "--ignore", "science/a")
    assert {b["name"] for b in plan["builds"]} == {"sci-d", "rel-z-1_0", "rel-x-1_0", "rel-y-1_0"}


def test_unknown_include_directory_is_an_error(repo):
    result = repo.bakegen("render", "--include", "science/nope", "--offline")
    assert result.returncode == 2
    assert "science/nope" in result.stderr


def test_explain_gives_the_chain_of_reasons_and_the_tags_that_move(repo):
    repo.write("science/b/Dockerfile", SCIENCE_B + "RUN echo more\n")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--offline", "--explain", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert ("sci-c: science/b/Dockerfile changed -> sci b -> sci c (FROM other.example.org/x/sci/b:1.0)"
            in result.stderr)
    assert "rel-y-1_0: science/b/Dockerfile changed -> sci b -> sci c (FROM other.example.org/x/sci/b:1.0) -> rel y:1.0" \
        in result.stderr
    assert "compute.repo.sciserver.org/rel/y:1.0" in result.stderr.split("tags that move")[1]


def test_graph_marks_what_since_rebuilds(repo):
    repo.write("compat/plain/Dockerfile", "RUN echo plain 2\n")
    repo.commit()
    result = repo.bakegen("graph", "--since", "HEAD~1")
    assert result.returncode == 0, result.stderr
    assert "rel/z:1.0  <- science/d  (compat plain)  [rebuild]" in result.stdout
    assert "[rebuild]" not in result.stdout.split("final images")[0]


def test_unreachable_registry_for_a_pinned_parent_is_exit_3_naming_the_image(repo):
    """Port 5999 on loopback has no registry: the digest look-up cannot be made."""
    repo.write("science/b/extra.txt", "x\n")
    repo.commit()
    result = repo.bakegen("render", "--since", "HEAD~1", "--repo", "127.0.0.1:5999/t", "-o", "-")
    assert result.returncode == 3, result.stderr
    assert "127.0.0.1:5999/t/sci/a:1.0" in result.stderr and "Traceback" not in result.stderr
