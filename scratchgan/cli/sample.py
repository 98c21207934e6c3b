"""Draw samples from a trained generator:
``scratchgan sample --checkpoint runs/mlp/checkpoint.npz --n 64 --out digits.png``.

A .png --out gets an image grid; a .npy gets the raw float32 samples (N, C, H, W) in [-1, 1].
A conditional model draws every class in turn, or only ``--label`` (a class name or index):
``scratchgan sample --checkpoint runs/cgan/checkpoint.npz --label 7 --out sevens.png``.
"""
import sys
from pathlib import Path

import numpy

from scratchgan import viz
from scratchgan.cli import errors
from scratchgan.run import ConfigError, sample_images

FORMATS = (".png", ".npy")


def build_parser():
    p = errors.ArgumentParser(prog="scratchgan sample", description="Draw samples from a "
                              "checkpoint's generator into a PNG grid or a .npy file.")
    p.add_argument("--checkpoint", required=True, help="checkpoint.npz written by scratchgan mnist")
    p.add_argument("--n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--out", required=True, help="output file: .png (grid) or .npy "
                   "(float32 (N, C, H, W) in [-1, 1])")
    p.add_argument("--nrow", type=int, help="images per grid row (default: a square grid)")
    p.add_argument("--label", help="conditional models: draw only this class (its name, e.g. 7 "
                   "or smiley, or its index); default: every class in turn")
    p.add_argument("--raw-g", action="store_true", help="G itself, not the moving average of "
                   "its weights (checkpoints of runs with --ema)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    return p


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    def command():
        args = build_parser().parse_args(argv)
        out = Path(args.out)
        if out.suffix.lower() not in FORMATS:
            raise ConfigError(f"--out {out}: expected a file name ending in .png or .npy")
        if args.n < 1:
            raise ConfigError(f"--n must be at least 1, got {args.n}")
        samples = sample_images(args.checkpoint, args.n, args.seed, args.backend, args.label,
                                args.raw_g)
        if out.suffix.lower() == ".npy":
            numpy.save(out, samples)
        else:
            viz.save_grid(samples, out, args.nrow)
        print(f"wrote {args.n} samples to {out}")

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
