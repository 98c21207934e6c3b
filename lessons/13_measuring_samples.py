"""Lesson 13: putting numbers on samples - Fréchet distance and classifier score.

Looking at sample grids is essential and subjective. The standard numbers come from a trained
classifier (here a small MNIST CNN shipped with scratchgan.metrics, the way FID uses Inception):

  * Fréchet distance: fit a Gaussian to the classifier's 128-dim penultimate features of the
    samples and another to those of real images; the distance between the two Gaussians,
        ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½).
    It sees both quality (are the features real-looking?) and diversity (is the spread right?).
    Lower is better. It is biased upwards for small n, so only compare numbers at equal n.
  * Classifier score: exp(E_x KL(p(y|x) ‖ p(y))). High when each sample is confidently one digit
    AND all ten digits appear. 1 (worst) to 10 (best).
  * Class coverage: the histogram of predicted digits, and its KL to uniform (0 is perfect).
  * Nearest-training-image distance: a generator that copies its training set scores perfectly
    on all of the above; this is the number that gives it away.

We score a few hand-made "generators" whose failure we know, to see what each number notices,
then score real digits against real digits at several sample sizes to see the bias.

Builds on: lesson 10 (the samples these numbers judge) and lesson 04 (the classifier is a small
convolutional network).

Run:  python lessons/13_measuring_samples.py [--n 1000] [--out DIR] [--quick]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from scratchgan.data import mnist_dataset
from scratchgan.metrics import (class_histogram, classifier_score, coverage_kl, features_and_proba,
                                frechet_distance, nearest_train_distance)

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 13: measuring samples")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/13", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="300 images per set (for tests)")
parser.add_argument("--n", type=int, default=1000, help="images per set")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
n = 300 if QUICK else args.n
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)

# %% Five "generators" whose failure we know
# The reference is real MNIST test digits. The candidates: unseen real digits (the best a
# generator can do), copies of training images (memorisation), blurred real digits (an
# undertrained generator), only ones (mode collapse) and uniform noise.


def blur(images, passes=2):
    """A 3×3 box blur repeated: real digits, but soft - like an undertrained generator."""
    soft = images.copy()
    for _ in range(passes):
        padded = np.pad(soft, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        soft = sum(padded[:, :, i:i + 28, j:j + 28] for i in range(3) for j in range(3)) / 9
    return soft


train, train_labels = mnist_dataset(split="train", limit=20000)
test, _ = mnist_dataset(split="test", limit=2 * n)
pool, unseen, unseen_labels = train[:10000], train[10000:], train_labels[10000:]
held_out = unseen[:n]  # real digits that the nearest-neighbour search never sees
sets = {
    "real (held-out)": held_out,
    "copies of train": pool[:n],                             # a memorising "generator"
    "blurred real": blur(held_out),
    "only the digit 1": unseen[unseen_labels == 1][:n],      # mode collapse
    "uniform noise": rng.uniform(-1, 1, (n, 1, 28, 28)).astype(np.float32),
}
assert all(len(images) == n for images in sets.values())

# %% Score every set
reference_feats, _ = features_and_proba(test[:n])  # the real distribution: n test images
print(f"reference: {n} MNIST test images; every set has {n} images\n")
print(f"{'set':20s} {'Fréchet':>9s} {'cls score':>9s} {'coverage KL':>11s} {'nearest train':>13s}")
scores, confidence, feats_of = {}, {}, {}
for name, images in sets.items():
    feats, probs = features_and_proba(images)
    feats_of[name] = feats
    confidence[name] = float(probs.max(axis=1).mean())  # how sure the classifier is, per sample
    scores[name] = dict(fd=frechet_distance(feats, reference_feats), cs=classifier_score(probs),
                        kl=coverage_kl(class_histogram(probs)),
                        near=nearest_train_distance(images, pool))
    s = scores[name]
    print(f"{name:20s} {s['fd']:9.2f} {s['cs']:9.2f} {s['kl']:11.3f} {s['near']:13.3f}")

# %% What each number noticed
# Every sentence printed below is checked by the assertion next to it.
real, copies, blurred = scores["real (held-out)"], scores["copies of train"], scores["blurred real"]
collapsed, noise = scores["only the digit 1"], scores["uniform noise"]

assert real["fd"] > 0
print(f"\n* real digits set the floor: Fréchet {real['fd']:.2f}, not 0 (two finite samples of "
      "the same distribution differ).")

assert abs(copies["fd"] - real["fd"]) < 0.2 * (blurred["fd"] - real["fd"])
assert abs(copies["cs"] - real["cs"]) < 0.5 and copies["kl"] < 0.05 and real["kl"] < 0.05
assert copies["near"] == 0 < real["near"]
print(f"* copies of the training set score like real digits on every measure but one "
      f"(Fréchet {copies['fd']:.2f} against {real['fd']:.2f}, a small gap beside blurring's; "
      f"score {copies['cs']:.2f} against {real['cs']:.2f}): their nearest-train distance is "
      f"{copies['near']:.3f} against {real['near']:.3f} for unseen real digits.")

assert real["fd"] < blurred["fd"] < noise["fd"] and blurred["cs"] < real["cs"]
print(f"* blurring is seen by the Fréchet distance ({blurred['fd']:.2f}) and the score "
      f"({blurred['cs']:.2f}), but the blurred digits stay recognisable digits of every class "
      f"(coverage KL {blurred['kl']:.3f}).")
assert blurred["kl"] < 0.1

assert confidence["only the digit 1"] > 0.9
assert collapsed["cs"] < 2 < real["cs"] and abs(collapsed["kl"] - np.log(10)) < 0.2
assert real["fd"] < collapsed["fd"]
print(f"* mode collapse: each sample is a confident digit (mean top probability "
      f"{confidence['only the digit 1']:.2f}), yet the classifier score is {collapsed['cs']:.2f} "
      f"and the coverage KL is {collapsed['kl']:.2f}, near ln 10 = {np.log(10):.2f} (one class "
      "of ten).")

assert noise["fd"] == max(s["fd"] for s in scores.values()) and noise["fd"] > 10 * real["fd"]
print(f"* noise is far from everything: Fréchet {noise['fd']:.0f}, over ten times the floor.")

# %% The small-sample bias
# The same real distribution scored with fewer images looks worse: a covariance estimated from
# few samples is noisy, and the noise only ever adds distance. We draw subsets of the held-out
# real features and of n more test images (not the reference above) and average a few draws.
test_feats, _ = features_and_proba(test[n:2 * n])
sizes = [m for m in (50, 100, 200, 500, 1000, 2000) if m <= n]
draws = 3 if QUICK else 5
bias = []
for m in sizes:
    values = [frechet_distance(feats_of["real (held-out)"][rng.choice(n, m, replace=False)],
                               test_feats[rng.choice(n, m, replace=False)])
              for _ in range(draws)]
    bias.append(float(np.mean(values)))
    print(f"  real vs real, {m:4d} images a side: Fréchet {bias[-1]:7.2f} "
          f"(mean of {draws} draws)")
assert all(a > b for a, b in zip(bias, bias[1:])), "the bias should shrink as n grows"
print(f"real against real falls from {bias[0]:.2f} at n = {sizes[0]} to {bias[-1]:.2f} at "
      f"n = {sizes[-1]}: compare Fréchet distances only at equal n.")

# %% The figure: the sets, two of their numbers, and the bias curve
fig = plt.figure(figsize=(16, 4.2))
grid = fig.add_gridspec(len(sets), 4, width_ratios=[1.3, 1.1, 1.0, 1.0])
for row, (name, images) in enumerate(sets.items()):
    ax = fig.add_subplot(grid[row, 0])
    strip = np.concatenate(list(images[:8, 0]), axis=1)  # eight examples side by side
    ax.imshow(strip, cmap="gray", vmin=-1, vmax=1)
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
names = list(scores)
colours = ["tab:green", "tab:olive", "tab:orange", "tab:red", "tab:gray"]
for column, (key, label, log) in enumerate(
        [("fd", f"Fréchet distance to {n} test digits (log)", True),
         ("near", "mean distance to the nearest training image", False)], start=1):
    bars = fig.add_subplot(grid[:, column])
    values = [scores[k][key] for k in names]
    bars.barh(names, values, color=colours)
    if log:
        bars.set_xscale("log")
    bars.invert_yaxis()
    bars.set_yticks(range(len(names)), [""] * len(names) if column > 1 else names)
    bars.set_xlabel(label, fontsize=9)
    for y, v in enumerate(values):
        bars.text(v, y, f" {v:.1f}" if key == "fd" else f" {v:.2f}", va="center", fontsize=8)
bars.set_title("copies give themselves away here")
fig.axes[len(sets)].set_title("lower is better")
curve = fig.add_subplot(grid[:, 3])
curve.plot(sizes, bias, "o-")
curve.set_xscale("log"), curve.set_yscale("log")
curve.set_xlabel("images per side (n)")
curve.set_ylabel("Fréchet distance, real vs real")
curve.set_title("small-sample bias")
fig.tight_layout()
figure = out / "measuring_samples.png"
fig.savefig(figure, dpi=100)
plt.close(fig)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Replace "only the digit 1" by a set of ones and sevens (labels 1 and 7). Predict the coverage
#    KL (hint: log(10 / k) for k equally common classes) before you run it.
# 2. Blur with passes=1 and passes=4: which number, the Fréchet distance or the classifier score,
#    grows faster with the blur? Plot both against `passes`.
# 3. Multiply each bias value by its n. Were the bias a pure 1/n term, the products would be
#    equal: are they? Fit FD(n) = a/n + b; what could b, left at infinite n, be measuring?
