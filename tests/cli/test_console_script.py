"""The installed ``bakegen`` executable, as a user runs it (a few end-to-end runs; the rest
of the CLI tests run in-process)."""
from __future__ import annotations

from tests.support import head, run_bakegen, run_console_script, sample_catalogue, science, tree


def test_help(tmp_path):
    completed = run_console_script(["--help"], tmp_path)
    assert completed.returncode == 0
    for command in ("validate", "render", "graph"):
        assert command in completed.stdout
    version = run_bakegen(["--version"], tmp_path)
    assert version.exit_code == 0 and "bakegen" in version.stdout


def test_render_end_to_end(repo, check_bake_file):
    import json

    root = repo(sample_catalogue())
    completed = run_console_script(["render"], root)
    assert completed.returncode == 0, completed.stderr
    assert "plan: 4 science build(s), 3 compat build(s)" in completed.stderr
    plan = run_bakegen(["render", "--format", "plan"], root)
    assert plan.exit_code == 0, plan
    printed = check_bake_file(root, root / "docker-bake.hcl", json.loads(plan.stdout))
    _, short, _ = head(root)
    assert printed["target"]["sci-astro"]["tags"][1] == f"compute.repo.sciserver.org/sci/astro:1.0-1-{short}"


def test_catalogue_errors_exit_2_without_traceback(repo):
    root = repo(tree(science("a", version="1.0-beta"), {"science/b/sciserver-image.json": "{"}))
    expected = [
        "science/a/sciserver-image.json:2: invalid version '1.0-beta': use dot-separated numbers such as \"1.0\"",
        "science/b/Dockerfile: missing Dockerfile",
        "science/b/sciserver-image.json:1: invalid JSON: Expecting property name enclosed in double quotes "
        "(column 2)",
        "bakegen: 3 errors",
    ]
    completed = run_console_script(["render"], root)
    assert completed.returncode == 2, completed
    assert "Traceback" not in completed.stderr + completed.stdout
    assert completed.stderr.splitlines() == expected
    for command in (["validate"], ["graph"]):  # the same report from every command
        result = run_bakegen(command, root)
        assert result.exit_code == 2 and result.stderr.splitlines() == expected
    assert not (root / "docker-bake.hcl").exists()
