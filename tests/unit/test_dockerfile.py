"""bakegen.dockerfile: the instruction stream and FROM semantics, as BuildKit reads them."""
from __future__ import annotations

import pytest

from bakegen.dockerfile import DockerfileSyntaxError, expand, from_lines, instructions


def refs(text: str, args: dict | None = None) -> list[str]:
    return [f.reference for f in from_lines(text, args) if f.is_image]


def test_continuation_lines_are_joined_and_line_numbers_kept():
    text = "FROM ubuntu:24.04\nRUN apt-get update && \\\n    apt-get install -y curl\nCMD [\"bash\"]\n"
    result = instructions(text)
    assert [(i.keyword, i.line) for i in result] == [("FROM", 1), ("RUN", 2), ("CMD", 4)]
    assert "apt-get update" in result[1].arguments and "install -y curl" in result[1].arguments


def test_from_split_over_continuation_lines():
    text = "FROM \\\n  --platform=linux/amd64 \\\n  reg.io/sci/a:1.0 \\\n  AS base\n"
    (line,) = from_lines(text)
    assert (line.reference, line.platform, line.alias, line.line) == ("reg.io/sci/a:1.0", "linux/amd64", "base", 1)


def test_comments_and_blank_lines_inside_a_continuation_are_skipped():
    text = "RUN echo a \\\n# a comment in the middle\n\n    && echo b\nFROM x:1\n"
    result = instructions(text)
    assert [i.keyword for i in result] == ["RUN", "FROM"]
    assert "# a comment" not in result[0].arguments
    assert result[1].line == 5


def test_comment_lines_are_not_instructions():
    assert refs("# FROM reg.io/sci/zzz:1.0\nFROM ubuntu:24.04\n") == ["ubuntu:24.04"]


def test_parser_directives_escape_backtick():
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM `\n  reg.io/sci/a:1.0\nRUN dir c:\\\n"
    assert refs(text) == ["reg.io/sci/a:1.0"]
    # with the backtick escape, a trailing backslash is an ordinary character
    assert instructions(text)[-1].arguments == "dir c:\\"


def test_escape_directive_only_counts_at_the_top():
    # after a comment, "# escape=`" is just a comment: the backslash stays the escape character
    text = "# hello\n# escape=`\nFROM \\\n  ubuntu:24.04\n"
    assert refs(text) == ["ubuntu:24.04"]


def test_invalid_escape_directive_is_an_error_with_line():
    with pytest.raises(DockerfileSyntaxError) as info:
        instructions("# escape=x\nFROM ubuntu\n")
    assert info.value.line == 1


@pytest.mark.parametrize("keyword", ["from", "From", "FROM", "fRoM"])
def test_from_in_any_case(keyword):
    assert refs(f"{keyword} reg.io/sci/a:1.0\n") == ["reg.io/sci/a:1.0"]


def test_indented_and_tab_separated_from():
    assert refs("   FROM\treg.io/sci/a:1.0\n") == ["reg.io/sci/a:1.0"]


def test_crlf_line_endings():
    assert refs("FROM reg.io/sci/a:1.0\r\nRUN true\r\n") == ["reg.io/sci/a:1.0"]


def test_platform_flag():
    (line,) = from_lines("FROM --platform=linux/arm64 reg.io/sci/a:1.0\n")
    assert line.platform == "linux/arm64" and line.reference == "reg.io/sci/a:1.0"


def test_platform_flag_with_automatic_arg_is_not_a_problem():
    (line,) = from_lines("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n")
    assert line.reference == "golang:1.22" and line.is_image


def test_unknown_from_flag_is_an_error():
    with pytest.raises(DockerfileSyntaxError) as info:
        from_lines("RUN true\nFROM --frobnicate=1 ubuntu\n")
    assert info.value.line == 2


@pytest.mark.parametrize("alias", ["AS base", "as base", "As base"])
def test_as_name_stage(alias):
    (line,) = from_lines(f"FROM reg.io/sci/a:1.0 {alias}\n")
    assert line.reference == "reg.io/sci/a:1.0" and line.alias == "base" and line.is_image


def test_references_to_earlier_stages_are_not_images():
    text = (
        "FROM golang:1.22 AS Build\n"
        "FROM reg.io/sci/a:1.0 AS runtime\n"
        "FROM build\n"  # stage names are case-insensitive
        "FROM runtime AS final\n"
    )
    lines = from_lines(text)
    assert [line.stage for line in lines] == [False, False, True, True]
    assert refs(text) == ["golang:1.22", "reg.io/sci/a:1.0"]


def test_a_stage_name_used_before_it_is_defined_is_an_image():
    lines = from_lines("FROM base\nFROM ubuntu AS base\n")
    assert lines[0].stage is False and lines[0].is_image


def test_scratch_is_not_an_image():
    assert refs("FROM scratch\n") == []


def test_every_from_counts():
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM reg.io/sci/a:1.0\nCOPY --from=build /x /x\nFROM ubuntu\n"
    assert refs(text) == ["golang:1.22", "reg.io/sci/a:1.0", "ubuntu"]


def test_heredoc_bodies_are_not_instructions():
    text = (
        "FROM reg.io/sci/a:1.0\n"
        "RUN <<EOF\n"
        "FROM evil:1.0\n"
        "echo hi\n"
        "EOF\n"
        "COPY <<-'END' /etc/motd\n"
        "\tFROM evil:2.0\n"
        "\tEND\n"
        "RUN <<A <<\"B\"\n"
        "FROM evil:3.0\n"
        "A\n"
        "FROM evil:4.0\n"
        "B\n"
        "CMD [\"bash\"]\n"
    )
    assert refs(text) == ["reg.io/sci/a:1.0"]
    assert [i.keyword for i in instructions(text)] == ["FROM", "RUN", "COPY", "RUN", "CMD"]


