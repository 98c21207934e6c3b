"""Train a DCGAN on colour images: ``python -m scratchgan.images [--data FOLDER]``.

Without --data it trains on the faces that ship with scratchgan (Noto emoji faces, people and
animals); with it, on any folder of PNG, JPEG, BMP, GIF or WebP images, searched recursively.
The same as ``scratchgan images ...``.
"""
import sys

from scratchgan.cli.training import run_training, training_parser
from scratchgan.run.config import DATASET_MODELS, IMAGE_DEFAULTS


def build_parser():
    p = training_parser(
        "scratchgan images", "Train the DCGAN of Radford et al. on a folder of images (default: "
        "the emoji faces shipped with scratchgan). Writes colour sample grids, metrics.csv, "
        "losses.png, progress.gif and checkpoint.npz into --out. Ctrl-C saves a checkpoint; "
        "--resume continues it.", DATASET_MODELS["images"])
    p.add_argument("--data", help="a folder of images, searched recursively; first-level "
                   "subfolders are classes (default: the shipped emoji faces)")
    p.add_argument("--image-size", type=int, help="side of the square images the networks see: "
                   f"a power of two (default {IMAGE_DEFAULTS['image_size']})")
    p.add_argument("--channels", type=int, choices=(1, 3),
                   help=f"3 for colour, 1 for grey (default {IMAGE_DEFAULTS['channels']})")
    p.add_argument("--width", type=int, help="maps of the networks' outermost layers, doubling "
                   f"towards the middle (default {IMAGE_DEFAULTS['width']}: ngf = ndf)")
    p.add_argument("--flip", action="store_true",
                   help="flip a random half of each batch left to right")
    p.add_argument("--conditional", action="store_true", default=None,
                   help="a conditional GAN: the first-level subfolders are the classes; grids "
                        "show a class per row, and `scratchgan sample --label NAME` draws one")
    return p


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    return run_training(build_parser(), argv, dataset="images", model="image-dcgan")


if __name__ == "__main__":
    sys.exit(main())
