"""The inpainting figures of the README: on 100 images with the centre hidden, the hidden-pixel
error of ``edit.inpaint`` beside mean-image filling and the nearest training image (and, for
MNIST, how often the classifier still reads the true digit).

    python scripts/inpainting_table.py --checkpoint runs/mlp/checkpoint.npz
    python scripts/inpainting_table.py --checkpoint runs/image-dcgan/checkpoint.npz --out faces.png

MNIST checkpoints repair test digits 0-99 (the mean image and the neighbours come from the
training split); image checkpoints repair the first 100 of every 10th image of their data
(the shipped faces by default), with the rest as the pool. A conditional checkpoint is inverted
with each image's own label. Errors: mean squared error with pixels in [0, 1].
"""
import argparse
import time

import numpy

from scratchgan import edit, viz
from scratchgan.cli.inpaint import dataset_images
from scratchgan.run import load_generator


def tanh_range(uint8_nhwc):
    return uint8_nhwc.transpose(0, 3, 1, 2).astype(numpy.float32) / numpy.float32(127.5) - 1


def images_and_pool(config, n):
    if config.get("dataset") != "images":
        test, test_labels = dataset_images(config, "test")
        train, _ = dataset_images(config, "train")
        return tanh_range(test[:n]), test_labels[:n], tanh_range(train)
    images, labels = dataset_images(config)
    chosen = numpy.zeros(len(images), bool)
    chosen[::10] = True
    index = numpy.flatnonzero(chosen)[:n]
    chosen[:] = False
    chosen[index] = True
    return tanh_range(images[chosen]), labels[chosen], tanh_range(images[~chosen])


def digit_accuracy(images, labels):
    """How often the project's MNIST classifier reads the repaired digit as the true one."""
    from scratchgan.metrics import predict_proba
    return float((predict_proba(images).argmax(1) == labels).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--restarts", type=int, default=8)
    p.add_argument("--out", help="a PNG of the first 8: original, damaged, repaired, mean, nearest")
    p.add_argument("--raw-g", action="store_true", help="G itself, not its moving average")
    args = p.parse_args()
    G, config = load_generator(args.checkpoint, raw=args.raw_g)
    truth, labels, pool = images_and_pool(config, args.n)
    hidden = edit.make_mask("center", truth.shape[2:])
    start = time.perf_counter()
    repaired = edit.inpaint(G, truth, hidden, labels if config.get("conditional") else None,
                            steps=args.steps, restarts=args.restarts).images
    seconds = time.perf_counter() - start
    filled = {"inpaint": repaired,
              "mean image": edit.fill_mean(truth, hidden, pool.mean(0)),
              "nearest training image": edit.fill_nearest(truth, hidden, pool)}
    print(f"{args.checkpoint}: {len(truth)} images, centre {int(hidden.sum())} of {hidden.size} "
          f"pixels hidden; inpainting took {seconds:.0f} s ({args.steps} steps, "
          f"{args.restarts} restarts)")
    mnist = config.get("dataset") != "images"
    for name, images in filled.items():
        known, hid = edit.pixel_errors(images, truth, hidden)
        read = f", read as the true digit {digit_accuracy(images, labels):.0%}" if mnist else ""
        print(f"  {name:24} hidden-pixel error {hid.mean():.4f} (median {numpy.median(hid):.4f}),"
              f" known {known.mean():.4f}{read}")
    if mnist:
        print(f"  (the intact digits are read correctly {digit_accuracy(truth, labels):.0%})")
    if args.out:
        damaged = numpy.where(hidden, 0.0, truth)
        rows = [truth[:8], damaged[:8], *[images[:8] for images in filled.values()]]
        viz.save_grid(numpy.concatenate(rows), args.out, nrow=8,
                      scale=max(1, 512 // (8 * truth.shape[3])))


if __name__ == "__main__":
    main()