def test_unclosed_heredoc_is_an_error():
    with pytest.raises(DockerfileSyntaxError):
        instructions("FROM x\nRUN <<EOF\necho\n")


def test_global_arg_default_substituted():
    assert refs("ARG BASE=reg.io/sci/a:1.0\nFROM ${BASE}\n") == ["reg.io/sci/a:1.0"]
    assert refs("ARG V=1.0\nFROM reg.io/sci/a:$V\n") == ["reg.io/sci/a:1.0"]


def test_arg_in_arg():
    text = "ARG REGISTRY=reg.io\nARG OWNER=sci\nARG BASE=$REGISTRY/${OWNER}/a\nFROM ${BASE}:1.0\n"
    assert refs(text) == ["reg.io/sci/a:1.0"]


def test_several_args_in_one_instruction():
    assert refs("ARG R=reg.io V=2.0\nFROM $R/sci/a:$V\n") == ["reg.io/sci/a:2.0"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("FROM reg.io/sci/a:${V:-1.0}\n", "reg.io/sci/a:1.0"),  # not declared: default
        ("ARG V\nFROM reg.io/sci/a:${V:-1.0}\n", "reg.io/sci/a:1.0"),  # declared without value
        ("ARG V=\nFROM reg.io/sci/a:${V:-1.0}\n", "reg.io/sci/a:1.0"),  # empty: ':-' takes the default
        ("ARG V=\nFROM reg.io/sci/a:1.0${V-x}\n", "reg.io/sci/a:1.0"),  # empty but set: '-' keeps it
        ("ARG V=2.0\nFROM reg.io/sci/a:${V:-1.0}\n", "reg.io/sci/a:2.0"),
        ("ARG S=yes\nFROM ubuntu:24.04${S:+}\n", "ubuntu:24.04"),
    ],
)
def test_default_forms(text, expected):
    assert refs(text) == [expected]


def test_layer_args_override_defaults():
    text = "ARG V=1.0\nFROM reg.io/sci/a:$V\n"
    assert refs(text, {"V": "2.0"}) == ["reg.io/sci/a:2.0"]


def test_layer_args_flow_into_arg_in_arg():
    text = "ARG REG=reg.io\nARG BASE=$REG/sci/a:1.0\nFROM $BASE\n"
    assert refs(text, {"REG": "mirror.example.org"}) == ["mirror.example.org/sci/a:1.0"]


def test_layer_args_need_a_declaration():
    # BuildKit ignores build args that the Dockerfile does not declare before FROM
    (line,) = from_lines("FROM reg.io/sci/a:${V:-1.0}\n", {"V": "2.0"})
    assert line.reference == "reg.io/sci/a:1.0"


def test_args_after_the_first_from_do_not_apply_to_from():
    text = "FROM ubuntu:24.04\nARG LATE=reg.io/sci/a:1.0\nFROM ${LATE:-debian:12}\n"
    assert refs(text) == ["ubuntu:24.04", "debian:12"]


def test_unresolved_variable_is_reported_and_not_an_image():
    (line,) = from_lines("FROM ${NOPE}\n")
    assert line.unresolved == ("NOPE",) and not line.is_image


def test_expand_forms():
    values = {"A": "x", "E": ""}
    assert expand("$A ${A} ${A:-d} ${E:-d} ${E-d} ${U-d} ${A:+alt} ${E:+alt} ${E+alt}", values) == \
        "x x x d  d alt  alt"
    missing: list[str] = []
    assert expand("a${U}b$V", values, missing) == "ab"
    assert missing == ["U", "V"]


def test_written_keeps_the_text_before_expansion():
    (line,) = from_lines("ARG B=reg.io/sci/a:1.0\nFROM $B AS x\n")
    assert line.written == "$B" and line.reference == "reg.io/sci/a:1.0" and line.line == 2


def test_from_with_extra_words_is_an_error():
    with pytest.raises(DockerfileSyntaxError) as info:
        from_lines("FROM a b c d\n")
    assert info.value.line == 1


def test_byte_order_mark_is_ignored():
    """A Dockerfile saved with a UTF-8 BOM is valid for BuildKit."""
    assert refs("\ufeffFROM reg.io/sci/a:1.0\n") == ["reg.io/sci/a:1.0"]
    assert refs("\ufeff# escape=`\nFROM `\n  ubuntu\n") == ["ubuntu"]


def test_only_newlines_separate_lines():
    """BuildKit splits on \\n only; a form feed or U+2028 inside a command is not a new line."""
    text = 'FROM reg.io/sci/a:1.0\nRUN echo "x\u2028FROM evil:1"\nRUN a\x0cFROM evil:2\nCMD x\n'
    assert refs(text) == ["reg.io/sci/a:1.0"]
    assert [i.line for i in instructions(text)] == [1, 2, 3, 4]


@pytest.mark.parametrize("run", [
    'RUN python -c "print(1<<N)"',
    'RUN echo "<<EOF"',
    "RUN echo a<<EOF",
])
def test_double_less_than_inside_a_word_is_not_a_heredoc(run):
    assert refs(f"FROM a:1\n{run}\nFROM b:1\n") == ["a:1", "b:1"]


def test_heredoc_with_file_descriptor():
    assert refs("FROM a:1\nRUN cat 3<<EOF\nFROM evil:1\nEOF\nFROM b:1\n") == ["a:1", "b:1"]
