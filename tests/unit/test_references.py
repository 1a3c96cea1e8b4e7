"""bakegen.references: Docker's naming rules, familiar form, numeric versions, bake names."""
from __future__ import annotations

import pytest

from bakegen import references
from bakegen.references import bake_name, parse_image_ref, version_key


@pytest.mark.parametrize(
    "written, familiar",
    [
        ("ubuntu", "ubuntu"),
        ("ubuntu:latest", "ubuntu"),
        ("ubuntu:24.04", "ubuntu:24.04"),
        ("library/ubuntu:24.04", "ubuntu:24.04"),
        ("docker.io/library/ubuntu:24.04", "ubuntu:24.04"),
        ("index.docker.io/library/ubuntu:24.04", "ubuntu:24.04"),
        ("docker.io/jupyter/base-notebook:latest", "jupyter/base-notebook"),
        ("docker.io/sci/a:1.0", "sci/a:1.0"),
        ("reg.io/sci/a:1.0", "reg.io/sci/a:1.0"),
        ("localhost:5000/sci/a:1.0", "localhost:5000/sci/a:1.0"),
        ("reg.io/sci/a:1.0@sha256:" + "a" * 64, "reg.io/sci/a:1.0@sha256:" + "a" * 64),
        ("reg.io/sci/a@sha256:" + "b" * 64, "reg.io/sci/a@sha256:" + "b" * 64),
    ],
)
def test_familiar_form(written, familiar):
    assert parse_image_ref(written).familiar == familiar


def test_normalised_name_domain_and_path():
    ref = parse_image_ref("a:1.0")
    assert (ref.name, ref.domain, ref.path, ref.tag, ref.digest) == ("docker.io/library/a", "docker.io",
                                                                     "library/a", "1.0", None)
    ref = parse_image_ref("reg.example.org:5000/team/sci/a:1.0")
    assert (ref.domain, ref.path) == ("reg.example.org:5000", "team/sci/a")


@pytest.mark.parametrize("text", ["", " ubuntu", "Ubuntu:1", "reg.io/Sci/a:1", "a:b:c", "a@sha256:xyz"])
def test_invalid_references(text):
    with pytest.raises(ValueError):
        parse_image_ref(text)


def test_versions_compare_numerically():
    assert version_key("9.0") < version_key("10.0")
    assert version_key("2.9") < version_key("2.10")
    assert version_key("1.0") < version_key("1.0.1")
    assert sorted(["10.0", "9.0", "1.10", "1.9"], key=version_key) == ["1.9", "1.10", "9.0", "10.0"]


@pytest.mark.parametrize("value, ok", [
    ("1.0", True), ("10", True), ("2.10.3", True), ("", False), ("..", False), ("1.", False), (".1", False),
    ("1.0-beta", False), ("v1.0", False), ("1..0", False), ("1" * 129, False),
])
def test_is_version(value, ok):
    assert references.is_version(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("essentials", True), ("sci-py", True), ("a.b", True), ("a_b", True), ("a__b", True), ("a--b", True),
    ("Essentials", False), ("", False), ("-a", False), ("a-", False), ("a/b", False), ("a b", False),
    ("a..b", False),
])
def test_is_name_component(value, ok):
    assert references.is_name_component(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("compute.repo.sciserver.org", True), ("localhost:5000/team", True), ("reg.io/a/b", True),
    ("Reg.io", True),  # registry host names may be upper case
    ("reg.io/Team", False), ("reg.io/", False), ("", False),
])
def test_is_repo_prefix(value, ok):
    assert references.is_repo_prefix(value) is ok


@pytest.mark.parametrize("value, ok", [
    ("linux/amd64", True), ("linux/arm64/v8", True), ("linux", False), ("Linux/amd64", False),
])
def test_is_platform(value, ok):
    assert references.is_platform(value) is ok


def test_bake_name():
    assert bake_name("sci", "essentials") == "sci-essentials"
    assert bake_name("rel", "essentials", "2.0") == "rel-essentials-2_0"
    assert bake_name("rel", "a.b", "1.10") == "rel-a_b-1_10"
    assert bake_name("x:y/z") == "x_y_z"
