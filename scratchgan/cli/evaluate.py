"""``python -m scratchgan evaluate``: score generated digits next to real ones.

    python -m scratchgan evaluate --checkpoint runs/dcgan/checkpoint.npz [--n 10000] [--seed 0]
                                  [--json]
    python -m scratchgan evaluate --samples samples.npy [--n 10000] [--json]

A .npy may hold (N, 28, 28), (N, 1, 28, 28) or (N, 784) images, as floats in [-1, 1] or
[0, 1], or as uint8 pixels; the range found is reported. The real-data column is the same
scores for as many real training images (held out from the nearest-neighbour pool), the
best a generator can do at that sample count.
"""
import json
import sys
import warnings

import numpy

from scratchgan.cli import errors
from scratchgan.metrics import MetricsError, evaluate_samples, read_samples, real_floor
from scratchgan.metrics.evaluation import TRAIN_SIZE, TRAIN_SUBSET

DEFAULT_N = 10000
COLOUR_N = 2000  # colour samples judged by default: more than the 230 features, quick on a CPU
MAX_N = TRAIN_SIZE - TRAIN_SUBSET  # the real floor needs as many held-out training images


class EvaluateError(Exception):
    """Bad input to the evaluate command; main() prints it as one line and exits with 2."""


def sample_checkpoint(path, n, seed, raw=False):
    """``n`` images from the generator at ``path``, drawn as ``scratchgan sample`` draws them.

    So ``scratchgan sample --seed S --n N --out x.npy`` then ``evaluate --samples x.npy`` scores
    the same digits as ``evaluate --checkpoint ... --seed S --n N``.
    """
    from scratchgan.run import sample_images  # noqa: PLC0415  (only --checkpoint needs the models)
    return sample_images(path, n, seed, raw=raw)


def checkpoint_labels(path, n):
    """The digits a conditional checkpoint's samples were asked to be (every class in turn, as
    ``sample_checkpoint`` draws them), or None."""
    from scratchgan.run import load_checkpoint  # noqa: PLC0415
    from scratchgan.run.checkpoint import class_labels  # noqa: PLC0415
    return class_labels(load_checkpoint(path).meta["config"], n)


def choose_n(requested, available, source):
    """--n, or as many of the file's samples as the default allows."""
    if requested is None:
        return min(available, DEFAULT_N)
    if requested > available:
        raise EvaluateError(f"--n {requested}: {source} holds only {available} samples")
    return requested


def format_table(source, scores, real):
    rows = [
        ("Fréchet distance", "frechet_distance", "{:.3f}", "lower is better"),
        ("classifier score (max 10)", "classifier_score", "{:.3f}", "higher is better"),
        ("coverage KL (0 = uniform)", "coverage_kl", "{:.4f}", "lower is better"),
        ("nearest-train distance", "nearest_train_distance", "{:.3f}",
         "far below real = memorised"),
    ]
    lines = [f"{scores['n']} samples from {source}; real data: {real['n']} held-out MNIST "
             "training images",
             f"{'':28}{'samples':>10}{'real':>10}"]
    for label, key, fmt, hint in rows:
        lines.append(f"{label:28}{fmt.format(scores[key]):>10}{fmt.format(real[key]):>10}   {hint}")
    lines.append(f"\n{'class histogram':16}" + "".join(f"{d:>6}" for d in range(10)))
    for name, s in (("samples", scores), ("real", real)):
        lines.append(f"  {name:14}" + "".join(f"{f:6.3f}" for f in s["class_histogram"]))
    if "label_agreement" in scores:
        lines.append(f"\n{'label agreement':16}" + "".join(
            f"{f:6.3f}" for f in scores["label_agreement_per_class"])
            + f"   all: {scores['label_agreement']:.3f} (the classifier reads the digit asked for)")
    lines.append("\nFréchet distance: MNIST-classifier features against the MNIST test set; "
                 "not comparable with Inception FIDs.")
    return "\n".join(lines)


def build_parser():
    parser = errors.ArgumentParser(prog="scratchgan evaluate",
                                   description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", metavar="PATH",
                        help="checkpoint.npz written by scratchgan mnist")
    source.add_argument("--samples", metavar="FILE.npy", help="saved images (.npy)")
    parser.add_argument("--n", type=int, default=None,
                        help=f"number of samples to score (default {DEFAULT_N}, or all of a "
                             "smaller file)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the latents (as scratchgan sample) and of the real images "
                             "drawn (default 0)")
    parser.add_argument("--reference", metavar="FOLDER", help="colour images: the real images "
                        "to compare with (default: the run's data, else the shipped faces)")
    parser.add_argument("--raw-g", action="store_true", help="a checkpoint's G itself, not the "
                        "moving average of its weights (runs with --ema)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of a table")
    return parser


