"""Train the MNIST classifier behind scratchgan.metrics, with scratchgan itself.

    python scripts/train_classifier.py              # writes scratchgan/metrics/mnist_classifier.npz
    python scripts/train_classifier.py --out /tmp/c.npz --epochs 1 --limit 5000

Adam with cross entropy on the 60k packaged training images, the learning rate halved every
epoch after the second; no augmentation by default (--shift adds random translations). The
defaults reached 99.09% test accuracy in five minutes on two CPU cores (20 s an epoch when the
cores are idle). The weights are saved as float32 (1.7 MB compressed) with the test accuracy
and these settings recorded in the file.
"""
import argparse
import time

import numpy

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import optim
from scratchgan.data import mnist_dataset
from scratchgan.metrics.classifier import WEIGHTS_PATH, MnistClassifier, save_weights


def random_shift(images, rng, max_shift):
    """Each image moved by its own random offset of up to ``max_shift`` pixels (background fill)."""
    if max_shift == 0:
        return images
    n, size = len(images), images.shape[-1]
    m = max_shift
    padded = numpy.pad(images[:, 0], ((0, 0), (m, m), (m, m)), constant_values=-1)
    rows = rng.integers(0, 2 * m + 1, n)[:, None] + numpy.arange(size)
    cols = rng.integers(0, 2 * m + 1, n)[:, None] + numpy.arange(size)
    return padded[numpy.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]][:, None]


def accuracy(model, images, labels, batch_size=1000):
    model.eval()
    correct = 0
    with sg.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(sg.Tensor(images[start:start + batch_size])).numpy()
            correct += int((logits.argmax(1) == labels[start:start + batch_size]).sum())
    model.train()
    return correct / len(images)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shift", type=int, default=0,
                        help="random translation augmentation, in pixels (off)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first LIMIT images only")
    parser.add_argument("--out", default=str(WEIGHTS_PATH))
    args = parser.parse_args(argv)

    sg.seed(args.seed)
    train_x, train_y = mnist_dataset(split="train", limit=args.limit)
    test_x, test_y = mnist_dataset(split="test")
    train_y = train_y.astype(numpy.int64)
    model = MnistClassifier()
    opt = optim.Adam(model.parameters(), lr=args.lr)
    order_rng = numpy.random.default_rng(args.seed)
    steps = len(train_x) // args.batch_size
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        opt.lr = args.lr * 0.5 ** max(0, epoch - 2)
        running = []
        order = order_rng.permutation(len(train_x))
        for step in range(1, steps + 1):
            index = order[(step - 1) * args.batch_size:step * args.batch_size]
            images = random_shift(train_x[index], order_rng, args.shift)
            loss = F.cross_entropy(model(sg.Tensor(images)), train_y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running.append(loss.item())
            if step % 100 == 0:
                print(f"epoch {epoch} step {step}/{steps} loss {numpy.mean(running[-100:]):.4f} "
                      f"({time.time() - start:.0f}s)", flush=True)
        acc = accuracy(model, test_x, test_y)
        print(f"epoch {epoch}: lr {opt.lr:g}, train loss {numpy.mean(running):.4f}, "
              f"test accuracy {acc:.4f} ({time.time() - start:.0f}s)", flush=True)
    save_weights(model.eval(), args.out, test_accuracy=acc, epochs=args.epochs,
                 batch_size=args.batch_size, lr=args.lr, shift=args.shift, seed=args.seed,
                 limit=args.limit)
    print(f"test accuracy {acc:.4f}; weights saved to {args.out}")


if __name__ == "__main__":
    main()
