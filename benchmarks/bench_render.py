#!/usr/bin/env python3
"""Benchmark ``bakegen render`` on synthetic catalogues of 100, 1,000 and 5,000 science layers.

    python benchmarks/bench_render.py [--sizes 100,1000,5000] [--runs 5] [--budget 60] [--no-write]
                                      [--profile N]

For each size: generate the catalogue (benchmarks/gen_catalogue.py, seed 1, a git repository
with one commit), then run, ``--runs`` times,

* cold: ``rm -rf DIR/.bakegen DIR/docker-bake.hcl``, then
  ``bakegen render --root DIR -o DIR/docker-bake.hcl`` (every compat context staged anew);
* warm: the same command again right away (.bakegen/ and the bake file already there);

each a separate process, timed from spawn to exit, peak RSS from wait4(2) for that process
alone. Medians are reported; no new run of a size starts once it has used ``--budget``
seconds. ``bakegen --version`` (interpreter start-up plus imports) is timed
too, so that the per-layer cost can be given with the fixed start-up cost taken out. One more
in-process run per size splits the time into phases (load, resolve, plan, stage, HCL).

Writes the "render" section of benchmarks/RESULTS.md and benchmarks/results-render.json
(unless --no-write). ``--profile N`` prints a cProfile of one in-process render of size N.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import gen_catalogue

GOALS = {1000: 1.0, 5000: 5.0}  # seconds, issue 2 item 10

PHASES_SCRIPT = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bakegen import bake, display
from bakegen.catalogue import load_catalogue
from bakegen.config import load_settings
from bakegen.gitrepo import build_info
from bakegen.graph import resolve
from bakegen.plan import make_plan
from bakegen.staging import stage, write_atomic
import bakegen.cli
root = Path(sys.argv[1])
phases = {"import": time.perf_counter() - t0}
def step(name, function, *args):
    start = time.perf_counter()
    result = function(*args)
    phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
    return result
settings = step("settings", load_settings, root, None)
catalogue, _ = step("load catalogue", load_catalogue, root)
graph, _ = step("resolve graph", resolve, catalogue, settings.platforms)
info = step("git build info", build_info, root, None)
plan = step("make plan", make_plan, graph, info, settings)
step("plan summary", display.plan_summary, plan, graph)
step("stage contexts", stage, root, plan)
text = step("to_hcl", bake.to_hcl, plan)
step("write file", write_atomic, root / "docker-bake.hcl", text)
print(json.dumps({k: round(v, 4) for k, v in phases.items()}))
"""

PROFILE_SCRIPT = r"""
import cProfile, pstats, sys
from bakegen.cli import main
root = sys.argv[1]
profiler = cProfile.Profile()
profiler.enable()
try:
    main(["render", "--root", root, "-o", root + "/docker-bake.hcl"])
except SystemExit:
    pass
profiler.disable()
stats = pstats.Stats(profiler, stream=sys.stdout)
stats.sort_stats("cumulative").print_stats(30)
stats.sort_stats("tottime").print_stats(20)
"""


def clean(root: Path) -> None:
    shutil.rmtree(root / ".bakegen", ignore_errors=True)
    (root / "docker-bake.hcl").unlink(missing_ok=True)


def count_targets(root: Path) -> int:
    return sum(1 for line in (root / "docker-bake.hcl").read_text().splitlines() if line.startswith("target "))