def reference_images(shape, data=None):
    """The real images a colour run is judged against: its data folder, else the shipped faces,
    at the run's size and channels."""
    from scratchgan.data import load_emoji_faces, load_image_folder  # noqa: PLC0415
    size, channels = shape
    found = load_emoji_faces(size, channels) if data is None else \
        load_image_folder(data, size, channels)
    return found.to_tanh_range()


def run_colour(args, note):
    """Colour (or any non-MNIST) images: the random-feature Fréchet distance against real ones."""
    from scratchgan.metrics.colour import evaluate_colour  # noqa: PLC0415
    from scratchgan.run import load_checkpoint  # noqa: PLC0415
    if args.samples is not None:
        images = numpy.load(args.samples, allow_pickle=False).astype(numpy.float32)
        shape, data, source = (images.shape[2], images.shape[1]), args.reference, args.samples
    else:
        config = load_checkpoint(args.checkpoint).meta["config"]
        shape, data = (config["image_size"], config["channels"]), args.reference or config["data"]
        images = sample_checkpoint(args.checkpoint, args.n or COLOUR_N, args.seed, args.raw_g)
        source = args.checkpoint
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[2] != images.shape[3]:
        raise EvaluateError(f"{source}: expected square images (N, 1 or 3, H, H), "
                            f"got {images.shape}")
    images = images[:args.n] if args.n else images
    note(f"judging {len(images)} images against "
         f"{data or 'the shipped emoji faces'} at {shape[0]} pixels")
    return dict(evaluate_colour(images, reference_images(shape, data), args.seed),
                source=str(source), seed=args.seed)


def is_colour(args):
    """Whether the samples or the checkpoint's run are images other than MNIST digits."""
    if args.samples is not None:
        try:
            shape = numpy.load(args.samples, mmap_mode="r", allow_pickle=False).shape
        except (OSError, ValueError):
            return False  # read_samples names the problem
        return len(shape) == 4 and shape[1:] != (1, 28, 28)
    from scratchgan.run import load_checkpoint  # noqa: PLC0415
    return load_checkpoint(args.checkpoint).meta["config"].get("dataset") == "images"


def format_colour(result):
    return "\n".join([
        f"{result['n']} samples from {result['source']}; real data: {result['reference_n']} "
        "images",
        f"{'colour Fréchet distance':28}{result['frechet_distance']:>10.3f}   lower is better",
        f"{'real against real':28}{result['real']['frechet_distance']:>10.3f}   "
        f"(two halves of the real images, {result['real']['n']} each)",
        "\nFeatures of a fixed random convolutional network: comparable between runs of this "
        "project at one size and n, not with Inception FIDs."])


def run(args, note):
    """The scores of the requested samples and of real data, as one JSON-ready dict."""
    if is_colour(args):
        return run_colour(args, note)
    if args.n is not None and not 2 <= args.n <= MAX_N:
        raise EvaluateError(f"--n {args.n}: expected between 2 (the Fréchet distance needs two "
                            f"samples) and {MAX_N} (the held-out real images for the floor)")
    if args.samples is not None:
        images, detected = read_samples(args.samples)
        note(f"{args.samples}: {len(images)} images, detected range: {detected}")
        n = choose_n(args.n, len(images), args.samples)
        images, source = images[:n], args.samples
        labels = None
    else:
        n = args.n or DEFAULT_N
        images = sample_checkpoint(args.checkpoint, n, args.seed, args.raw_g)
        detected, source = "generator output", args.checkpoint
        labels = checkpoint_labels(args.checkpoint, n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = evaluate_samples(images, labels=labels)
    for w in caught:
        note(f"warning: {w.message}")
    return dict(scores, source=str(source), detected_range=detected, seed=args.seed,
                real=real_floor(n, seed=args.seed))


def main(argv=None):
    """Entry point of ``scratchgan evaluate``: 0 on success, 2 on bad input (one error line)."""
    args = build_parser().parse_args(argv)

    def note(message):
        print(f"scratchgan: {message}", file=sys.stderr)

    def command():
        try:
            result = run(args, note)
        except (EvaluateError, MetricsError) as e:
            return errors.fail(e)
        if args.json:
            print(json.dumps(result))
        elif "reference_n" in result:
            print(format_colour(result))
        else:
            print(format_table(result["source"], result, result["real"]))
        return 0

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
