"""Bake file emission: the plan as docker-bake JSON, or as HCL from docker-bake.hcl.j2.

Bake reads both formats as HCL templates, so every literal ``${`` and ``%{`` in a value is
escaped (``$${``, ``%%{``). Both forms resolve to the same configuration under
``docker buildx bake --print``.
"""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from .errors import UsageError
from .plan import Plan, Target

TEMPLATE_NAME = "docker-bake.hcl.j2"


def escape(value: str) -> str:
    return value.replace("${", "$${").replace("%{", "%%{")


def target_dict(target: Target) -> dict:
    """One bake target, with the attribute order buildx itself prints."""
    attributes: dict = {"context": target.context}
    if target.dockerfile_text is not None:
        attributes["dockerfile-inline"] = target.dockerfile_text
    else:
        attributes["dockerfile"] = target.dockerfile
    if target.args:
        attributes["args"] = dict(target.args)
    if target.contexts:
        attributes["contexts"] = dict(target.contexts)
    attributes["labels"] = dict(target.labels)
    attributes["tags"] = list(target.tags)
    attributes["platforms"] = list(target.platforms)
    return _escaped(attributes)


def bake_dict(plan: Plan) -> dict:
    result: dict = {"group": {name: {"targets": list(members)} for name, members in plan.groups}}
    if plan.targets:  # bake refuses an empty "target" object
        result["target"] = {target.name: target_dict(target) for target in plan.targets}
    return result


def to_json(plan: Plan) -> str:
    return json.dumps(bake_dict(plan), indent=2) + "\n"


def to_hcl(plan: Plan, template: str | None = None, template_name: str = TEMPLATE_NAME) -> str:
    """Render the HCL template (``template`` text, default the shipped one); a broken
    template is a UsageError naming it, not a traceback."""
    source = template if template is not None else template_text()
    try:
        rendered = _environment().from_string(source).render(
            groups=[(name, list(members)) for name, members in plan.groups],
            targets=[(target.name, target_dict(target)) for target in plan.targets],
            repo=plan.repo,
            build_id=plan.build.build_id,
        )
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"{template_name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise UsageError(f"{template_name}: {exc}") from None
    return rendered if rendered.endswith("\n") else rendered + "\n"


def _escaped(value):
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def hcl_string(value: str) -> str:
    """A quoted HCL string; ``value`` is already template-escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    escaped = escaped.replace("\t", "\\t")
    return f'"{escaped}"'


def hcl_value(value, indent: int = 2) -> str:
    pad = " " * indent
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + "".join(f"{pad}  {hcl_value(v, indent + 2)},\n" for v in value) + f"{pad}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{\n" + "".join(f"{pad}  {hcl_string(k)} = {hcl_value(v, indent + 2)}\n" for k, v in value.items()) + f"{pad}}}"
    raise TypeError(f"cannot write {type(value).__name__} as HCL")


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["hcl"] = hcl_value
    environment.filters["hcl_string"] = hcl_string
    return environment


def template_text() -> str:
    """The template shipped in the wheel, or the repository's top-level one in a checkout."""
    packaged = resources.files("bakegen").joinpath("templates", TEMPLATE_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / TEMPLATE_NAME
    return checkout.read_text(encoding="utf-8")
