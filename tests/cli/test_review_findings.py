"""Cases a review of the CLI on unseen catalogues turned up; each failed before its fix."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support import GIT_ENV


def _catalogue(root: Path, files: dict[str, str | dict]) -> Path:
    root.mkdir(parents=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, dict) else content)
    env = {**os.environ, **GIT_ENV}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", *command], cwd=root, env=env, check=True, capture_output=True)
    return root


def _bakegen(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bakegen", *args], cwd=root, capture_output=True, text=True)


BASE = {
    "science/s/sciserver-image.json": {"image": "s", "compat": "b"},
    "science/s/Dockerfile": "FROM ubuntu:22.04\n",
    "compat/a/sciserver-image.json": {},
    "compat/a/Dockerfile": "RUN true\n",
    "compat/b/sciserver-image.json": {"includes": ["a"]},
    "compat/b/Dockerfile": "RUN true\n",
}


def test_a_later_compat_directory_replaces_an_earlier_file_and_the_reverse(tmp_path):
    root = _catalogue(tmp_path / "c", {**BASE, "compat/a/thing": "file\n", "compat/b/thing/inner": "dir\n",
                                       "compat/a/etc/sub/f": "deep\n", "compat/b/etc/sub": "now a file\n"})
    result = _bakegen(root, "render", "-o", "-")
    assert result.returncode == 0, result.stderr
    context = root / ".bakegen/ctx/b"
    assert (context / "thing/inner").read_text() == "dir\n"
    assert (context / "etc/sub").read_text() == "now a file\n"


def test_validate_reports_what_render_would_refuse(tmp_path):
    root = _catalogue(tmp_path / "c", {
        **BASE,
        "science/a.b/sciserver-image.json": {"image": "ab"},
        "science/a.b/Dockerfile": "FROM ubuntu:22.04\n",
        "science/a_b/sciserver-image.json": {"image": "ab2"},
        "science/a_b/Dockerfile": "FROM ubuntu:22.04\n",
    })
    (root / "compat/a/evil").symlink_to("/etc/passwd")
    result = _bakegen(root, "validate")
    assert result.returncode == 2
    assert "compat/a/evil: symlink points outside compat/a" in result.stderr
    assert "bake name 'sci-a_b' would be used by" in result.stderr
    assert "science/a.b/sciserver-image.json" in result.stderr and "Traceback" not in result.stderr


def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(tmp_path):
    root = _catalogue(tmp_path / "c", BASE)
    (root / "adir").mkdir()
    result = _bakegen(root, "render", "-o", "adir")
    assert result.returncode == 2
    assert "cannot write adir" in result.stderr and "Traceback" not in result.stderr


def test_mermaid_keeps_names_that_differ_only_in_punctuation_apart(tmp_path):
    root = _catalogue(tmp_path / "c", {
        **BASE,
        "science/a-b/sciserver-image.json": {"image": "x"},
        "science/a-b/Dockerfile": "FROM ubuntu:22.04\n",
        "science/a_b/sciserver-image.json": {"image": "x"},
        "science/a_b/Dockerfile": "FROM r/sci/a-b:1.0\n",
    })
    out = _bakegen(root, "graph", "--format", "mermaid").stdout
    edge = next(line.split() for line in out.splitlines() if "-->" in line and line.strip().startswith("sci_a_b"))
    assert edge[0] != edge[2]  # a_b --> a-b, not a self-loop


def test_a_yaml_setting_of_the_wrong_type_is_one_clean_line(tmp_path):
    root = _catalogue(tmp_path / "c", {**BASE, "bakegen.yaml": "platforms: linux/amd64\nrep: x.org\n"})
    result = _bakegen(root, "validate")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("bakegen.yaml")]
    assert len(lines) == 2, result.stderr
    assert "did you mean 'repo'" in result.stderr


def test_compat_dockerignore_does_not_filter_the_other_layers(tmp_path):
    root = _catalogue(tmp_path / "c", {**BASE, "compat/a/keep.txt": "a\n", "compat/b/.dockerignore": "*.txt\n"})
    assert _bakegen(root, "render", "-o", "-").returncode == 0
    context = root / ".bakegen/ctx/b"
    assert (context / "keep.txt").exists() and not (context / ".dockerignore").exists()


def test_a_second_science_parent_keeps_its_breadcrumb(tmp_path):
    """Labels reach a child only through its final stage's base; a parent used by another
    stage (COPY --from) must still leave its label on the child."""
    root = _catalogue(tmp_path / "c", {
        **BASE,
        "science/left/sciserver-image.json": {"image": "left"},
        "science/left/Dockerfile": "FROM ubuntu:22.04\n",
        "science/s/Dockerfile": "FROM r/sci/left:1.0 AS l\nFROM ubuntu:22.04\nCOPY --from=l /x /x\n",
    })
    plan = json.loads(_bakegen(root, "render", "--format", "plan").stdout)
    labels = next(b for b in plan["builds"] if b["name"] == "sci-s")["labels"]
    assert "org.sciserver.science.left.version" in labels and "org.sciserver.science.s.version" in labels
    left = next(b for b in plan["builds"] if b["name"] == "sci-left")["labels"]
    assert not any(".s." in key for key in left)


def test_a_catalogue_may_bring_its_own_hcl_template_and_a_broken_one_is_one_line(tmp_path):
    template = '# custom\n{% for name, attributes in targets %}target "{{ name }}" {\n' \
               '{% for key, value in attributes.items() %}  {{ key }} = {{ value | hcl }}\n{% endfor %}}\n{% endfor %}'
    root = _catalogue(tmp_path / "c", {**BASE, "docker-bake.hcl.j2": template})
    result = _bakegen(root, "render", "-o", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# custom\n") and 'target "sci-s"' in result.stdout
    (root / "docker-bake.hcl.j2").write_text("{% for x in %}\n")
    broken = _bakegen(root, "render", "-o", "-")
    assert broken.returncode == 2
    assert "docker-bake.hcl.j2:1:" in broken.stderr and "Traceback" not in broken.stderr
