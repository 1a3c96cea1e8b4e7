#!/usr/bin/env python3
"""Benchmark change detection (``--since``) on a repository of 10,000 commits and 1,000 layers.

    python benchmarks/bench_changes.py [--layers 1000] [--commits 10000] [--runs 5] [--no-write]

Setup: benchmarks/gen_catalogue.py makes a 1,000-layer catalogue (seed 1, one commit), then
``git fast-import`` appends 10,000 commits in one stream, each rewriting one file of one layer
(9 in 10 a science layer's ``requirements.txt``, 1 in 10 a compat layer's file), and the
working tree is reset to the new HEAD.

Measured, for REV = ``HEAD~50`` and REV = the first commit (every layer touched since):

* ``bakegen render --since REV --offline --root DIR -o -``: a fresh process each run, wall
  time and peak RSS (wait4), median of ``--runs``;
* change detection alone, in this process with the catalogue graph already loaded:
  ``bakegen.gitrepo.changed_since(root, REV)`` + ``bakegen.changes.changed_directories`` +
  ``bakegen.changes.select(graph, changed)``, median of ``--runs`` (each call opens the
  repository anew, as a render does);
* for reference: the history check a ``--since`` render also does (export REV's catalogue
  with ``git archive``, load and resolve it, compare finals) and the bare git commands.

Writes the "change detection" section of benchmarks/RESULTS.md and
benchmarks/results-changes.json (unless --no-write).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import gen_catalogue

GOAL_S = 1.0  # issue 4 item 7


def git(root: Path, *args: str, **kwargs) -> str:
    env = {**os.environ, **gen_catalogue.GIT_ENV}
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True,
                          **kwargs).stdout


def fast_import_history(root: Path, commits: int, seed: int = 7) -> float:
    """Append ``commits`` commits to main with one ``git fast-import``; returns seconds taken."""
    rng = random.Random(seed)
    science = sorted(p.name for p in (root / "science").iterdir() if p.is_dir())
    compat_files = sorted(p.relative_to(root).as_posix() for p in (root / "compat").rglob("*")
                          if p.is_file() and p.name not in ("Dockerfile", "sciserver-image.json"))
    head = git(root, "rev-parse", "HEAD").strip()
    chunks: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        chunks.append(b"data %d\n" % len(raw) + raw + b"\n")

    for index in range(1, commits + 1):
        if rng.random() < 0.9:
            layer = rng.choice(science)
            path = f"science/{layer}/requirements.txt"
            content = (root / path).read_text() + f"# pinned by change {index}\n"
        else:
            path = rng.choice(compat_files)
            content = (root / path).read_text() + f"# change {index}\n"
        when = 1700000000 + index * 60
        chunks.append(f"commit refs/heads/main\nmark :{index}\n"
                      f"committer bakegen bench <bench@bakegen.invalid> {when} +0000\n".encode())
        data(f"change {index}: {path}\n")
        if index == 1:
            chunks.append(f"from {head}\n".encode())
        chunks.append(f"M 100644 inline {path}\n".encode())
        data(content)
    start = time.perf_counter()
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=b"".join(chunks), check=True,
                   env={**os.environ, **gen_catalogue.GIT_ENV})
    git(root, "reset", "-q", "--hard", "refs/heads/main")
    return time.perf_counter() - start


def timed(function, *args, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return _common.median(times), times, result


def in_process(root: Path, rev: str, runs: int) -> dict:
    """Change detection alone (graph loaded beforehand), plus the history check for reference."""
    from bakegen import changes, cli, gitrepo
    from bakegen.catalogue import load_catalogue
    from bakegen.graph import resolve

    catalogue, _ = load_catalogue(root)
    graph, _ = resolve(catalogue)

    def detect():
        paths = gitrepo.changed_since(root, rev)
        changed = {d: f"{p} changed" for d, p in changes.changed_directories(paths).items()}
        return paths, changed, changes.select(graph, changed)

    total, total_runs, (paths, changed, selection) = timed(detect, repeat=runs)
    git_only, _, _ = timed(gitrepo.changed_since, root, rev, repeat=runs)
    select_only, _, _ = timed(changes.select, graph, changed, repeat=runs)
    result = {
        "changed_paths": len(paths), "changed_layer_dirs": len(changed),
        "planned_science": len(selection.science), "planned_rel": len(selection.rel),
        "detect_median_s": total, "detect_runs_s": total_runs,
        "changed_since_median_s": git_only, "select_median_s": select_only,
    }
    old_graph = getattr(cli, "_old_graph", None)
    if old_graph is not None:  # private helper: measured only while it exists
        def history():
            return changes.history_problems(old_graph(root, rev), graph, rev, False)
        result["history_check_median_s"], _, _ = timed(history, repeat=max(1, runs // 2))
    return result


def raw_git(root: Path, rev: str, runs: int) -> dict:
    figures = {}
    for label, args in (("git diff --name-only REV -- science compat",
                         ["diff", "--name-only", "--no-renames", "-z", rev, "--", "science", "compat"]),
                        ("git ls-files --others --exclude-standard", ["ls-files", "--others", "--exclude-standard",
                                                                      "-z", "--", "science", "compat"]),
                        ("git rev-list --count HEAD", ["rev-list", "--count", "HEAD"])):
        figures[label] = _common.median([_common.run_measured(["git", *args], cwd=root,
                                                              stdout=subprocess.DEVNULL)["wall_s"]
                                         for _ in range(runs)])
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="where the repository is made (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated repository")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md / results-changes.json")
    options = parser.parse_args(argv)
    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="bakegen-bench-changes-"))
    root = workdir / f"changes-{options.layers}"
    command = _common.bakegen_command()
    try:
        info = _common.machine()
        before = _common.load()
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating {options.layers} layers ...", file=sys.stderr, flush=True)
        summary = gen_catalogue.generate(root, options.layers, seed=1)
        print(f"fast-importing {options.commits} commits ...", file=sys.stderr, flush=True)
        import_s = fast_import_history(root, options.commits)
        count = int(git(root, "rev-list", "--count", "HEAD"))
        first = git(root, "rev-list", "--max-parents=0", "HEAD").split()[0]
        results = []
        for label, rev in (("HEAD~50", "HEAD~50"), ("first commit", first)):
            render = command + ["render", "--since", rev, "--offline", "--root", str(root), "-o", "-"]
            runs = []
            for index in range(options.runs):
                runs.append(_common.run_measured(render, stdout=subprocess.DEVNULL))
            entry = {
                "rev": label, "rev_hash": git(root, "rev-parse", rev).strip(),
                "command": " ".join(render).replace(str(root), "DIR").replace(first, "<first commit>"),
                "render_runs": runs,
                "render_median_s": _common.median([r["wall_s"] for r in runs]),
                "render_cpu_median_s": _common.median([r["user_s"] + r["sys_s"] for r in runs]),
                "render_median_rss_mib": _common.median([r["max_rss_mib"] for r in runs]),
                "in_process": in_process(root, rev, options.runs),
                "raw_git_s": raw_git(root, rev, options.runs),
            }
            print(f"{label}: render {entry['render_median_s']:.3f} s, detection "
                  f"{entry['in_process']['detect_median_s']:.3f} s", file=sys.stderr, flush=True)
            results.append(entry)
        after = _common.load()
        text = report(info, summary, count, import_s, results, options, (before, after))
        print(text)
        if not options.no_write:
            _common.write_section("change detection", text)
            payload = {"machine": info, "load": [before, after], "catalogue": summary, "commits": count,
                       "fast_import_s": import_s, "runs": options.runs, "results": results}
            (_common.HERE / "results-changes.json").write_text(json.dumps(payload, indent=2) + "\n")
            print(f"\nwrote {_common.RESULTS} and {_common.HERE / 'results-changes.json'}", file=sys.stderr)
    finally:
        if not options.keep and not options.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def report(info, summary, count, import_s, results, options, loads) -> str:
    rows = []
    for r in results:
        p = r["in_process"]
        verdict = ("met" if p["detect_median_s"] < GOAL_S else "MISSED") + f" (< {GOAL_S:g} s)"
        rows.append([r["rev"], p["changed_paths"], p["changed_layer_dirs"],
                     f"{p['planned_science']} + {p['planned_rel']}",
                     f"{p['detect_median_s']:.3f}", f"{p['changed_since_median_s']:.3f}",
                     f"{p['select_median_s'] * 1000:.1f}",
                     f"{p['history_check_median_s']:.3f}" if "history_check_median_s" in p else "-",
                     f"{r['render_median_s']:.3f}", f"{r['render_median_rss_mib']:.0f}", verdict])
    git_rows = [[r["rev"]] + [f"{v * 1000:.0f}" for v in r["raw_git_s"].values()] for r in results]
    lines = [
        *_common.machine_lines(info),
        _common.load_line(*loads),
        f"- repository: {summary['science']:,} science layers ({summary['finals']} finals, {summary['compat']} "
        f"compat layers) from `python benchmarks/gen_catalogue.py DIR -n {options.layers} --seed 1`, then "
        f"{count - 1:,} commits appended by one `git fast-import` ({import_s:.1f} s), each rewriting one file "
        f"of one layer: {count:,} commits in all",
        f"- commands: `{results[0]['command']}` and `{results[-1]['command']}` (a fresh process each run); "
        "detection alone = `gitrepo.changed_since` + `changes.changed_directories` + `changes.select` "
        "in-process, graph preloaded",
        f"- {options.runs} runs each, medians; produced by `python benchmarks/bench_changes.py`",
        "",
        _common.table(["since", "changed paths", "changed layer dirs", "planned sci + rel", "detection s",
                       "of which git s", "select ms", "history check s", "render --since s", "render RSS MiB",
                       "goal (detection)"], rows),
        "",
        "The bare git commands behind it (ms, a fresh process each):",
        "",
        _common.table(["since"] + list(results[0]["raw_git_s"]), git_rows),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
