"""bakegen.errors: how problems print and how they are grouped."""
from __future__ import annotations

import pytest

from bakegen.errors import CatalogueError, Problem, error, raise_if_errors, warning


def test_problem_format():
    assert str(error("science/a/sciserver-image.json", "bad", 3)) == "science/a/sciserver-image.json:3: bad"
    assert str(error("science/a/Dockerfile", "bad")) == "science/a/Dockerfile: bad"
    assert str(warning("science/a/Dockerfile", "hmm", 1)) == "science/a/Dockerfile:1: warning: hmm"


def test_catalogue_error_sorts_and_deduplicates():
    problems = [error("b", "two"), error("a", "one", 2), error("a", "zero"), error("b", "two")]
    exc = CatalogueError(problems)
    assert [str(p) for p in exc.problems] == ["a: zero", "a:2: one", "b: two"]
    assert str(exc) == "a: zero\na:2: one\nb: two"
    assert exc.exit_code == 2


def test_raise_if_errors_ignores_warnings():
    raise_if_errors([warning("a", "w")])
    with pytest.raises(CatalogueError) as info:
        raise_if_errors([warning("a", "w"), error("b", "e")])
    assert info.value.problems == (Problem("b", None, "e"),)