def bench_size(workdir: Path, n: int, runs: int, command: list[str], budget: float) -> dict:
    root = workdir / f"render-{n}"
    shutil.rmtree(root, ignore_errors=True)
    print(f"[{n}] generating ...", file=sys.stderr, flush=True)
    summary = gen_catalogue.generate(root, n, seed=1)
    render = command + ["render", "--root", str(root), "-o", str(root / "docker-bake.hcl")]
    cold, warm = [], []
    started = time.perf_counter()
    for index in range(runs):
        clean(root)
        cold.append(_common.run_measured(render))
        warm.append(_common.run_measured(render))
        print(f"[{n}] run {index + 1}/{runs}: cold {cold[-1]['wall_s']:.3f} s, warm {warm[-1]['wall_s']:.3f} s",
              file=sys.stderr, flush=True)
        if time.perf_counter() - started > budget and index + 1 < runs:
            print(f"[{n}] over the {budget:g} s budget of this size: stopping after {index + 1} run(s)",
                  file=sys.stderr, flush=True)
            break
    targets = count_targets(root)
    staged_files = sum(1 for p in (root / ".bakegen").rglob("*") if p.is_file())
    phases = None
    clean(root)
    result = subprocess.run([sys.executable, "-c", PHASES_SCRIPT, str(root)], capture_output=True, text=True)
    if result.returncode == 0:
        phases = json.loads(result.stdout.strip().splitlines()[-1])
    else:
        print(f"[{n}] phase breakdown unavailable:\n{result.stderr[-2000:]}", file=sys.stderr)
    filesystem = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", str(root)], capture_output=True,
                                text=True).stdout.strip()
    return {
        "layers": n, "runs": len(cold), "catalogue": summary, "filesystem": filesystem or "unknown",
        "bake_targets": targets, "staged_files": staged_files,
        "command": " ".join(render),
        "command_template": " ".join(command + ["render", "--root", "DIR", "-o", "DIR/docker-bake.hcl"]),
        "cold": cold, "warm": warm,
        "cold_median_s": _common.median([r["wall_s"] for r in cold]),
        "warm_median_s": _common.median([r["wall_s"] for r in warm]),
        "cold_median_cpu_s": _common.median([r["user_s"] + r["sys_s"] for r in cold]),
        "warm_median_cpu_s": _common.median([r["user_s"] + r["sys_s"] for r in warm]),
        "cold_median_rss_mib": _common.median([r["max_rss_mib"] for r in cold]),
        "warm_median_rss_mib": _common.median([r["max_rss_mib"] for r in warm]),
        "phases_s": phases,
    }


def report(info: dict, startup: dict, results: list[dict], runs: int, loads: tuple[dict, dict]) -> str:
    base = startup["median_s"]
    rows = []
    for r in results:
        n = r["layers"]
        goal = GOALS.get(n)
        verdict = "" if goal is None else ("met" if r["cold_median_s"] < goal else "MISSED") + f" (< {goal:g} s)"
        rows.append([
            f"{n:,}", r["runs"], r["catalogue"]["finals"], r["bake_targets"], f"{r['staged_files']:,}",
            f"{r['cold_median_s']:.3f}", f"{r['cold_median_cpu_s']:.3f}",
            f"{r['warm_median_s']:.3f}", f"{r['warm_median_cpu_s']:.3f}",
            f"{r['cold_median_rss_mib']:.0f}", f"{r['warm_median_rss_mib']:.0f}",
            f"{max(r['cold_median_s'] - base, 0) / n * 1000:.2f}",
            verdict,
        ])
    lines = [
        *_common.machine_lines(info),
        _common.load_line(*loads),
        f"- command (per size, each run a fresh process; cold = after `rm -rf DIR/.bakegen "
        f"DIR/docker-bake.hcl`, warm = the same command again right after): "
        f"`{results[0]['command_template']}`",
        f"- catalogues: `python benchmarks/gen_catalogue.py DIR -n N --seed 1` (20 compat layers, DIR on "
        f"{results[0]['filesystem']}); up to {runs} runs per size (fewer when a size exceeds its time "
        f"budget), medians shown (wall = spawn to exit, CPU = user + sys of the process, RSS = its peak "
        "resident set); produced by `python benchmarks/bench_render.py`",
        f"- start-up alone (`bakegen --version`: interpreter + imports): {base:.3f} s, "
        f"{startup['median_rss_mib']:.0f} MiB",
        "",
        _common.table(["layers", "runs", "finals", "bake targets", "staged files", "cold wall s", "cold CPU s",
                       "warm wall s", "warm CPU s", "cold RSS MiB", "warm RSS MiB",
                       "ms/layer beyond start-up", "goal (cold wall)"], rows),
        "",
    ]
    phase_rows = [[f"{r['layers']:,}"] + [f"{v:.3f}" for v in r["phases_s"].values()]
                  for r in results if r["phases_s"]]
    if phase_rows:
        names = list(next(r["phases_s"] for r in results if r["phases_s"]))
        lines += ["Where the time goes (one cold in-process run per size, wall seconds):", "",
                  _common.table(["layers"] + names, phase_rows), ""]
    lines.append(linearity(results, base))
    return "\n".join(lines)


