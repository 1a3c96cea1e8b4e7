"""Git fixtures for --since: a small catalogue in a fresh repository, changed by each test."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}

# a(x:1.0) <- b(x:1.0) <- c(y:1.0); d(z:1.0) apart; compat app -> jup -> common, plain
SCIENCE = {
    "a": ({"image": "x", "compat": "jup"}, "FROM ubuntu:22.04\nRUN echo a\n"),
    "b": ({"image": "x", "compat": "jup"}, "ARG REPO=reg.example.org\nFROM ${REPO}/sci/a:1.0\nRUN echo b\n"),
    "c": ({"image": "y", "compat": "app"}, "FROM other.example.org/x/sci/b:1.0 AS base\nRUN echo c\n"),
    "d": ({"image": "z", "compat": "plain"}, "FROM busybox:1.36\nRUN echo d\n"),
}
COMPAT = {
    "common": ({}, "RUN echo common\n", {"motd": "common\n"}),
    "jup": ({"includes": ["common"]}, "EXPOSE 8888\n", {"motd": "jup\n"}),
    "app": ({"includes": ["jup"]}, "RUN echo app\n", {}),
    "plain": ({}, "RUN echo plain\n", {}),
}


class Repo:
    def __init__(self, root: Path):
        self.root = root

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True,
                              text=True).stdout.strip()

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def science(self, name: str, descriptor: dict, dockerfile: str) -> None:
        self.write(f"science/{name}/sciserver-image.json", json.dumps(descriptor))
        self.write(f"science/{name}/Dockerfile", dockerfile)

    def commit(self, message: str = "change") -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    def bakegen(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(["bakegen", *args], cwd=cwd or self.root, capture_output=True, text=True)

    def plan(self, *args: str) -> dict:
        result = self.bakegen("render", "--format", "plan", "--offline", *args)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def planned(self, *args: str) -> set[str]:
        return {build["name"] for build in self.plan(*args)["builds"]}


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "catalogue"
    root.mkdir()
    repo = Repo(root)
    repo.git("init", "-q", "-b", "main")
    for name, (descriptor, dockerfile) in SCIENCE.items():
        repo.science(name, descriptor, dockerfile)
    for name, (descriptor, fragment, files) in COMPAT.items():
        repo.write(f"compat/{name}/sciserver-image.json", json.dumps(descriptor))
        repo.write(f"compat/{name}/Dockerfile", fragment)
        for file, text in files.items():
            repo.write(f"compat/{name}/{file}", text)
    repo.write("README.md", "catalogue\n")
    repo.commit("init")
    return repo
