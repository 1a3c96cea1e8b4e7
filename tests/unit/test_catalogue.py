"""bakegen.catalogue: discovery and every validation of sciserver-image.json."""
from __future__ import annotations

import pytest

from bakegen.catalogue import load_catalogue
from tests.support import compat, science, tree, write_tree


@pytest.fixture
def load(tmp_path):
    """``load(files) -> (catalogue, [problem lines])``."""

    def run(files: dict):
        root = write_tree(tmp_path / "cat", files)
        catalogue, problems = load_catalogue(root)
        return catalogue, [str(p) for p in problems]

    return run


def only(lines: list[str], fragment: str) -> str:
    found = [line for line in lines if fragment in line]
    assert len(found) == 1, f"expected one line with {fragment!r} in {lines}"
    return found[0]


def test_valid_catalogue_with_defaults(load):
    catalogue, problems = load(tree(
        science("b", "FROM ubuntu\n", image="bee", version="2.0", target="bt", compat="jup",
                platforms=["linux/amd64", "linux/arm64"], args={"X": "1", "A": "2"}, description="d"),
        science("a"),
        compat("jup", includes=["common"]), compat("common"),
    ))
    assert problems == []
    assert [layer.directory for layer in catalogue.science] == ["a", "b"]  # sorted
    a, b = catalogue.science
    assert (a.image, a.version, a.target, a.compat, a.platforms, a.args) == ("a", "1.0", "a", None, None, ())
    assert (b.image, b.version, b.target, b.compat) == ("bee", "2.0", "bt", "jup")
    assert b.platforms == ("linux/amd64", "linux/arm64")
    assert b.args == (("A", "2"), ("X", "1"))
    assert b.description == "d" and b.dockerfile_text == "FROM ubuntu\n"
    assert [c.directory for c in catalogue.compat] == ["common", "jup"]
    assert catalogue.compat_by_name()["jup"].includes == ("common",)


def test_discovery_direct_children_with_descriptor_only(load):
    catalogue, problems = load(tree(
        science("a"),
        {"science/no-descriptor/Dockerfile": "FROM x\n",
         "science/.hidden/sciserver-image.json": {"image": "hidden"},
         "science/a/nested/sciserver-image.json": {"image": "nested"},
         "science/README.md": "not a layer\n"},
    ))
    # only a warning: a directory with a Dockerfile but no descriptor is probably a mistake
    assert [str(p) for p in problems] == [
        "science/no-descriptor: warning: has a Dockerfile but no sciserver-image.json, so it is not part of the catalogue"]
    assert [layer.directory for layer in catalogue.science] == ["a"]


def test_missing_science_and_compat_dirs_are_empty(load):
    catalogue, problems = load({"README.md": "empty\n"})
    assert problems == [] and catalogue.science == () and catalogue.compat == ()


def test_malformed_json_reports_line_and_column(load):
    catalogue, problems = load({
        "science/a/sciserver-image.json": '{\n  "image": "a",\n  "version" "1.0"\n}\n',
        "science/a/Dockerfile": "FROM x\n",
    })
    line = only(problems, "invalid JSON")
    assert line.startswith("science/a/sciserver-image.json:3: invalid JSON")
    assert "column 13" in line
    assert "science/a" in catalogue.unloaded


def test_malformed_compat_json(load):
    _, problems = load({"compat/c/sciserver-image.json": '{"includes": [}', "compat/c/Dockerfile": "RUN true\n"})
    assert only(problems, "invalid JSON").startswith("compat/c/sciserver-image.json:1: invalid JSON")


def test_top_level_must_be_an_object(load):
    _, problems = load({"science/a/sciserver-image.json": "[1, 2]\n", "science/a/Dockerfile": "FROM x\n"})
    assert only(problems, "JSON object").startswith("science/a/sciserver-image.json:1:")


def test_missing_image(load):
    _, problems = load({"science/a/sciserver-image.json": {"version": "1.0"}, "science/a/Dockerfile": "FROM x\n"})
    assert "'image' is required" in only(problems, "image")


