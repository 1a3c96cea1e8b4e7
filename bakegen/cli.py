"""Command line: validate, render, graph, build. Options -> plan -> output or execution."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from . import bake, display
from .build import BAKE_FILE, REPORT_FILE, BuildOptions, execute, failed_layer, select_targets
from .errors import BakegenError, BuildFailed, CatalogueError, UsageError
from .project import ChangeOptions, Prepared, load, prepare
from .references import is_platform
from .runner import BakeFailure, DockerRunner, stderr_echo
from .staging import stage, write_atomic


class SeveralValues(click.Option):
    """An option that, like upstream's argparse nargs='+', takes every value up to the next
    option: ``--include science/a science/b`` (repeating the flag works too)."""

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            take_one = option.process

            def process(value, state, take_one=take_one):
                take_one(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    take_one(state.rargs.pop(0), state)

            option.process = process


def root_option(function):
    return click.option(
        "--root", type=click.Path(file_okay=False, path_type=Path), default=".", show_default=True,
        help="Catalogue root (holds science/ and compat/).",
    )(function)


def _options(function, options):
    for option in reversed(options):
        function = option(function)
    return function


def planning_options(function):
    return root_option(_options(function, [
        click.option("--repo", help="Registry prefix of every tag [env BAKEGEN_REPO, bakegen.yaml repo:, "
                                    "default compute.repo.sciserver.org]."),
        click.option("--build-id", metavar="N-H", help="Use this build id instead of git's (outside git, "
                                                       "in a shallow clone)."),
    ]))


def change_options(function):
    return _options(function, [
        click.option("--since", metavar="REV", help="Plan only layers changed since REV (and what builds on them)."),
        click.option("--include", cls=SeveralValues, multiple=True, metavar="DIR...",
                     help="Treat these layer directories (relative to the root) as changed."),
        click.option("--ignore", cls=SeveralValues, multiple=True, metavar="DIR...",
                     help="Never treat these layer directories as changed."),
        click.option("--offline", is_flag=True, help="Do not look up registry digests of unchanged parents."),
        click.option("--allow-rollback", is_flag=True, help="Accept a final layer moving back to an older layer."),
    ])


def output_options(function):
    return _options(function, [
        click.option("--explain", is_flag=True, help="Say why each target is built and which tags move."),
        click.option("--dryrun", is_flag=True, help="Print upstream's plan lines only; write and build nothing."),
    ])


def _changes(since, include, ignore, offline, allow_rollback) -> ChangeOptions:
    return ChangeOptions(since=since, include=tuple(include), ignore=tuple(ignore), offline=offline,
                         allow_rollback=allow_rollback)


def _report_plan(prepared: Prepared, explain: bool, dryrun: bool) -> None:
    plan = prepared.plan
    if dryrun:
        for target in plan.rel:
            click.echo(f"change results in final image {target.image} => "
                       f"{target.image}:{target.version}-{plan.build.build_id}, {target.image}:{target.version}")
        click.echo(f"final plan includes {len(plan.science)} science build(s) and {len(plan.rel)} compat build(s)")
        return
    if explain:
        click.echo(display.explain(plan), err=True)
    if not plan.targets:
        reason = "nothing changed" if (prepared.changes.incremental or prepared.changes.ignore) else "the catalogue has no science layers"
        click.echo(f"{reason}: the plan is empty", err=True)
    else:
        click.echo(display.plan_summary(plan, prepared.graph), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="bakegen")
def cli():
    """Compile a science/compat image catalogue into one docker buildx bake graph."""


@cli.command()
@root_option
@click.option("--repo", help="Registry prefix (checked like render's).")
def validate(root: Path, repo: str | None):
    """Check the catalogue; print every problem, exit 2 if there is an error."""
    _settings, graph = load(root, repo)
    click.echo(f"ok: {len(graph.layers)} science layers, {len(graph.finals)} final images, "
               f"{len(graph.compat)} compat layers", err=True)


@cli.command()
@planning_options
@change_options
@output_options
@click.option("--format", "output_format", type=click.Choice(["hcl", "json", "plan"]), default="hcl",
              show_default=True, help="docker-bake.hcl, docker-bake.json, or the plan as JSON.")
@click.option("-o", "--output", help="File to write ('-' for stdout). Default: docker-bake.hcl or "
                                     "docker-bake.json in the root; the plan goes to stdout.")
def render(root: Path, repo, build_id, since, include, ignore, offline, allow_rollback, explain, dryrun,
           output_format: str, output: str | None):
    """Write the bake file (and stage compat contexts under .bakegen/)."""
    prepared = prepare(root, repo, build_id, _changes(since, include, ignore, offline, allow_rollback))
    plan = prepared.plan
    _report_plan(prepared, explain, dryrun)
    if dryrun:
        return
    stage(root, plan)
    if output_format == "plan":
        text = display.plan_json(plan)
        output = output or "-"
    elif output_format == "json":
        text = bake.to_json(plan)
        output = output or str(root / "docker-bake.json")
    else:
        custom = root / bake.TEMPLATE_NAME  # a catalogue may bring its own template
        if custom.is_file():
            text = bake.to_hcl(plan, custom.read_text(encoding="utf-8"), str(custom))
        else:
            text = bake.to_hcl(plan)
        output = output or str(root / "docker-bake.hcl")
    if output == "-":
        click.echo(text, nl=False)
    else:
        try:
            write_atomic(Path(output), text)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        click.echo(f"wrote {output}", err=True)


@cli.command()
@root_option
@change_options
@click.option("--repo", help="Registry prefix.")
@click.option("--build-id", metavar="N-H", help="Build id, as for render (only used with --since).")
@click.option("--format", "output_format", type=click.Choice(["text", "mermaid", "dot"]), default="text",
              show_default=True)
def graph(root: Path, since, include, ignore, offline, allow_rollback, repo, build_id, output_format: str):
    """Show the catalogue: science layers, finals, compat layers and includes (with --since: what is rebuilt)."""
    changes = _changes(since, include, ignore, True, allow_rollback)
    if changes.incremental:
        prepared = prepare(root, repo, build_id, changes, pin=False)
        graph_, selection = prepared.graph, prepared.selection
    else:
        _settings, graph_ = load(root, repo)
        selection = None
    writer = {"text": display.graph_text, "mermaid": display.graph_mermaid, "dot": display.graph_dot}
    click.echo(writer[output_format](graph_, selection), nl=False)


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
@change_options
@output_options
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
@click.option("--provenance", is_flag=True, help="Attach BuildKit's provenance attestation (mode=max); it holds "
                                                 "wall-clock times, so rebuilds of one commit then differ.")
def build(root: Path, repo, build_id, since, include, ignore, offline, allow_rollback, explain, dryrun, targets,
          push, load, platforms, builder, overrides, progress, metadata_file, provenance):
    """Render, then build TARGETs (image, image:version, science target or bake target; default all)
    with docker buildx bake in one solve."""
    options = BuildOptions(
        targets=tuple(targets), push=push, load=load, platforms=_platforms(platforms), builder=builder,
        overrides=_key_value(overrides), progress=progress,
        metadata_file=metadata_file.resolve() if metadata_file else None, provenance=provenance,
    )
    prepared = prepare(root, repo, build_id, _changes(since, include, ignore, offline, allow_rollback))
    plan = prepared.plan
    _report_plan(prepared, explain, dryrun)
    if dryrun or not plan.targets:
        return
    select_targets(plan, options.targets)
    runner = DockerRunner()
    runner.check_engine(builder)
    stage(root, plan)
    bake_file = root / BAKE_FILE
    write_atomic(bake_file, bake.to_json(plan))
    echo = (lambda line: None) if progress == "quiet" else stderr_echo
    try:
        report = execute(root.resolve(), plan, bake_file.resolve(), options, runner, echo)
    except BakeFailure as failure:
        dockerfiles = {d: layer.dockerfile_text for d, layer in prepared.graph.layers.items()}
        where = failed_layer(plan, failure, dockerfiles) or "an unknown target"
        raise BuildFailed(f"build failed in {where}: {failure.message}") from None
    linked = [entry["target"] for entry in report["targets"] if not entry["exported"]]
    for entry in report["targets"]:
        if not entry["exported"]:
            continue
        click.echo(f"{entry['image']:<24} {entry['target']:<28} {entry['digest'] or '-'}")
        for tag in entry["tags"]:
            click.echo(f"    {tag}")
        for platform, digest in sorted(entry["platforms"].items()):
            click.echo(f"    {platform}: {digest}")
    if linked:
        click.echo(f"also built, as parents linked into the solve (not tagged): {', '.join(linked)}", err=True)
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
