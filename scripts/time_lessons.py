"""Time every lesson as a student runs it: the "default run" column of lessons/README.md.

    python scripts/time_lessons.py --json lesson_times.json          # default and --quick runs
    python scripts/time_lessons.py --quick-only                      # what CI runs, timed
    python scripts/time_lessons.py --only 03 07 --keep /tmp/figures  # two lessons, keep the PNGs

Each lesson runs in a fresh process, ``python lessons/NN_x.py --out DIR``, from an empty temporary
folder, with MPLBACKEND=Agg and the NumPy backend (SCRATCHGAN_BACKEND unset: lesson 11 asks for
CuPy itself). Default runs get ``--threads`` CPU threads (SCRATCHGAN_NUM_THREADS, OMP_NUM_THREADS,
OPENBLAS_NUM_THREADS and MKL_NUM_THREADS; default 2, the course's laptop); ``--quick`` runs get one,
as tests/test_lessons.py gives them in CI. The time is the wall clock around the process, imports
included, which is what a student waits for; the JSON holds the CPU seconds (user + sys) beside it.

A lesson that exits with a non-zero status (or writes no PNG) is reported at once with the end
of its output; the remaining lessons still run (one broken lesson does not hide the other times;
``--stop`` ends at the first failure), and the script exits with status 1. Run it on a quiet
machine: the times are only as good as the idle cores under them.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON_DIR = ROOT / "lessons"
THREAD_VARS = ("SCRATCHGAN_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "MKL_NUM_THREADS")


def find_lessons(only):
    lessons = sorted(LESSON_DIR.glob("[0-9][0-9]_*.py"))
    if not only:
        return lessons
    wanted = {f"{int(n):02d}" for n in only}
    chosen = [p for p in lessons if p.name[:2] in wanted]
    missing = sorted(wanted - {p.name[:2] for p in chosen})
    if missing:
        sys.exit(f"time_lessons: no lesson numbered {', '.join(missing)} in {LESSON_DIR}")
    return chosen


def lesson_env(threads, quick):
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SCRATCHGAN_BACKEND", None)
    env.pop("SCRATCHGAN_LESSON_QUICK", None)  # quick runs pass --quick; default runs must not be
    for var in THREAD_VARS:
        env[var] = str(1 if quick else threads)
    return env


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_lesson(lesson, quick, threads, timeout, keep):
    """One run: its wall and CPU seconds, exit status, PNGs written (relative to --out), output."""
    with tempfile.TemporaryDirectory(prefix="time_lessons_") as cwd:
        if keep:
            out = Path(keep).resolve() / lesson.stem / ("quick" if quick else "default")
            shutil.rmtree(out, ignore_errors=True)  # no figures left from an earlier run
            out.parent.mkdir(parents=True, exist_ok=True)
        else:
            out = Path(cwd) / "out"
        command = [sys.executable, str(lesson), "--out", str(out)] + (["--quick"] if quick else [])
        cpu0, start = cpu_seconds(), time.perf_counter()
        try:
            proc = subprocess.run(command, cwd=cwd, env=lesson_env(threads, quick),
                                  capture_output=True, text=True, timeout=timeout)
            status, output = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as err:
            status = "timeout"
            output = "".join(s if isinstance(s, str) else (s or b"").decode(errors="replace")
                             for s in (err.stdout, err.stderr))
            output += f"\n[killed after {timeout} s]"
        wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
        figures = sorted(str(p.relative_to(out)) for p in out.rglob("*.png"))
    return dict(wall_s=round(wall, 2), cpu_s=round(cpu, 2), status=status, figures=figures,
                command=" ".join(command[1:])), output


def seconds_cell(result, budget=None):
    if result is None:
        return "-"
    if result["status"] != 0:
        return f"FAILED ({result['status']})"
    cell = f"{result['wall_s']:.1f}"
    return f"**{cell}** (over {budget:g} s)" if budget and result["wall_s"] > budget else cell


def figures_cell(result, shown=3):
    if result is None or not result["figures"]:
        return "none"
    names = result["figures"]
    more = f", +{len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)}: " + ", ".join(f"`{n}`" for n in names[:shown]) + more


def table(rows, threads, budget):
    lines = [f"| lesson | default s ({threads} threads) | quick s (1 thread) | figures written |",
             "|---|---:|---:|---|"]
    for row in rows:
        shown = row["default"] or row["quick"]
        lines.append(f"| `{row['lesson']}` | {seconds_cell(row['default'], budget)} | "
                     f"{seconds_cell(row['quick'])} | {figures_cell(shown)} |")
    totals = []
    for mode in ("default", "quick"):
        done = [r[mode] for r in rows if r[mode] is not None]
        totals.append(f"{sum(r['wall_s'] for r in done):.1f}" if done else "-")
    lines.append(f"| total | {totals[0]} | {totals[1]} | |")
    return "\n".join(lines)


def machine():
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                                capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return dict(date=time.strftime("%Y-%m-%d %H:%M:%S"), commit=commit,
                python=platform.python_version(), platform=platform.platform(),
                processor=platform.processor() or platform.machine(),
                cores_available=cores, load_average=list(os.getloadavg()))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", metavar="NN", help="lesson numbers, e.g. --only 03 07")
    p.add_argument("--quick-only", action="store_true", help="time the --quick runs only")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the default runs")
    p.add_argument("--json", metavar="FILE", help="write the results (and the machine) here")
    p.add_argument("--keep", metavar="DIR", help="keep the figures in DIR/<lesson>/<mode>")
    p.add_argument("--budget", type=float, default=90,
                   help="mark default runs slower than this many seconds (the course's limit)")
    p.add_argument("--timeout", type=float, default=900, help="seconds before a run is killed")
    p.add_argument("--stop", action="store_true", help="stop at the first failing lesson")
    a = p.parse_args()
    if a.threads < 1:
        p.error("--threads must be at least 1")
    modes = ("quick",) if a.quick_only else ("default", "quick")
    info = machine()
    if info["load_average"][0] > 0.5:
        print(f"time_lessons: load average {info['load_average'][0]:.2f}: other work is running, "
              f"the times will be slower than on a quiet machine", file=sys.stderr)
    rows, failed = [], []
    for lesson in find_lessons(a.only):
        row = dict(lesson=lesson.name, default=None, quick=None)
        rows.append(row)
        for mode in modes:
            result, output = run_lesson(lesson, mode == "quick", a.threads, a.timeout, a.keep)
            row[mode] = result
            print(f"{lesson.name:<36} {mode:<8} {result['wall_s']:7.1f} s wall "
                  f"{result['cpu_s']:7.1f} s CPU  {len(result['figures'])} PNG  "
                  f"exit {result['status']}", file=sys.stderr, flush=True)
            if result["status"] == 0 and not result["figures"]:
                failed.append(f"{lesson.name} ({mode}: no PNG under --out)")
                print(f"time_lessons: {lesson.name} wrote no PNG under --out", file=sys.stderr)
            if result["status"] != 0:
                failed.append(f"{lesson.name} ({mode})")
                print(f"\n{'=' * 30} FAILED: {lesson.name} {mode}, exit {result['status']} "
                      f"{'=' * 30}\n$ python {result['command']}\n{output[-6000:]}\n{'=' * 90}\n",
                      file=sys.stderr, flush=True)
        if failed and a.stop:
            break
    print(table(rows, a.threads, a.budget))
    if a.json:
        Path(a.json).write_text(json.dumps(dict(machine=info, threads_default=a.threads,
                                                threads_quick=1, budget_s=a.budget, lessons=rows,
                                                failed=failed), indent=2) + "\n")
        print(f"\nwrote {a.json}", file=sys.stderr)
    if failed:
        print(f"\ntime_lessons: {len(failed)} run(s) FAILED: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
