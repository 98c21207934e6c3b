"""Train a GAN on MNIST from the command line: ``python -m scratchgan.mnist --model dcgan``.

The same as ``scratchgan mnist ...`` and ``python -m scratchgan mnist ...``. See
scratchgan.run for what a run writes and how to do the same from Python.
"""
import sys

import numpy

from scratchgan import backend as B, models
from scratchgan.cli import errors
from scratchgan.run import MODEL_DEFAULTS, ConfigError, TrainConfig, train


def _per_model(name):
    return ", ".join(f"{model}: {defaults[name]:g}" for model, defaults in MODEL_DEFAULTS.items())


def build_parser():
    p = errors.ArgumentParser(
        prog="scratchgan mnist",
        description="Train a GAN on MNIST. Writes sample grids, metrics.csv, losses.png, "
                    "progress.gif and checkpoint.npz into --out. Ctrl-C saves a checkpoint; "
                    "--resume continues it.")
    p.add_argument("--model", choices=models.NAMES,
                   help="network pair (default: mlp, or the checkpoint's with --resume)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy",
                   help="array library (default: numpy)")
    p.add_argument("--epochs", type=int, help="total epochs, counting resumed ones "
                   f"(default per model: {_per_model('epochs')})")
    p.add_argument("--minutes", type=float,
                   help="stop after this many minutes of this invocation, saving a checkpoint")
    p.add_argument("--max-steps", type=int,
                   help="stop after this many steps in total, saving a checkpoint")
    p.add_argument("--batch-size", type=int, help=f"default per model: {_per_model('batch_size')}")
    p.add_argument("--lr-g", type=float,
                   help=f"generator's Adam learning rate (default {_per_model('lr_g')})")
    p.add_argument("--lr-d", type=float,
                   help=f"discriminator's Adam learning rate (default {_per_model('lr_d')})")
    p.add_argument("--beta1", type=float, help=f"Adam beta1 (default {_per_model('beta1')})")
    p.add_argument("--beta2", type=float, help=f"Adam beta2 (default {_per_model('beta2')})")
    p.add_argument("--latent-dim", type=int, help="size of the noise vector z (default 100)")
    p.add_argument("--seed", type=int, help="seed of every random stream (default 0)")
    p.add_argument("--out", help="output folder (default runs/<model>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpoint in --out up to --epochs in total")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even though --out holds a checkpoint")
    p.add_argument("--data", help="folder with the MNIST idx files "
                   "(default: the copy shipped with scratchgan)")
    p.add_argument("--limit", type=int, help="train on the first N images only (quick experiments)")
    p.add_argument("--eval-every", type=int, help="evaluate sample quality every N epochs "
                   "(metrics_eval.csv, metrics.png)")
    p.add_argument("--log-every", type=int, default=10,
                   help="steps between rows of metrics.csv (default 10)")
    p.add_argument("--show", action="store_true",
                   help="show samples and losses in a window while training")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.add_argument("--threads", type=int, help="CPU threads of the numpy backend (default: "
                   "SCRATCHGAN_NUM_THREADS, else OMP_NUM_THREADS, else every core)")
    return p


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    def command():
        options = vars(build_parser().parse_args(argv))
        threads = options.pop("threads")  # how to run, not what to train: not in the config
        if threads is not None:
            if threads < 1:
                raise ConfigError(f"threads must be at least 1, got {threads}")
            B.set_num_threads(threads)
        config = TrainConfig(**options)
        # A blow-up is reported once, by train's NaN check, not by a NumPy warning per
        # overflowing op.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = train(config)
        if result.stopped == "completed":
            print(f"done: {result.config.model} trained for {result.epoch} epochs "
                  f"({result.step} steps); samples/, metrics.csv, losses.png, progress.gif and "
                  f"checkpoint.npz are in {result.out}")
        return 0

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
