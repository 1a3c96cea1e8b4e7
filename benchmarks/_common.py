"""Shared helpers of the benchmark scripts: timing a subprocess, the machine, RESULTS.md."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
SECTIONS = ("render", "change detection")  # order of the sections in RESULTS.md
HEADER = ("# bakegen benchmarks\n\n"
          "Written by the scripts in this directory (see README.md); rerun them to refresh a section.\n")


def bakegen_command() -> list[str]:
    """The installed console script, resolved past a pyenv shim (whose bash start-up, ~60 ms,
    is no part of bakegen's cost), else ``bakegen`` on PATH."""
    beside = Path(sys.executable).parent / "bakegen"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("bakegen")
    if not found:
        raise SystemExit("bakegen is not installed (pip install -e .)")
    return [found]


def run_measured(command: list[str], cwd: Path | None = None, stdout=None, env=None) -> dict:
    """Run ``command``; wall time (s), peak RSS of that child alone (MiB, from wait4) and exit
    status. stderr (and stdout unless given) go to a file that is shown on failure."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bakegen-bench-{os.getpid()}.log"
    with open(log, "w+b") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=stdout if stdout is not None else err, stderr=err,
                                   env=env)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        output = err.read().decode(errors="replace")
    log.unlink(missing_ok=True)
    if process.returncode != 0:
        raise SystemExit(f"failed ({process.returncode}): {' '.join(command)}\n{output[-4000:]}")
    return {"wall_s": wall, "max_rss_mib": usage.ru_maxrss / 1024, "user_s": usage.ru_utime,
            "sys_s": usage.ru_stime}


def median(values) -> float:
    return statistics.median(values)


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        git = "none"
    try:
        from importlib.metadata import version
        bakegen = version("bakegen")
    except Exception:  # noqa: BLE001
        bakegen = "unknown"
    try:
        memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        memory_gib = round(int(memory) / 1024 / 1024, 1)
    except (OSError, StopIteration):
        memory_gib = None
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "git": git,
        "bakegen": bakegen,
        "revision": _revision(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "bakegen"], cwd=HERE.parent,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+uncommitted bakegen/ changes" if dirty else "")
    except OSError:
        return "unknown"


def load() -> dict:
    """1-minute load average and CPU/IO pressure (PSI "some" avg60), to judge the noise."""
    figures = {"loadavg_1m": round(os.getloadavg()[0], 2)}
    for kind in ("cpu", "io"):
        try:
            line = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
            figures[f"{kind}_pressure_avg60"] = float(line.split("avg60=")[1].split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return figures


def load_line(before: dict, after: dict) -> str:
    def show(figures: dict) -> str:
        text = f"load {figures['loadavg_1m']}"
        if "cpu_pressure_avg60" in figures:
            text += (f", CPU pressure {figures['cpu_pressure_avg60']:g}%, "
                     f"IO pressure {figures.get('io_pressure_avg60', 0):g}%")
        return text
    busy = max(before["loadavg_1m"], after["loadavg_1m"]) > (os.cpu_count() or 1)
    return (f"- machine load: before {show(before)}; after {show(after)}"
            + (" (other work was running: wall times are inflated, CPU times less so)" if busy else ""))


def machine_lines(info: dict) -> list[str]:
    return [
        f"- machine: {info['nproc']} CPU(s), {info['cpu']}, {info['memory_gib']} GiB RAM, {info['os']}",
        f"- software: Python {info['python']}, {info['git']}, bakegen {info['bakegen']} "
        f"(repository at {info['revision']})",
        f"- date: {info['date']}",
    ]


def write_section(name: str, body: str) -> None:
    """Replace (or add) ``## name`` in RESULTS.md, keeping the other sections."""
    sections: dict[str, str] = {}
    if RESULTS.exists():
        current = None
        for line in RESULTS.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.startswith("## "):
                current = line[3:].strip()
                sections[current] = ""
            elif current is not None:
                sections[current] += line
    sections[name] = "\n" + body.strip("\n") + "\n\n"
    order = [s for s in SECTIONS if s in sections] + [s for s in sections if s not in SECTIONS]
    text = HEADER + "".join(f"\n## {s}\n{sections[s].rstrip()}\n" for s in order)
    RESULTS.write_text(text, encoding="utf-8")


def table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
