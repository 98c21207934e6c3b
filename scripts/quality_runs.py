"""The quality-per-minute table of the README: train MNIST runs for a wall-clock budget on several
seeds, score each on 10,000 samples, and print one row per run plus the median.

    python scripts/quality_runs.py --model mlp --minutes 5 --seeds 0 1 2
    python scripts/quality_runs.py --model dcgan --minutes 15 --seeds 0 1 2 -- --width 64
    python scripts/quality_runs.py --model mlp --max-steps 13000 --seeds 0 -- --g-norm none

Each run is ``python -m scratchgan.mnist --threads 2 --seed S --out OUT/<model>_sS ...`` followed
by ``scratchgan evaluate`` on its checkpoint, from the moving average of G (the default) and, where
the run keeps one, from G itself (``--raw-g``). Flags after ``--`` go to the training command.
Budgets in minutes are only comparable on one machine, and only when nothing else runs on it;
``--max-steps`` makes runs comparable across machines and loads.
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def run(command):
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def evaluate(checkpoint, raw):
    out = run([sys.executable, "-m", "scratchgan", "evaluate", "--checkpoint", str(checkpoint),
               "--n", "10000", "--json"] + (["--raw-g"] if raw else []))
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="mlp", choices=("mlp", "dcgan", "cgan"))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--minutes", type=float)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="runs/quality")
    p.add_argument("train_flags", nargs="*", help="after --: more flags for scratchgan.mnist")
    a = p.parse_args()
    if (a.minutes is None) == (a.max_steps is None):
        p.error("give a budget: --minutes or --max-steps")
    budget = ["--minutes", str(a.minutes)] if a.minutes else ["--max-steps", str(a.max_steps)]
    rows = []
    for seed in a.seeds:
        out = Path(a.out) / f"{a.model}_s{seed}"
        run([sys.executable, "-m", "scratchgan.mnist", "--model", a.model, "--seed", str(seed),
             "--threads", str(a.threads), "--epochs", "1000", "--out", str(out), "--overwrite",
             "--no-progress", *budget, *a.train_flags])
        meta = json.loads(run([sys.executable, "-c", "import json, sys; from scratchgan.run "
                               "import load_checkpoint; m = load_checkpoint(sys.argv[1]).meta; "
                               "print(json.dumps(dict(step=m['step'], ema=m['config']['ema'])))",
                               str(out / "checkpoint.npz")]))
        row = dict(seed=seed, steps=meta["step"], **{
            f"{key}_{name}": scores[key] for name, raw in (("sampled", False), ("raw", True))
            if name == "sampled" or meta["ema"]
            for scores in [evaluate(out / "checkpoint.npz", raw)]
            for key in ("frechet_distance", "coverage_kl")})
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{a.model} {' '.join(budget + a.train_flags)}, {a.threads} threads")
    print(f"{'seed':>6}{'steps':>8}{'FD':>8}{'KL':>8}{'FD raw G':>10}{'KL raw G':>10}")
    nan = float("nan")
    for r in rows:
        print(f"{r['seed']:>6}{r['steps']:>8}{r['frechet_distance_sampled']:>8.1f}"
              f"{r['coverage_kl_sampled']:>8.3f}{r.get('frechet_distance_raw', nan):>10.1f}"
              f"{r.get('coverage_kl_raw', nan):>10.3f}")
    median = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "seed"}
    print(f"{'median':>6}{median['steps']:>8.0f}{median['frechet_distance_sampled']:>8.1f}"
          f"{median['coverage_kl_sampled']:>8.3f}")


if __name__ == "__main__":
    main()