def linearity(results: list[dict], base: float) -> str:
    """Marginal cost per added layer between consecutive sizes (flat means linear), for wall and
    CPU time, plus the share of staging in the in-process phase runs."""
    if len(results) < 2:
        return ""
    lines = []
    for key, label in (("cold_median_s", "cold wall"), ("cold_median_cpu_s", "cold CPU")):
        parts, slopes = [], []
        for a, b in zip(results, results[1:]):
            slope = (b[key] - a[key]) / (b["layers"] - a["layers"])
            slopes.append(slope)
            parts.append(f"{slope * 1000:.2f} ms/layer from {a['layers']:,} to {b['layers']:,}")
        ratio = slopes[-1] / slopes[0] if slopes[0] > 0 else float("inf")
        shape = "roughly linear" if 0.67 <= ratio <= 1.5 else "super-linear" if ratio > 1.5 else "sub-linear"
        lines.append(f"- growth ({label}): {'; '.join(parts)}: {shape} (last/first slope {ratio:.2f})")
    staged = [r for r in results if r["phases_s"] and "stage contexts" in r["phases_s"]]
    if staged:
        shares = ", ".join(
            f"{r['phases_s']['stage contexts'] / sum(r['phases_s'].values()) * 100:.0f}% at {r['layers']:,}"
            for r in staged)
        rest = ", ".join(
            f"{sum(v for k, v in r['phases_s'].items() if k != 'stage contexts'):.2f} s at {r['layers']:,}"
            for r in staged)
        lines.append(f"- staging the compat contexts is {shares} of the in-process time; everything else "
                     f"(imports included) takes {rest}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated layer counts")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per size after which no further run is started (default 60)")
    parser.add_argument("--workdir", type=Path, help="where catalogues are generated (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated catalogues")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md / results-render.json")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the RESULTS.md section from results-render.json, measuring nothing")
    parser.add_argument("--profile", type=int, metavar="N", help="only print a cProfile of rendering N layers")
    options = parser.parse_args(argv)
    if options.report_only:
        payload = json.loads((_common.HERE / "results-render.json").read_text())
        text = report(payload["machine"], payload["startup"], payload["results"], payload["runs"],
                      tuple(payload["load"]))
        print(text)
        _common.write_section("render", text)
        return
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="bakegen-bench-render-"))
    workdir.mkdir(parents=True, exist_ok=True)
    command = _common.bakegen_command()
    try:
        if options.profile:
            root = workdir / f"render-{options.profile}"
            shutil.rmtree(root, ignore_errors=True)
            gen_catalogue.generate(root, options.profile, seed=1)
            subprocess.run([sys.executable, "-c", PROFILE_SCRIPT, str(root)], check=True)
            return
        info = _common.machine()
        before = _common.load()
        versions = [_common.run_measured(command + ["--version"], stdout=subprocess.DEVNULL)
                    for _ in range(max(options.runs, 3))]
        startup = {"median_s": _common.median([r["wall_s"] for r in versions]),
                   "median_rss_mib": _common.median([r["max_rss_mib"] for r in versions]), "runs": versions}
        results = [bench_size(workdir, int(n), options.runs, command, options.budget)
                   for n in options.sizes.split(",")]
        after = _common.load()
        text = report(info, startup, results, options.runs, (before, after))
        print(text)
        if not options.no_write:
            _common.write_section("render", text)
            payload = {"machine": info, "load": [before, after], "startup": startup, "runs": options.runs,
                       "results": results}
            (_common.HERE / "results-render.json").write_text(json.dumps(payload, indent=2) + "\n")
            print(f"\nwrote {_common.RESULTS} and {_common.HERE / 'results-render.json'}", file=sys.stderr)
    finally:
        if not options.keep and not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
