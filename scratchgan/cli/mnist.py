"""Train a GAN on MNIST from the command line: ``python -m scratchgan.mnist --model dcgan``.

The same as ``scratchgan mnist ...`` and ``python -m scratchgan mnist ...``. See
scratchgan.run for what a run writes and how to do the same from Python.
"""
import sys

from scratchgan.cli.training import run_training, training_parser
from scratchgan.run.config import DATASET_MODELS

MODELS = DATASET_MODELS["mnist"]


def build_parser():
    p = training_parser(
        "scratchgan mnist", "Train a GAN on MNIST. Writes sample grids, metrics.csv, losses.png, "
        "progress.gif and checkpoint.npz into --out. Ctrl-C saves a checkpoint; --resume "
        "continues it.", MODELS)
    p.add_argument("--model", choices=MODELS,
                   help="network pair: mlp, dcgan, or cgan (the MLP pair told which digit to "
                        "draw) (default: mlp, or the checkpoint's with --resume)")
    p.add_argument("--data", help="folder with the MNIST idx files "
                   "(default: the copy shipped with scratchgan)")
    p.add_argument("--width", type=int, help="dcgan: channels of G's last and D's first layer, "
                   "doubling towards the middle (default 32; the TensorFlow tutorial's 64)")
    p.add_argument("--g-norm", choices=("batch", "none"), help="mlp, cgan: batch norm between "
                   "G's hidden layers (default: batch for mlp, none for cgan)")
    p.add_argument("--d-norm", choices=("batch", "none"), help="dcgan: batch norm after D's "
                   "convolutions but the first, as in the DCGAN paper (default: batch, none for a "
                   "wgan-gp critic; the TensorFlow tutorial's D has none)")
    p.add_argument("--d-dropout", type=float, metavar="P", help="dropout after each of D's "
                   "hidden layers (default 0; the TensorFlow tutorial's dcgan has 0.3)")
    p.add_argument("--d-convs", type=int, choices=(2, 3), help="dcgan: D's stride-2 "
                   "convolutions, channels doubling from --width: 3 halve the image down to 4x4 "
                   "(default, as the DCGAN paper's D), 2 stop at 7x7 (the TensorFlow tutorial's)")
    return p


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    return run_training(build_parser(), argv, dataset="mnist")


if __name__ == "__main__":
    sys.exit(main())
