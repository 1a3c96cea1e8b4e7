"""The command line on fixture catalogues in fresh git repositories (in-process runs).

Every successful ``render`` of a bake file here also goes through the real
``docker buildx bake --print`` (see the ``bakegen`` fixture in conftest)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support import (
    FIXED_EPOCH,
    Mode,
    commit_all,
    compat,
    git,
    head,
    sample_catalogue,
    science,
    tree,
    write_tree,
)

PROBLEM_LINE = re.compile(r"^(science|compat)/[^\s:]+(:\d+)?: \S.*$|^bakegen\.yaml(:\d+)?: \S.*$")


@pytest.fixture
def sample(repo):
    return repo(sample_catalogue())


def broken_catalogue() -> dict:
    return tree(
        science("ok", compat="jupyter"),
        science("badversion", version="1.0-beta"),
        science("numversion", version=2),
        science("Upper"),
        science("typo", compatt="jupyter"),
        science("dup1", target="same"),
        science("dup2", target="same"),
        science("cyc-a", "FROM reg.io/sci/cyc-b:1.0\n", image="p"),
        science("cyc-b", "FROM reg.io/sci/cyc-a:1.0\n", image="q"),
        science("nofrom", "RUN true\n"),
        science("fork1", "FROM ok:1.0\n", image="ok"),
        science("fork2", "FROM ok:1.0\n", image="ok"),
        science("unknown-compat", compat="jupyterr"),
        {"science/broken/sciserver-image.json": '{"image": "broken",\n "version": "1.0",\n}\n',
         "science/broken/Dockerfile": "FROM x\n",
         "science/nodockerfile/sciserver-image.json": {"image": "nodockerfile"}},
        compat("jupyter", includes=["common"]),
        compat("common", "FROM ubuntu\nRUN true\n"),
        compat("loop1", includes=["loop2"]),
        compat("loop2", includes=["loop1"]),
    )


# --- validate ---------------------------------------------------------------------------------

def test_validate_ok(bakegen, sample):
    result = bakegen("validate", cwd=sample)
    assert result.exit_code == 0, result
    assert result.stdout == ""
    assert "ok: 4 science layers, 3 final images, 3 compat layers" in result.stderr


def test_validate_reports_every_problem_one_per_line(bakegen, repo):
    root = repo(broken_catalogue())
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 2, result
    lines = result.stderr.splitlines()
    assert lines[-1].startswith("bakegen: ") and lines[-1].endswith(" errors")
    problems = [line for line in lines[:-1] if ": warning: " not in line]
    for line in problems:
        assert PROBLEM_LINE.match(line), line
    assert int(lines[-1].split()[1]) == len(problems)
    expected = [
        "science/badversion/sciserver-image.json:2: invalid version '1.0-beta'",
        "science/numversion/sciserver-image.json:2: 'version' must be a string, not a number: write \"version\": \"2\"",
        "science/Upper/sciserver-image.json: invalid target (the directory name) 'Upper'",
        "science/typo/sciserver-image.json:2: unknown key 'compatt' (did you mean 'compat'?)",
        "science/dup1/sciserver-image.json:2: duplicate target 'same': also used by science/dup2",
        "science/dup2/sciserver-image.json:2: duplicate target 'same': also used by science/dup1",
        "science/cyc-a/Dockerfile:1: dependency cycle: science/cyc-a -> science/cyc-b -> science/cyc-a",
        "science/nofrom/Dockerfile: no FROM instruction",
        "science/fork1/sciserver-image.json: ok:1.0 has 2 final layers (science/fork1, science/fork2)",
        "science/unknown-compat/sciserver-image.json: unknown compat layer 'jupyterr' (did you mean 'jupyter'?)",
        "science/broken/sciserver-image.json:3: invalid JSON",
        "science/nodockerfile/Dockerfile: missing Dockerfile",
        "compat/common/Dockerfile:1: a compat fragment must not contain FROM",
        "compat/loop1/sciserver-image.json: include cycle: compat/loop1 -> compat/loop2 -> compat/loop1",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in problems), f"missing {start!r} in\n{result.stderr}"
    assert "Traceback" not in result.output


def test_warnings_do_not_fail(bakegen, repo):
    root = repo(tree(science("a", compat="jup"), science("b", "FROM reg.io/rel/a:1.0\n"), compat("jup")))
    result = bakegen("validate", cwd=root)
    assert result.exit_code == 0, result
    assert "science/b/Dockerfile:1: warning: FROM reg.io/rel/a:1.0 builds on a rel (compat) image" in result.stderr
    assert "science/b/sciserver-image.json: warning: final layer of b:1.0 names no compat layer" in result.stderr


def test_validate_with_root_option(bakegen, sample, tmp_path):
    result = bakegen("validate", "--root", sample, cwd=tmp_path)
    assert result.exit_code == 0, result


def test_missing_root_is_a_usage_error(bakegen, tmp_path):
    result = bakegen("validate", "--root", tmp_path / "nope", cwd=tmp_path)
    assert result.exit_code == 2, result


def test_unknown_option_exits_2(bakegen, sample):
    result = bakegen("render", "--frobnicate", cwd=sample)
    assert result.exit_code == 2 and "frobnicate" in result.stderr


# --- render -----------------------------------------------------------------------------------

def test_render_default_writes_hcl_in_the_root(bakegen, sample):
    result = bakegen("render", cwd=sample)
    assert result.exit_code == 0, result
    assert result.stdout == ""
    assert result.file == sample / "docker-bake.hcl" and result.file.is_file()
    text = result.file.read_text()
    assert text.startswith("# Generated by bakegen")
    assert 'target "sci-essentials"' in text
    assert not (sample / "docker-bake.json").exists()
    # one context per compat layer that rel images use: essentials 1.0 and 2.0 share jupyter's
    assert sorted(p.name for p in (sample / ".bakegen/ctx").iterdir()) == ["jupyter", "webapp"]
    assert {name: target["context"] for name, target in result.printed["target"].items()
            if name.startswith("rel-")} == {
        "rel-astro-1_0": ".bakegen/ctx/webapp",
        "rel-essentials-1_0": ".bakegen/ctx/jupyter",
        "rel-essentials-2_0": ".bakegen/ctx/jupyter",
    }
    assert (sample / ".bakegen/contexts.json").is_file()


def test_render_json(bakegen, sample):
    result = bakegen("render", "--format", "json", cwd=sample)
    assert result.exit_code == 0, result
    data = json.loads((sample / "docker-bake.json").read_text())
    assert set(data) == {"group", "target"}
    assert not (sample / "docker-bake.hcl").exists()


@pytest.mark.parametrize("output_format", ["hcl", "json"])
def test_render_output_path(bakegen, sample, tmp_path, output_format):
    relative = bakegen("render", "--format", output_format, "-o", "out/bake.file", cwd=sample)
    assert relative.exit_code == 0, relative
    assert (sample / "out/bake.file").is_file()
    absolute = bakegen("render", "--format", output_format, "--output", tmp_path / "elsewhere.txt", cwd=sample)
    assert absolute.exit_code == 0, absolute
    assert (tmp_path / "elsewhere.txt").read_text() == (sample / "out/bake.file").read_text()
    assert not (sample / f"docker-bake.{output_format}").exists()


@pytest.mark.parametrize("output_format", ["hcl", "json"])
def test_render_to_stdout(bakegen, sample, output_format):
    result = bakegen("render", "--format", output_format, "-o", "-", cwd=sample)
    assert result.exit_code == 0, result
    assert not (sample / f"docker-bake.{output_format}").exists()
    written = bakegen("render", "--format", output_format, cwd=sample)
    assert result.stdout == written.file.read_text()
    assert "plan: 4 science build(s), 3 compat build(s)" in result.stderr


def test_render_plan_format(bakegen, sample):
    result = bakegen("render", "--format", "plan", cwd=sample)
    assert result.exit_code == 0, result
    plan = json.loads(result.stdout)
    count, short, full = head(sample)
    assert plan["build_id"] == f"{count}-{short}" and plan["revision"] == full
    builds = {b["name"]: b for b in plan["builds"]}
    assert sorted(builds) == ["rel-astro-1_0", "rel-essentials-1_0", "rel-essentials-2_0", "sci-astro",
                              "sci-astro-tools", "sci-essentials", "sci-essentials-2"]
    tools = builds["sci-astro-tools"]
    assert tools["tags"] == ["compute.repo.sciserver.org/sci/astro-tools:1.0",
                             f"compute.repo.sciserver.org/sci/astro-tools:1.0-1-{short}"]
    assert tools["labels"]["org.sciserver.science.astro-tools.version"] == f"1.0-1-{short}"
    assert tools["labels"]["org.sciserver.science.astro-tools.buildtime"] == str(FIXED_EPOCH)
    assert builds["rel-astro-1_0"]["labels"]["org.sciserver.compat.version"] == f"astro:1.0-1-{short}"
    assert builds["rel-astro-1_0"]["compat"] == ["sciserver-common", "jupyter", "webapp"]
    assert builds["rel-astro-1_0"]["layer"] == "science/astro-tools"
    edges = {(e["child"], e.get("parent"), e["reference"]) for e in plan["edges"]}
    assert edges == {
        ("sci-essentials-2", "sci-essentials", "containers.repo.sciserver.org/compute-images/sci/essentials:1.0"),
        ("sci-astro", "sci-essentials-2", "compute.repo.sciserver.org/sci/essentials-2:2.0"),
        ("sci-astro-tools", "sci-astro", "compute.repo.sciserver.org/sci/astro:1.0"),
        ("rel-essentials-1_0", "sci-essentials", "compute.repo.sciserver.org/sci/essentials:1.0"),
        ("rel-essentials-2_0", "sci-essentials-2", "compute.repo.sciserver.org/sci/essentials-2:2.0"),
        ("rel-astro-1_0", "sci-astro-tools", "compute.repo.sciserver.org/sci/astro-tools:1.0"),
    }
    assert plan["groups"]["astro"] == ["rel-astro-1_0", "sci-astro", "sci-astro-tools"]
    assert not (sample / "docker-bake.hcl").exists()


def test_render_prints_the_plan_summary(bakegen, sample):
    result = bakegen("render", cwd=sample)
    _, short, _ = head(sample)
    err = result.stderr
    assert "astro:1.0  [rel-astro-1_0]" in err
    assert "  science: astro-tools <- astro <- essentials-2 <- essentials" in err
    assert "  compat:  sciserver-common -> jupyter -> webapp" in err
    assert f"  tags:    compute.repo.sciserver.org/rel/astro:1.0, compute.repo.sciserver.org/rel/astro:1.0-1-{short}" \
        in err
    assert "plan: 4 science build(s), 3 compat build(s)" in err
    assert err.splitlines()[-1].startswith("wrote ") and err.splitlines()[-1].endswith("docker-bake.hcl")


def test_rel_context_is_staged(bakegen, sample):
    result = bakegen("render", cwd=sample)
    assert result.exit_code == 0, result
    rel = result.printed["target"]["rel-astro-1_0"]
    assert rel["context"] == ".bakegen/ctx/webapp"
    context = sample / rel["context"]
    _, short, _ = head(sample)
    # the generated Dockerfile is inline in the bake file, as bake reads it
    assert rel["dockerfile-inline"] == (
        "FROM compute.repo.sciserver.org/sci/astro-tools:1.0\n"
        "RUN useradd idies\nEXPOSE 8888\nEXPOSE 80\n"
        f"ENV SCISERVER_IMAGE=astro:1.0-1-{short}\n")
    assert (context / "etc/sciserver").read_text() == "webapp\n"
    assert (context / "start-jupyter.sh").stat().st_mode & 0o111
    assert not (context / "sciserver-image.json").exists()
    assert not (context / "Dockerfile").exists()


def context_identity(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def test_rel_images_of_one_compat_layer_share_its_context(bakegen, sample):
    result = bakegen("render", "--format", "json", cwd=sample)
    assert result.exit_code == 0, result
    one, two = (result.printed["target"][name] for name in ("rel-essentials-1_0", "rel-essentials-2_0"))
    assert one["context"] == two["context"] == ".bakegen/ctx/jupyter"
    assert one["dockerfile-inline"].startswith("FROM compute.repo.sciserver.org/sci/essentials:1.0\n")
    assert two["dockerfile-inline"].startswith("FROM compute.repo.sciserver.org/sci/essentials-2:2.0\n")
    context = sample / ".bakegen/ctx/jupyter"
    assert sorted(p.relative_to(context).as_posix() for p in context.rglob("*")) == [
        "etc", "etc/sciserver", "start-jupyter.sh"]
    assert (context / "etc/sciserver").read_text() == "common\n"


def test_an_unchanged_render_does_not_restage(bakegen, sample):
    assert bakegen("render", cwd=sample).exit_code == 0
    assert (sample / ".bakegen/contexts.json").is_file()
    before = {name: context_identity(sample / ".bakegen/ctx" / name) for name in ("jupyter", "webapp")}
    fingerprints = (sample / ".bakegen/contexts.json").read_text()
    assert bakegen("render", "--format", "json", cwd=sample).exit_code == 0
    assert {name: context_identity(sample / ".bakegen/ctx" / name) for name in ("jupyter", "webapp")} == before
    assert (sample / ".bakegen/contexts.json").read_text() == fingerprints


def test_a_changed_compat_file_restages_the_contexts_that_use_it(bakegen, sample):
    assert bakegen("render", cwd=sample).exit_code == 0
    before = {name: context_identity(sample / ".bakegen/ctx" / name) for name in ("jupyter", "webapp")}
    write_tree(sample, {"compat/jupyter/start-jupyter.sh": Mode("#!/bin/sh\nexec jupyter notebook\n", 0o755)})
    assert bakegen("render", cwd=sample).exit_code == 0
    for name in ("jupyter", "webapp"):  # webapp includes jupyter
        context = sample / ".bakegen/ctx" / name
        assert context_identity(context)[0] != before[name][0], name
        assert (context / "start-jupyter.sh").read_text() == "#!/bin/sh\nexec jupyter notebook\n"
        assert (context / "start-jupyter.sh").stat().st_mode & 0o111
    # a file only webapp has leaves jupyter's context alone
    before = {name: context_identity(sample / ".bakegen/ctx" / name) for name in ("jupyter", "webapp")}
    write_tree(sample, {"compat/webapp/etc/extra": "web only\n"})
    assert bakegen("render", cwd=sample).exit_code == 0
    assert context_identity(sample / ".bakegen/ctx/jupyter") == before["jupyter"]
    assert context_identity(sample / ".bakegen/ctx/webapp")[0] != before["webapp"][0]
    assert (sample / ".bakegen/ctx/webapp/etc/extra").read_text() == "web only\n"


def test_a_context_whose_compat_layer_is_no_longer_used_is_removed(bakegen, sample):
    assert bakegen("render", cwd=sample).exit_code == 0
    assert sorted(p.name for p in (sample / ".bakegen/ctx").iterdir()) == ["jupyter", "webapp"]
    descriptor = json.loads((sample / "science/astro-tools/sciserver-image.json").read_text())
    write_tree(sample, {"science/astro-tools/sciserver-image.json": {**descriptor, "compat": "jupyter"}})
    result = bakegen("render", cwd=sample)
    assert result.exit_code == 0, result
    assert result.printed["target"]["rel-astro-1_0"]["context"] == ".bakegen/ctx/jupyter"
    assert sorted(p.name for p in (sample / ".bakegen/ctx").iterdir()) == ["jupyter"]
    assert sorted(json.loads((sample / ".bakegen/contexts.json").read_text())) == [".bakegen/ctx/jupyter"]


def test_invalid_catalogue_does_not_touch_an_existing_bake_file(bakegen, sample):
    assert bakegen("render", cwd=sample).exit_code == 0
    before = (sample / "docker-bake.hcl").read_bytes()
    listing = sorted(p.name for p in sample.iterdir())
    write_tree(sample, {"science/astro/sciserver-image.json": "{ nope"})
    result = bakegen("render", cwd=sample)
    assert result.exit_code == 2, result
    assert "science/astro/sciserver-image.json:1: invalid JSON" in result.stderr
    assert (sample / "docker-bake.hcl").read_bytes() == before
    assert sorted(p.name for p in sample.iterdir()) == listing  # no temporary file left behind


def test_render_twice_is_byte_identical(bakegen, sample):
    first = bakegen("render", cwd=sample).file.read_bytes()
    second = bakegen("render", cwd=sample)
    assert second.file.read_bytes() == first
    assert "-dirty" not in first.decode()  # bakegen's own outputs do not make the tree dirty
    js = [bakegen("render", "--format", "json", cwd=sample).file.read_bytes() for _ in range(2)]
    assert js[0] == js[1]


def test_two_clones_of_one_commit_render_identically(bakegen, sample, tmp_path):
    outputs = []
    for name in ("clone1", "clone2"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", f"file://{sample}", str(clone))
        git(clone, "checkout", "-q", "--detach", "HEAD")  # as CI checks out
        result = bakegen("render", cwd=clone)
        assert result.exit_code == 0, result
        outputs.append((result.file.read_bytes(), bakegen("render", "--format", "json", cwd=clone).file.read_bytes()))
    assert outputs[0] == outputs[1]


def test_build_time_is_the_commit_time(bakegen, repo):
    root = repo(sample_catalogue(), date="2021-12-09T19:11:21+00:00")
    plan = json.loads(bakegen("render", "--format", "plan", cwd=root).stdout)
    for build in plan["builds"]:
        times = [v for k, v in build["labels"].items() if k.endswith(".buildtime")]
        assert times == ["1639077081"]
        assert build["labels"]["org.opencontainers.image.created"] == "2021-12-09T19:11:21Z"


def test_dirty_tree_marks_the_immutable_tag(bakegen, sample):
    write_tree(sample, {"science/astro/Dockerfile": "FROM compute.repo.sciserver.org/sci/essentials-2:2.0\nRUN x\n"})
    result = bakegen("render", cwd=sample)
    _, short, _ = head(sample)
    text = result.file.read_text()
    assert f'"compute.repo.sciserver.org/sci/astro:1.0-1-{short}-dirty"' in text
    assert f'"compute.repo.sciserver.org/sci/astro:1.0",' in text


def test_changes_outside_the_catalogue_are_not_dirty(bakegen, sample):
    write_tree(sample, {"README.md": "docs\n", ".gitignore": "x\n"})
    assert "-dirty" not in bakegen("render", cwd=sample).file.read_text()


def test_build_id_counts_commits(bakegen, sample):
    write_tree(sample, {"README.md": "two\n"})
    commit_all(sample, "two")
    count, short, _ = head(sample)
    plan = json.loads(bakegen("render", "--format", "plan", cwd=sample).stdout)
    assert count == 2 and plan["build_id"] == f"2-{short}"


def test_outside_git(bakegen, tmp_path):
    root = write_tree(tmp_path / "plain", sample_catalogue())
    result = bakegen("render", cwd=root)
    assert result.exit_code == 2, result
    assert "not inside a git repository" in result.stderr and "--build-id" in result.stderr
    assert not (root / "docker-bake.hcl").exists()
    result = bakegen("render", "--build-id", "42-f90dbd6", cwd=root, env={"SOURCE_DATE_EPOCH": "1639077081"})
    assert result.exit_code == 0, result
    assert '"compute.repo.sciserver.org/sci/astro:1.0-42-f90dbd6"' in result.file.read_text()
    assert '"org.sciserver.science.astro.buildtime" = "1639077081"' in result.file.read_text()


def test_shallow_clone(bakegen, sample, tmp_path):
    write_tree(sample, {"README.md": "two\n"})
    commit_all(sample, "two")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{sample}", str(clone))
    result = bakegen("render", cwd=clone)
    assert result.exit_code == 2, result
    assert "shallow" in result.stderr and "--build-id" in result.stderr
    result = bakegen("render", "--build-id", "2-abcdef0", cwd=clone)
    assert result.exit_code == 0, result


def test_invalid_build_id(bakegen, sample):
    result = bakegen("render", "--build-id", "latest", cwd=sample)
    assert result.exit_code == 2 and "N-H" in result.stderr


# --- registry prefix --------------------------------------------------------------------------

def repo_of(bakegen, root, *args, env=None) -> str:
    result = bakegen("render", "--format", "plan", *args, cwd=root, env=env)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)["repo"]


def test_repo_precedence(bakegen, sample):
    assert repo_of(bakegen, sample) == "compute.repo.sciserver.org"
    write_tree(sample, {"bakegen.yaml": "repo: yaml.example.org/team\n"})
    assert repo_of(bakegen, sample) == "yaml.example.org/team"
    assert repo_of(bakegen, sample, env={"BAKEGEN_REPO": "env.example.org"}) == "env.example.org"
    assert repo_of(bakegen, sample, "--repo", "cli.example.org", env={"BAKEGEN_REPO": "env.example.org"}) == \
        "cli.example.org"


def test_repo_is_used_in_tags_and_rel_contexts(bakegen, sample):
    result = bakegen("render", "--repo", "localhost:5000/test", cwd=sample)
    assert result.exit_code == 0, result
    tools = result.printed["target"]["sci-astro-tools"]
    assert tools["tags"][0] == "localhost:5000/test/sci/astro-tools:1.0"
    # the FROM line of a science layer is kept as written, whatever --repo says
    assert tools["contexts"] == {"compute.repo.sciserver.org/sci/astro:1.0": "target:sci-astro"}
    rel = result.printed["target"]["rel-astro-1_0"]
    assert rel["contexts"] == {"localhost:5000/test/sci/astro-tools:1.0": "target:sci-astro-tools"}
    assert rel["dockerfile-inline"].startswith("FROM localhost:5000/test/sci/astro-tools:1.0\n")
    assert rel["context"] == ".bakegen/ctx/webapp"


def test_invalid_repo_is_a_usage_error(bakegen, sample):
    result = bakegen("render", "--repo", "Bad Repo", cwd=sample)
    assert result.exit_code == 2 and "--repo" in result.stderr


def test_platforms_from_bakegen_yaml(bakegen, sample):
    write_tree(sample, {"bakegen.yaml": "platforms: [linux/amd64, linux/arm64]\n"})
    result = bakegen("render", cwd=sample)
    assert result.exit_code == 0, result
    assert {tuple(t["platforms"]) for t in result.printed["target"].values()} == {("linux/amd64", "linux/arm64")}


# --- graph ------------------------------------------------------------------------------------

def test_graph_text(bakegen, sample):
    result = bakegen("graph", cwd=sample)
    assert result.exit_code == 0, result
    out = result.stdout
    assert out == bakegen("graph", "--format", "text", cwd=sample).stdout
    assert "science layers (4):" in out
    assert "  science/astro-tools  sci/astro-tools:1.0  (astro:1.0)  final" in out
    assert "  rel/astro:1.0  <- science/astro-tools  (compat sciserver-common -> jupyter -> webapp)" in out
    assert "compat layers (3):" in out and "  compat/webapp  includes jupyter" in out


def test_graph_mermaid(bakegen, sample):
    out = bakegen("graph", "--format", "mermaid", cwd=sample).stdout
    assert out.startswith("flowchart")
    edges = {re.sub(r"_[0-9a-f]{6}\b", "", line.strip()) for line in out.splitlines()}
    assert "sci_astro_tools --> sci_astro" in edges
    assert "compat_webapp -.->|includes| compat_jupyter" in edges


def test_graph_dot(bakegen, sample):
    out = bakegen("graph", "--format", "dot", cwd=sample).stdout
    assert out.startswith("digraph") and out.rstrip().endswith("}")
    assert '"science/astro-tools" -> "science/astro";' in out
    assert '"rel/astro:1.0" -> "science/astro-tools";' in out


def test_graph_of_a_broken_catalogue(bakegen, repo):
    result = bakegen("graph", cwd=repo(broken_catalogue()))
    assert result.exit_code == 2 and result.stdout == ""


def test_render_with_root_from_another_directory(bakegen, sample, tmp_path):
    result = bakegen("render", "--root", sample, cwd=tmp_path)
    assert result.exit_code == 0, result
    assert result.file == sample / "docker-bake.hcl"
    assert not (tmp_path / "docker-bake.hcl").exists()
    # paths in the file are relative to the catalogue root, where bake runs
    assert result.printed["target"]["sci-astro"]["context"] == "science/astro"
    assert result.printed["target"]["rel-astro-1_0"]["context"] == ".bakegen/ctx/webapp"
    assert (sample / ".bakegen/ctx/webapp/etc/sciserver").is_file()
    assert not (tmp_path / ".bakegen").exists()


def test_empty_catalogue_renders_an_empty_bake_file(bakegen, repo):
    root = repo({"README.md": "nothing yet\n"})
    assert bakegen("validate", cwd=root).exit_code == 0
    result = bakegen("render", cwd=root)
    assert result.exit_code == 0, result
    assert result.printed["target"] == {}
