"""Walk a trained generator's latent space into a grid:
``scratchgan interpolate --checkpoint runs/mlp/checkpoint.npz --rows 6 --steps 10 --out walk.png``.

Each row goes from one random z to another in ``--steps`` images (``--mode slerp`` follows the
sphere the Gaussian latents live near). For a conditional model each row keeps one class (every
class in turn, or ``--label``); ``--morph A B`` instead holds each row's z fixed and turns class
A into class B.
"""
import sys

import numpy

from scratchgan import edit, viz
from scratchgan.cli import errors
from scratchgan.run import ConfigError, load_generator, noise
from scratchgan.run.checkpoint import class_labels


def build_parser():
    p = errors.ArgumentParser(prog="scratchgan interpolate", description="Interpolate between "
                              "random latents of a checkpoint's generator, a row each, into a "
                              "PNG grid.")
    p.add_argument("--checkpoint", required=True, help="checkpoint.npz of a training run")
    p.add_argument("--rows", type=int, default=8, help="interpolations, one a row (default 8)")
    p.add_argument("--steps", type=int, default=10,
                   help="images per row, both ends included (default 10)")
    p.add_argument("--mode", choices=("linear", "slerp"), default="slerp",
                   help="straight line or great circle between the latents (default slerp)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latents (default 0)")
    p.add_argument("--label", help="conditional models: the class every row draws")
    p.add_argument("--morph", nargs=2, metavar=("A", "B"),
                   help="conditional models: each row morphs class A into class B, z held fixed")
    p.add_argument("--out", required=True, help="output PNG")
    p.add_argument("--raw-g", action="store_true", help="G itself, not the moving average of "
                   "its weights (checkpoints of runs with --ema)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    return p


def interpolation_rows(G, config, rows, steps, mode, seed, label=None, morph=None):
    """The grid's images (rows · steps, C, H, W), a row after the other."""
    conditional = bool(getattr(G, "n_classes", 0))
    if morph and not conditional:
        raise ConfigError("--morph: the checkpoint's model is not conditional")
    ends = noise(2 * rows, G.latent_dim, seed)
    if morph:
        a, b = (int(class_labels(config, 1, name)[0]) for name in morph)
        return numpy.concatenate([edit.class_morph(G, ends[r], a, b, steps) for r in range(rows)])
    labels = class_labels(config, rows, label)
    return numpy.concatenate([
        edit.interpolate(G, ends[2 * r], ends[2 * r + 1], steps, mode,
                         None if labels is None else int(labels[r]))
        for r in range(rows)])


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    def command():
        args = build_parser().parse_args(argv)
        if not args.out.lower().endswith(".png"):
            raise ConfigError(f"--out {args.out}: expected a file name ending in .png")
        for name in ("rows", "steps"):
            if getattr(args, name) < (1 if name == "rows" else 2):
                raise ConfigError(f"--{name} must be at least {1 if name == 'rows' else 2}, "
                                  f"got {getattr(args, name)}")
        G, config = load_generator(args.checkpoint, args.backend, args.raw_g)
        images = interpolation_rows(G, config, args.rows, args.steps, args.mode, args.seed,
                                    args.label, args.morph)
        viz.save_grid(images, args.out, nrow=args.steps,
                      scale=max(1, 512 // (args.steps * images.shape[3])))
        what = f"class {args.morph[0]} into {args.morph[1]}" if args.morph else args.mode
        print(f"wrote {args.rows} interpolations ({what}) of {args.steps} steps to {args.out}")

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
