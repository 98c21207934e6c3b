"""Lesson 10: putting numbers on samples - Fréchet distance and classifier score.

Looking at sample grids is essential and subjective. The standard numbers come from a trained
classifier (here a small MNIST CNN shipped with scratchgan.metrics, the way FID uses Inception):

  * Fréchet distance: fit a Gaussian to the classifier's 128-dim penultimate features of the
    samples and another to those of real images; the distance between the two Gaussians,
        ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½).
    It sees both quality (are features real-looking?) and diversity (is the spread right?).
    Lower is better. It is biased upwards for small n, so only compare numbers at equal n.
  * Classifier score: exp(E_x KL(p(y|x) ‖ p(y))). High when each sample is confidently one digit
    AND all ten digits appear. 1 (worst) to 10 (best).
  * Class coverage: the histogram of predicted digits, and its KL to uniform (0 is perfect).
  * Nearest-training-image distance: a generator that copies its training set scores perfectly
    on all of the above; this is the number that gives it away.

We score a few hand-made "generators" whose failure we know, to see what each number notices.

Run:  python lessons/10_measuring_samples.py [--n 1000] [--quick]
"""
import argparse
import os

import numpy as np

from scratchgan.data import mnist_dataset
from scratchgan.metrics import (class_histogram, classifier_score, coverage_kl, features_and_proba,
                                frechet_distance, nearest_train_distance)


def blur(images, passes=2):
    """A 3×3 box blur repeated: real digits, but soft - like an undertrained generator."""
    out = images.copy()
    for _ in range(passes):
        padded = np.pad(out, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        out = sum(padded[:, :, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9
    return out


def candidate_sets(n, rng):
    train, train_labels = mnist_dataset(split="train", limit=20000)
    test, _ = mnist_dataset(split="test")
    pool, unseen, unseen_labels = train[:10000], train[10000:], train_labels[10000:]
    held_out = unseen[:n]  # real digits that the nearest-neighbour search never sees
    ones = unseen[unseen_labels == 1][:n]
    return {
        "real (held-out train)": held_out,
        "copies of train": pool[:n],                      # a memorising "generator"
        "blurred real": blur(held_out),
        "only the digit 1": ones,                         # mode collapse
        "uniform noise": rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32),
    }, test, pool


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="images per set")
    parser.add_argument("--quick", action="store_true", help="fewer images (for tests)")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
    n = 300 if quick else args.n
    rng = np.random.default_rng(0)

    sets, test, train_pool = candidate_sets(n, rng)
    reference_feats, _ = features_and_proba(test[:n])  # the real distribution, n test images
    print(f"reference: {n} MNIST test images; every set has {n} images\n")
    print(f"{'set':24s} {'Fréchet':>9s} {'cls score':>9s} {'coverage KL':>11s} "
          f"{'nearest train':>13s}")
    scores = {}
    for name, images in sets.items():
        feats, probs = features_and_proba(images)
        histogram = class_histogram(probs)
        scores[name] = (frechet_distance(feats, reference_feats), classifier_score(probs),
                        coverage_kl(histogram), nearest_train_distance(images, train_pool))
        print(f"{name:24s} {scores[name][0]:9.2f} {scores[name][1]:9.2f} {scores[name][2]:11.3f} "
              f"{scores[name][3]:13.3f}")

    real, copies = scores["real (held-out train)"], scores["copies of train"]
    collapsed, noise = scores["only the digit 1"], scores["uniform noise"]
    print(f"\n* real digits set the floor: Fréchet {real[0]:.2f} is not 0 "
          "(two finite samples differ).")
    print(f"* copies of the training set score like real digits on every measure but one: "
          f"nearest-train distance {copies[3]:.3f} against {real[3]:.3f} for unseen real digits.")
    print(f"* mode collapse: each sample is a confident digit, yet the classifier score is "
          f"{collapsed[1]:.2f} and the coverage KL is {collapsed[2]:.2f}, "
          f"near ln 10 = {np.log(10):.2f} (one class of ten).")
    print(f"* noise is far from everything: Fréchet {noise[0]:.0f}.")
    assert real[0] < scores["blurred real"][0] < noise[0] and real[0] < collapsed[0]
    assert collapsed[1] < 2 < real[1] and copies[3] == 0 < real[3]

    # The bias: the same real distribution scored with fewer samples looks worse.
    small = max(n // 4, 50)
    small_fd = frechet_distance(features_and_proba(sets["real (held-out train)"][:small])[0],
                                features_and_proba(test[n:n + small])[0])
    print(f"\nreal vs real with {small} images a side: Fréchet {small_fd:.2f} "
          f"(with {n}: {real[0]:.2f}) - compare scores only at equal n")


if __name__ == "__main__":
    main()