@pytest.mark.parametrize("key, value, expected", [
    ("image", 5, '"image": "5"'),
    ("version", 2, '"version": "2"'),
    ("target", 7, '"target": "7"'),
])
def test_numbers_instead_of_strings_show_the_string_to_write(load, key, value, expected):
    _, problems = load(science("a", **{key: value}))
    line = only(problems, "must be a string")
    assert expected in line and line.startswith("science/a/sciserver-image.json:")


def test_json_float_version_keeps_its_digits(load):
    """1.10 written as a JSON number must be shown as "1.10" (upstream turned it into 1.1)."""
    _, problems = load({
        "science/a/sciserver-image.json": '{\n  "image": "a",\n  "version": 1.10\n}\n',
        "science/a/Dockerfile": "FROM x\n",
    })
    line = only(problems, "must be a string")
    assert line.startswith("science/a/sciserver-image.json:3:")
    assert '"version": "1.10"' in line


def test_nested_number_names_the_nested_key(load):
    _, problems = load(science("a", args={"HTTP_PORT": 8080}))
    line = only(problems, "must be a string")
    assert "args.HTTP_PORT" in line and '"HTTP_PORT": "8080"' in line
    assert '"args":' not in line


@pytest.mark.parametrize("key, value", [
    ("platforms", "linux/amd64"), ("platforms", []), ("args", ["A=1"]), ("compat", ["jup"]),
    ("description", {"x": 1}), ("version", True), ("image", None),
])
def test_wrong_types(load, key, value):
    catalogue, problems = load(science("a", **{key: value}))
    assert len(problems) == 1 and problems[0].startswith("science/a/sciserver-image.json:2:"), problems
    assert key in problems[0]
    assert "science/a" in catalogue.unloaded


def test_compat_includes_must_be_a_list(load):
    _, problems = load(tree(compat("common"), {"compat/jup/sciserver-image.json": {"includes": "common"},
                                               "compat/jup/Dockerfile": "RUN true\n"}))
    assert "includes" in only(problems, "compat/jup/sciserver-image.json")


def test_unknown_key_with_did_you_mean(load):
    _, problems = load(science("a", compatt="jup"))
    assert only(problems, "unknown key") == \
        "science/a/sciserver-image.json:2: unknown key 'compatt' (did you mean 'compat'?)"


def test_unknown_key_without_close_match_lists_known_keys(load):
    _, problems = load(science("a", zzz=1))
    line = only(problems, "unknown key 'zzz'")
    assert "known keys:" in line and "version" in line


def test_unknown_compat_key(load):
    _, problems = load(compat("c", include=["x"]))
    assert "did you mean 'includes'" in only(problems, "compat/c/sciserver-image.json")


@pytest.mark.parametrize("key", ["image", "target"])
def test_upper_case_names_are_refused(load, key):
    _, problems = load(science("a", **{key: "Essentials"}))
    assert "lower-case" in only(problems, f"'Essentials'")


def test_upper_case_directory_name_as_default_target(load):
    _, problems = load(science("Essentials", image="essentials"))
    line = only(problems, "target (the directory name)")
    assert line.startswith("science/Essentials/sciserver-image.json: ")


@pytest.mark.parametrize("version", ["", "..", "1.0-beta", "v1", "1.", "1..0", "latest"])
def test_invalid_versions(load, version):
    catalogue, problems = load(science("a", version=version))
    assert only(problems, "invalid version") == (
        f'science/a/sciserver-image.json:2: invalid version {version!r}: use dot-separated numbers such as "1.0"')
    assert catalogue.science == ()


@pytest.mark.parametrize("version", ["1", "1.0", "10.2.3", "2024.1"])
def test_valid_versions(load, version):
    catalogue, problems = load(science("a", version=version))
    assert problems == [] and catalogue.science[0].version == version


def test_invalid_platform(load):
    _, problems = load(science("a", platforms=["linux/amd64", "amd64"]))
    assert "invalid platform 'amd64'" in only(problems, "platform")


def test_duplicate_targets_name_both_directories(load):
    _, problems = load(tree(science("one", target="same"), science("two", target="same")))
    assert sorted(problems) == [
        "science/one/sciserver-image.json:2: duplicate target 'same': also used by science/two",
        "science/two/sciserver-image.json:2: duplicate target 'same': also used by science/one",
    ]


