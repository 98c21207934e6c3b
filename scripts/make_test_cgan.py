"""Build tests/data/cgan_small.npz: a small conditional MNIST generator, trained, kept for the tests
that check ``scratchgan sample --label`` with the project's classifier.

    python scripts/make_test_cgan.py            # about a minute on 2 cores

A narrow cgan (latent 32, G 128-256, D 256-128) trained for 6 epochs on MNIST; only the
generator and the run's config are saved (float16 weights), so the file stays small. Training
from scratch inside the test suite would take minutes; the slow test
``test_a_cgan_learns_to_draw_the_requested_digit`` does exactly that.
"""
import tempfile
from pathlib import Path

import numpy

from scratchgan.run import TrainConfig, load_checkpoint, save_checkpoint, train

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "cgan_small.npz"
SMALL = dict(model="cgan", latent_dim=32, epochs=6, progress=False,
             model_options=dict(g_hidden=[128, 256], d_hidden=[256, 128]))


class HalfPrecision:
    """The generator's state in float16: a quarter of the bytes; loading casts it back."""

    def __init__(self, module):
        self.module = module

    def state_dict(self):
        return {k: numpy.asarray(v, numpy.float16) if v.dtype == numpy.float32 else v
                for k, v in self.module.state_dict().items()}


def main():
    with tempfile.TemporaryDirectory() as folder:
        result = train(TrainConfig(out=folder, **SMALL))
        meta = load_checkpoint(result.checkpoint).meta
    keep = {k: meta[k] for k in ("model", "config", "epoch", "step")}
    OUT.parent.mkdir(exist_ok=True)
    save_checkpoint(OUT, {"generator": HalfPrecision(result.generator)}, {}, keep)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB) after {result.step} steps")


if __name__ == "__main__":
    main()
