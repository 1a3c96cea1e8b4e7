"""Dockerfile reading: instructions, parser directives, global ARGs and FROM lines.

Written here rather than taken from dockerfile-parse because that library does not know
heredocs (a ``FROM`` inside ``RUN <<EOF`` would count as a stage) and does not expand
ARGs the way BuildKit does; bakegen only needs the instruction stream and FROM semantics.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*(syntax|escape|check)\s*=\s*(.*?)\s*$", re.IGNORECASE)
# A heredoc is a whole word "[fd]<<[-]NAME" (BuildKit: ^(\d*)<<(-?)([^<]*)$ on raw-quoted words),
# so "a<<b" or '"<<EOF"' inside a command is not one.
_HEREDOC = re.compile(r"(?<!\S)\d*<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2(?!\S)")
_HEREDOC_INSTRUCTIONS = {"RUN", "COPY", "ADD"}
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")

# BuildKit defines these in the global scope without an ARG instruction.
AUTOMATIC_PLATFORM_ARGS = frozenset(
    f"{prefix}{suffix}"
    for prefix in ("BUILD", "TARGET")
    for suffix in ("PLATFORM", "OS", "ARCH", "VARIANT")
)


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    arguments: str  # continuation lines joined, heredoc bodies left out
    line: int  # 1-based line of the keyword


@dataclass(frozen=True)
class FromLine:
    """One FROM instruction of a Dockerfile."""

    line: int
    written: str  # the reference as written, before ARG expansion
    reference: str  # after ARG expansion
    platform: str | None
    alias: str | None
    stage: bool  # names an earlier stage of the same Dockerfile, not an image
    unresolved: tuple[str, ...]  # variables with no value

    @property
    def is_image(self) -> bool:
        return not self.stage and self.reference.lower() != "scratch" and not self.unresolved


class DockerfileSyntaxError(ValueError):
    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def instructions(text: str) -> list[Instruction]:
    """Split Dockerfile text into instructions, the way BuildKit's parser does."""
    # BuildKit drops a UTF-8 byte-order mark and splits lines on "\n" only (a trailing "\r" is
    # dropped); str.splitlines() would also split on \f, \v, \x85, \u2028... inside an instruction.
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    escape = "\\"
    index = 0
    seen_directives: set[str] = set()
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        if not match or match.group(1).lower() in seen_directives:
            break
        key = match.group(1).lower()
        seen_directives.add(key)
        if key == "escape":
            if match.group(2) not in ("\\", "`"):
                raise DockerfileSyntaxError(f"invalid escape directive {match.group(2)!r}", index + 1)
            escape = match.group(2)
        index += 1

    result: list[Instruction] = []
    total = len(lines)
    while index < total:
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start = index + 1
        parts: list[str] = []
        current = lines[index]
        while True:
            index += 1
            trimmed = current.rstrip()
            if not trimmed.endswith(escape):
                parts.append(current)
                break
            parts.append(trimmed[: -len(escape)])
            while index < total and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                index += 1
            if index >= total:
                break
            current = lines[index]
        logical = "".join(parts).strip()
        keyword, _, arguments = logical.partition(" ")
        if "\t" in keyword:
            keyword, _, rest = keyword.partition("\t")
            arguments = f"{rest} {arguments}"
        keyword = keyword.upper()
        arguments = arguments.strip()
        if keyword in _HEREDOC_INSTRUCTIONS:
            for heredoc in _HEREDOC.finditer(arguments):
                strip_tabs, word = heredoc.group(1) == "-", heredoc.group(3)
                while index < total:
                    body_line = lines[index].lstrip("\t") if strip_tabs else lines[index]
                    index += 1
                    if body_line == word:
                        break
                else:
                    raise DockerfileSyntaxError(f"heredoc <<{word} is never closed", start)
        result.append(Instruction(keyword, arguments, start))
    return result


def expand(value: str, variables: dict[str, str], missing: list[str] | None = None) -> str:
    """Expand ``$VAR``, ``${VAR}``, ``${VAR:-word}``, ``${VAR:+word}`` (and the forms without
    colon) as BuildKit does; names with no value expand to nothing and are added to ``missing``."""

    def substitute(match: re.Match) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3)
        is_set = name in variables
        current = variables.get(name, "")
        if operator in (":-", "-"):
            use_default = not current if operator == ":-" else not is_set
            return expand(word, variables, missing) if use_default else current
        if operator in (":+", "+"):
            use_alternative = bool(current) if operator == ":+" else is_set
            return expand(word, variables, missing) if use_alternative else ""
        if not is_set and missing is not None:
            missing.append(name)
        return current

    if "$" not in value:
        return value
    return _VARIABLE.sub(substitute, value)


def _arg_assignments(arguments: str, line: int) -> list[tuple[str, str | None]]:
    try:
        words = shlex.split(arguments, posix=True)
    except ValueError as exc:
        raise DockerfileSyntaxError(f"ARG: {exc}", line) from None
    if not words:
        raise DockerfileSyntaxError("ARG needs a name", line)
    assignments = []
    for word in words:
        name, has_value, value = word.partition("=")
        assignments.append((name, value if has_value else None))
    return assignments


def from_lines(text: str, build_args: dict[str, str] | None = None) -> list[FromLine]:
    """Every FROM of a Dockerfile, with global ARGs expanded (``build_args`` win over defaults)."""
    build_args = build_args or {}
    global_args: dict[str, str] = {}
    stages: set[str] = set()
    result: list[FromLine] = []
    for instruction in instructions(text):
        if instruction.keyword == "ARG" and not result:
            for name, default in _arg_assignments(instruction.arguments, instruction.line):
                if name in build_args:
                    global_args[name] = build_args[name]
                elif default is not None:
                    global_args[name] = expand(default, global_args)
        elif instruction.keyword == "FROM":
            result.append(_parse_from(instruction, global_args, stages))
            if result[-1].alias:
                stages.add(result[-1].alias.lower())
    return result


def _parse_from(instruction: Instruction, global_args: dict[str, str], stages: set[str]) -> FromLine:
    words = instruction.arguments.split()
    platform = None
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0)[2:].partition("=")
        if flag.lower() != "platform":
            raise DockerfileSyntaxError(f"FROM: unknown flag --{flag}", instruction.line)
        platform = value
    alias = None
    if len(words) == 3 and words[1].lower() == "as":
        alias = words[2]
        words = words[:1]
    if len(words) != 1:
        raise DockerfileSyntaxError(
            f"FROM needs one image and an optional 'AS name', got {instruction.arguments!r}",
            instruction.line,
        )
    written = words[0]
    missing: list[str] = []
    reference = expand(written, global_args, missing)
    unresolved = tuple(sorted(set(missing)))
    if platform is not None:
        platform = expand(platform, global_args)
    return FromLine(
        line=instruction.line,
        written=written,
        reference=reference,
        platform=platform,
        alias=alias,
        stage=reference.lower() in stages,
        unresolved=unresolved,
    )



def normalized_instruction(text: str) -> str:
    keyword, _, arguments = " ".join(text.split()).partition(" ")
    return f"{keyword.upper()} {arguments}".strip()
