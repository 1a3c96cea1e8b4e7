"""Problems and the error classes the CLI maps to exit codes.

Exit codes (one per class of failure, as cibuildwheel does):
0 success, 1 a build failed, 2 the catalogue or the command line is wrong,
3 the engine or builder cannot be reached.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about the catalogue, printed as ``path[:line]: message``."""

    path: str
    line: int | None
    message: str
    warning: bool = False

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        prefix = "warning: " if self.warning else ""
        return f"{where}: {prefix}{self.message}"


def error(path: str, message: str, line: int | None = None) -> Problem:
    return Problem(path, line, message)


def warning(path: str, message: str, line: int | None = None) -> Problem:
    return Problem(path, line, message, warning=True)


class BakegenError(Exception):
    exit_code = 1


class UsageError(BakegenError):
    """The command line or the environment asked for something impossible."""

    exit_code = 2


class CatalogueError(BakegenError):
    """Every error found in the catalogue, reported at once."""

    exit_code = 2

    def __init__(self, problems):
        self.problems = tuple(sorted(set(problems), key=_problem_order))
        super().__init__("\n".join(str(p) for p in self.problems))


class BuildFailed(BakegenError):
    exit_code = 1


class EngineUnavailable(BakegenError):
    exit_code = 3


def _problem_order(problem: Problem):
    return (problem.path, problem.line or 0, problem.message)


def raise_if_errors(problems) -> None:
    errors = [p for p in problems if not p.warning]
    if errors:
        raise CatalogueError(errors)
