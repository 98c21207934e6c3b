"""Repair an image with a trained generator:
``scratchgan inpaint --checkpoint runs/dcgan/checkpoint.npz --test-index 7 --mask center
--out repaired.png``.

The masked pixels are hidden; the generator is inverted on the others (scratchgan.edit.inpaint)
and fills them in. The PNG shows the original, the damaged image and the repair side by side; the
command prints the error on the known and on the hidden pixels, and that of filling the hole with
the mean training image, for comparison.
"""
import sys
from pathlib import Path

import numpy

from scratchgan import edit, viz
from scratchgan.cli import errors
from scratchgan.data import load_emoji_faces, load_image_folder, load_mnist, read_image
from scratchgan.run import ConfigError, load_generator
from scratchgan.run.checkpoint import class_labels


def build_parser():
    p = errors.ArgumentParser(prog="scratchgan inpaint", description="Hide part of an image and "
                              "let a checkpoint's generator fill it in.")
    p.add_argument("--checkpoint", required=True, help="checkpoint.npz of a training run")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", metavar="FILE", help="a picture of the model's size")
    source.add_argument("--test-index", type=int, metavar="I", help="image I of the MNIST test "
                        "set (MNIST models), or of the run's images (image models)")
    p.add_argument("--mask", default="center", help=f"{', '.join(edit.MASKS)}, or a PNG of the "
                   "image's size whose white pixels are hidden (default center)")
    p.add_argument("--label", help="conditional models: the image's class (default: the test "
                   "image's own)")
    p.add_argument("--out", required=True, help="output PNG: original, damaged, repaired")
    p.add_argument("--steps", type=int, default=500, help="gradient steps on z (default 500)")
    p.add_argument("--restarts", type=int, default=8,
                   help="random starting points, the best kept (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting points and of "
                   "--mask random (default 0)")
    p.add_argument("--raw-g", action="store_true", help="G itself, not the moving average of "
                   "its weights (checkpoints of runs with --ema)")
    p.add_argument("--backend", choices=("numpy", "cupy"), default="numpy")
    return p


def image_shape(config):
    """(C, H, W) the checkpoint's generator draws."""
    if config.get("dataset") == "images":
        return config["channels"], config["image_size"], config["image_size"]
    return 1, 28, 28


def dataset_images(config, split="test"):
    """(uint8 images (N, H, W, C), labels) of the run's data: an MNIST split, or the run's
    image folder (the shipped faces when it had none), which has no split."""
    if config.get("dataset") != "images":
        images, labels = load_mnist(split, config.get("data"))
        return images[..., None], labels
    size, channels = config["image_size"], config["channels"]
    found = load_emoji_faces(size, channels) if config.get("data") is None else \
        load_image_folder(config["data"], size, channels)
    return found.images, found.labels


def read_target(args, config):
    """(image (C, H, W) in [-1, 1], its label or None, where it came from)."""
    channels, h, w = image_shape(config)
    if args.image is not None:
        pixels, label, source = read_image(args.image, channels), None, args.image
        if pixels.shape[:2] != (h, w):
            raise ConfigError(f"--image {args.image} is {pixels.shape[1]}x{pixels.shape[0]} "
                              f"pixels; the model draws {w}x{h}: resize it first")
    else:
        images, labels = dataset_images(config)
        if not 0 <= args.test_index < len(images):
            raise ConfigError(f"--test-index {args.test_index}: expected 0 to {len(images) - 1}")
        pixels, label = images[args.test_index], int(labels[args.test_index])
        source = f"test image {args.test_index}"
    image = pixels.transpose(2, 0, 1).astype(numpy.float32) / numpy.float32(127.5) - 1
    return image, label, source


def read_mask(args, size):
    """The hidden pixels (H, W): a named mask, or a PNG's white pixels."""
    if args.mask in edit.MASKS:
        return edit.make_mask(args.mask, size, seed=args.seed)
    if not Path(args.mask).suffix.lower() == ".png":
        raise ConfigError(f"--mask {args.mask}: expected one of {', '.join(edit.MASKS)} or a "
                          ".png file")
    pixels = read_image(args.mask, channels=1)[..., 0]
    if pixels.shape != size:
        raise ConfigError(f"--mask {args.mask} is {pixels.shape[1]}x{pixels.shape[0]} pixels; "
                          f"the image is {size[1]}x{size[0]}")
    hidden = pixels > 127
    if not hidden.any() or hidden.all():
        raise ConfigError(f"--mask {args.mask}: expected white (hidden) and black (known) pixels, "
                          "found only one kind")
    return hidden


def choose_label(args, config, label):
    """The class a conditional generator is inverted with (None for other models)."""
    if not config.get("conditional"):
        if args.label is not None:
            raise ConfigError(f"--label {args.label}: the checkpoint's model is not conditional")
        return None
    if args.label is not None:
        return class_labels(config, 1, args.label)
    if label is None:
        raise ConfigError("--label: a conditional model needs the image's class (one of "
                          f"{', '.join(config['class_names'])})")
    return numpy.array([label])


def main(argv=None):
    """Run the command with ``argv`` (default sys.argv[1:]); returns the exit status."""
    def command():
        args = build_parser().parse_args(argv)
        if not args.out.lower().endswith(".png"):
            raise ConfigError(f"--out {args.out}: expected a file name ending in .png")
        if args.steps < 1 or args.restarts < 1:
            raise ConfigError("--steps and --restarts must be at least 1")
        G, config = load_generator(args.checkpoint, args.backend, args.raw_g)
        image, label, source = read_target(args, config)
        hidden = read_mask(args, image.shape[1:])
        labels = choose_label(args, config, label)
        result = edit.inpaint(G, image[None], hidden, labels, steps=args.steps,
                              restarts=args.restarts, seed=args.seed)
        known_error, hidden_error = edit.pixel_errors(result.images, image[None], hidden)
        pool, _ = dataset_images(config, "train")
        mean_image = pool.mean(0).transpose(2, 0, 1).astype(numpy.float32) / 127.5 - 1
        mean_error = edit.pixel_errors(edit.fill_mean(image[None], hidden, mean_image),
                                       image[None], hidden)[1]
        damaged = numpy.where(hidden, 0.0, image)
        viz.save_grid(numpy.stack([image, damaged, result.images[0]]), args.out, nrow=3,
                      scale=max(1, 256 // (3 * image.shape[2])))
        print(f"{source}, {int(hidden.sum())} of {hidden.size} pixels hidden: mean squared error "
              f"(pixels in [0, 1]) {known_error[0]:.5f} on the known pixels, {hidden_error[0]:.5f}"
              f" on the hidden ones (mean-image filling: {mean_error[0]:.5f}); wrote {args.out}")

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
