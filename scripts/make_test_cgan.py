"""Build tests/data/cgan.npz: a trained conditional MNIST generator, kept for the tests that
check ``scratchgan sample --label`` and class morphs with the project's classifier.

    python -m scratchgan.mnist --model cgan --minutes 5 --out runs/cgan     # the default cgan run
    python scripts/make_test_cgan.py runs/cgan/checkpoint.npz

Only the generator (in float16, loaded back as float32) and the run's config are kept, so that the
file stays small (3 MB) and training stays out of the test suite. The checkpoint in the repository
comes from the default run of 5 minutes on 2 cores (seed 0, 13 epochs), whose samples the MNIST
classifier reads as the requested digit 92% of the time (10,000 samples).
"""
import sys
from pathlib import Path

import numpy

from scratchgan.run import load_checkpoint, save_checkpoint

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "cgan.npz"


class HalfPrecision:
    """A saved network's state in float16: half the bytes; loading casts it back."""

    def __init__(self, state):
        self.state = state

    def state_dict(self):
        return {k: v.astype(numpy.float16) if v.dtype == numpy.float32 else v
                for k, v in self.state.items()}


def main(path):
    checkpoint = load_checkpoint(path)
    if not checkpoint.meta["config"].get("conditional"):
        sys.exit(f"{path}: not a conditional run")
    keep = {k: checkpoint.meta[k] for k in ("model", "config", "epoch", "step")}
    name = "generator_ema" if checkpoint.has_module("generator_ema") else "generator"
    OUT.parent.mkdir(exist_ok=True)
    save_checkpoint(OUT, {name: HalfPrecision(checkpoint.module_state(name))}, {}, keep)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB) from {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/cgan/checkpoint.npz")
