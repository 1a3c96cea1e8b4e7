"""Command line: validate, render, graph, build. Options -> plan -> output or execution."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from . import bake, display
from .catalogue import load_catalogue
from .config import load_settings
from .errors import BakegenError, CatalogueError, Problem, raise_if_errors
from .gitrepo import BuildInfo, build_info
from .graph import LayerGraph, resolve
from .plan import Plan, Settings, make_plan
from .build import BAKE_FILE, REPORT_FILE, BuildOptions, execute, failed_layer, select_targets
from .errors import BuildFailed
from .references import is_platform
from .runner import BakeFailure, DockerRunner, stderr_echo
from .staging import stage, write_atomic


@dataclass(frozen=True)
class Loaded:
    root: Path
    settings: Settings
    graph: LayerGraph


def _echo_problems(problems: list[Problem]) -> None:
    for problem in sorted(problems, key=lambda p: (p.path, p.line or 0, p.message)):
        click.echo(str(problem), err=True)


def load(root: Path, repo: str | None) -> Loaded:
    """Catalogue + graph; every error at once, warnings printed."""
    settings = load_settings(root, repo)
    catalogue, problems = load_catalogue(root)
    graph, more = resolve(catalogue, settings.platforms)
    problems = problems + more
    _echo_problems([p for p in problems if p.warning])
    raise_if_errors(problems)
    return Loaded(root=root, settings=settings, graph=graph)


def root_option(function):
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True,
        help="Catalogue root (holds science/ and compat/).",
    )(function)


def planning_options(function):
    for option in reversed([
        click.option("--repo", help="Registry prefix of every tag [env BAKEGEN_REPO, bakegen.yaml repo:, "
                                    "default compute.repo.sciserver.org]."),
        click.option("--build-id", metavar="N-H", help="Use this build id instead of git's (outside git, "
                                                       "in a shallow clone)."),
    ]):
        function = option(function)
    return root_option(function)


def _plan(root: Path, repo: str | None, build_id: str | None) -> tuple[Loaded, BuildInfo, Plan]:
    loaded = load(root, repo)
    info = build_info(root, build_id)
    plan = make_plan(loaded.graph, info, loaded.settings)
    return loaded, info, plan


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="bakegen")
def cli():
    """Compile a science/compat image catalogue into one docker buildx bake graph."""


@cli.command()
@root_option
@click.option("--repo", help="Registry prefix (checked like render's).")
def validate(root: Path, repo: str | None):
    """Check the catalogue; print every problem, exit 2 if there is an error."""
    loaded = load(root, repo)
    graph = loaded.graph
    click.echo(f"ok: {len(graph.layers)} science layers, {len(graph.finals)} final images, "
               f"{len(graph.compat)} compat layers", err=True)


@cli.command()
@planning_options
@click.option("--format", "output_format", type=click.Choice(["hcl", "json", "plan"]), default="hcl",
              show_default=True, help="docker-bake.hcl, docker-bake.json, or the plan as JSON.")
@click.option("-o", "--output", help="File to write ('-' for stdout). Default: docker-bake.hcl or "
                                     "docker-bake.json in the root; the plan goes to stdout.")
def render(root: Path, repo, build_id, output_format: str, output: str | None):
    """Write the bake file (and stage compat contexts under .bakegen/)."""
    loaded, info, plan = _plan(root, repo, build_id)
    stage(root, plan)
    if output_format == "plan":
        text = display.plan_json(plan)
        output = output or "-"
    elif output_format == "json":
        text = bake.to_json(plan)
        output = output or str(root / "docker-bake.json")
    else:
        text = bake.to_hcl(plan)
        output = output or str(root / "docker-bake.hcl")
    if output == "-":
        click.echo(text, nl=False)
    else:
        write_atomic(Path(output), text)
    click.echo(display.plan_summary(plan, loaded.graph), err=True)
    if output != "-":
        click.echo(f"wrote {output}", err=True)


@cli.command()
@root_option
@click.option("--repo", help="Registry prefix.")
@click.option("--format", "output_format", type=click.Choice(["text", "mermaid", "dot"]), default="text",
              show_default=True)
def graph(root: Path, repo, output_format: str):
    """Show the catalogue: science layers, finals, compat layers and includes."""
    loaded = load(root, repo)
    writer = {"text": display.graph_text, "mermaid": display.graph_mermaid, "dot": display.graph_dot}
    click.echo(writer[output_format](loaded.graph), nl=False)


def _key_value(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE, e.g. sci-a.args.X=1", param_hint="--set")
        pairs.append((key, setting))
    return tuple(pairs)


def _platforms(values: tuple[str, ...]) -> tuple[str, ...]:
    platforms = tuple(p.strip() for value in values for p in value.split(",") if p.strip())
    for platform in platforms:
        if not is_platform(platform):
            raise click.BadParameter(f"{platform!r}: expected os/arch[/variant], e.g. linux/arm64",
                                     param_hint="--platform")
    return tuple(dict.fromkeys(platforms))


@cli.command()
@planning_options
@click.argument("targets", nargs=-1)
@click.option("--push", is_flag=True, help="Push every built tag to its registry.")
@click.option("--load", is_flag=True, help="Load the images into the local image store.")
@click.option("--platform", "platforms", multiple=True, metavar="P",
              help="Build for these platforms instead of the catalogue's (repeat or comma-separate).")
@click.option("--builder", help="buildx builder to use (remote, Kubernetes, docker-container...).")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Passed to bake's --set.")
@click.option("--progress", type=click.Choice(["auto", "plain", "quiet"]), default="auto", show_default=True)
@click.option("--metadata-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write bake's metadata (digests per target) here.")
def build(root: Path, repo, build_id, targets, push, load, platforms, builder, overrides, progress, metadata_file):
    """Render, then build TARGETs (image, image:version, science target or bake target; default all)
    with docker buildx bake in one solve."""
    options = BuildOptions(
        targets=tuple(targets), push=push, load=load, platforms=_platforms(platforms), builder=builder,
        overrides=_key_value(overrides), progress=progress,
        metadata_file=metadata_file.resolve() if metadata_file else None,
    )
    loaded, info, plan = _plan(root, repo, build_id)
    if not plan.targets:
        click.echo("nothing to build: the plan is empty", err=True)
        return
    select_targets(plan, options.targets)
    runner = DockerRunner()
    runner.check_engine(builder)
    stage(root, plan)
    bake_file = root / BAKE_FILE
    write_atomic(bake_file, bake.to_json(plan))
    click.echo(display.plan_summary(plan, loaded.graph), err=True)
    echo = (lambda line: None) if progress == "quiet" else stderr_echo
    try:
        report = execute(root.resolve(), plan, bake_file.resolve(), options, runner, echo)
    except BakeFailure as failure:
        dockerfiles = {d: layer.dockerfile_text for d, layer in loaded.graph.layers.items()}
        where = failed_layer(plan, failure.steps, dockerfiles) or "an unknown target"
        raise BuildFailed(f"build failed in {where}: {failure.message}") from None
    for entry in report["targets"]:
        click.echo(f"{entry['image']:<24} {entry['target']:<28} {entry['digest'] or '-'}")
        for tag in entry["tags"]:
            click.echo(f"    {tag}")
        for platform, digest in sorted(entry["platforms"].items()):
            click.echo(f"    {platform}: {digest}")
    click.echo(f"built {len(report['targets'])} target(s) in {report['duration_seconds']:.1f} s; "
               f"report: {root / REPORT_FILE}", err=True)


def main(argv=None) -> None:
    try:
        cli.main(args=argv, prog_name="bakegen", standalone_mode=False)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        n = len(exc.problems)
        click.echo(f"bakegen: {n} error{'s' if n != 1 else ''}", err=True)
        sys.exit(exc.exit_code)
    except BakegenError as exc:
        click.echo(f"bakegen: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("bakegen: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(0)