def test_duplicate_target_against_a_directory_name(load):
    """An explicit target equal to another layer's default (its directory name) is a duplicate,
    whatever the versions."""
    _, problems = load(tree(science("base", version="1.0"), science("other", target="base", version="2.0")))
    assert only(problems, "science/base/") == \
        "science/base/sciserver-image.json: duplicate target 'base': also used by science/other"
    assert "also used by science/base" in only(problems, "science/other/")


def test_missing_science_dockerfile(load):
    catalogue, problems = load({"science/a/sciserver-image.json": {"image": "a"}})
    assert problems == ["science/a/Dockerfile: missing Dockerfile"]
    assert "science/a" in catalogue.unloaded


def test_missing_compat_dockerfile(load):
    catalogue, problems = load({"compat/c/sciserver-image.json": {}})
    assert only(problems, "compat/c/Dockerfile").startswith("compat/c/Dockerfile: missing Dockerfile")
    assert "compat/c" in catalogue.unloaded


def test_duplicate_json_keys(load):
    _, problems = load({
        "science/a/sciserver-image.json": '{\n  "image": "a",\n  "version": "1.0",\n  "version": "2.0"\n}\n',
        "science/a/Dockerfile": "FROM x\n",
    })
    assert "key 'version' is given twice" in only(problems, "twice")
    assert only(problems, "twice").startswith("science/a/sciserver-image.json:3:")


def test_every_problem_is_reported_at_once(load):
    """Upstream stops at the first bad directory; bakegen collects all of them."""
    _, problems = load(tree(
        science("a", version=""),
        science("b", image="B"),
        {"science/c/sciserver-image.json": "{", "science/c/Dockerfile": "FROM x\n"},
        {"science/d/sciserver-image.json": {"image": "d"}},
        compat("e", bogus=1),
    ))
    paths = sorted({line.split(":", 1)[0] for line in problems})
    assert paths == ["compat/e/sciserver-image.json", "science/a/sciserver-image.json",
                     "science/b/sciserver-image.json", "science/c/sciserver-image.json", "science/d/Dockerfile"]


def test_several_problems_in_one_file_are_all_reported(load):
    _, problems = load(science("A", image="X", version="x", zz=1))
    assert len(problems) == 4, problems


def test_descriptor_that_is_not_utf8_is_a_problem_not_a_crash(load):
    _, problems = load({"science/a/sciserver-image.json": b"\xff\xfe{", "science/a/Dockerfile": "FROM x\n"})
    assert only(problems, "science/a/sciserver-image.json")


@pytest.mark.parametrize("key, value, message", [
    ("platforms", "linux/amd64", "must be of type array, not string"),
    ("args", ["A=1"], "must be of type object, not array"),
    ("compat", ["jup"], "must be of type string, not array"),
    ("description", {"x": 1}, "must be of type string, not object"),
    ("version", True, "must be of type string, not boolean"),
    ("image", None, "must be of type string, not null"),
])
def test_wrong_types_use_json_names(load, key, value, message):
    _, problems = load(science("a", **{key: value}))
    assert problems == [f"science/a/sciserver-image.json:2: {key}: {message}"]


def test_invalid_json_and_missing_dockerfile_are_both_reported(load):
    _, problems = load({"science/a/sciserver-image.json": "{", "compat/c/sciserver-image.json": "{"})
    assert [p.split(":", 1)[0] for p in sorted(problems)] == [
        "compat/c/Dockerfile", "compat/c/sciserver-image.json", "science/a/Dockerfile", "science/a/sciserver-image.json"]


def test_line_numbers_point_at_the_top_level_key(load):
    _, problems = load({
        "science/a/sciserver-image.json": '{\n  "image": "a",\n  "args": {\n    "version": "x"\n  },\n'
                                          '  "description": "\\"version\\": 1",\n  "version": 2\n}\n',
        "science/a/Dockerfile": "FROM x\n",
    })
    assert problems == ['science/a/sciserver-image.json:7: \'version\' must be a string, not a number: '
                        'write "version": "2"']
