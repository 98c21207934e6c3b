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

from scratchgan.cli import errors
from scratchgan.metrics import MetricsError, evaluate_samples, read_samples, real_floor
from scratchgan.metrics.evaluation import TRAIN_SIZE, TRAIN_SUBSET

DEFAULT_N = 10000
MAX_N = TRAIN_SIZE - TRAIN_SUBSET  # the real floor needs as many held-out training images


class EvaluateError(Exception):
    """Bad input to the evaluate command; main() prints it as one line and exits with 2."""


def sample_checkpoint(path, n, seed):
    """``n`` images from the generator at ``path``, drawn as ``scratchgan sample`` draws them.

    So ``scratchgan sample --seed S --n N --out x.npy`` then ``evaluate --samples x.npy`` scores
    the same digits as ``evaluate --checkpoint ... --seed S --n N``.
    """
    from scratchgan.run import sample_images  # noqa: PLC0415  (only --checkpoint needs the models)
    return sample_images(path, n, seed)


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
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object instead of a table")
    return parser


def run(args, note):
    """The scores of the requested samples and of real data, as one JSON-ready dict."""
    if args.n is not None and not 2 <= args.n <= MAX_N:
        raise EvaluateError(f"--n {args.n}: expected between 2 (the Fréchet distance needs two "
                            f"samples) and {MAX_N} (the held-out real images for the floor)")
    if args.samples is not None:
        images, detected = read_samples(args.samples)
        note(f"{args.samples}: {len(images)} images, detected range: {detected}")
        n = choose_n(args.n, len(images), args.samples)
        images, source = images[:n], args.samples
    else:
        n = args.n or DEFAULT_N
        images = sample_checkpoint(args.checkpoint, n, args.seed)
        detected, source = "generator output", args.checkpoint
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = evaluate_samples(images)
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
        else:
            print(format_table(result["source"], result, result["real"]))
        return 0

    return errors.run(command)


if __name__ == "__main__":
    sys.exit(main())
