"""Lesson 00: a GAN in a minute - train one, look at what it draws, then learn how it works.

Results first. This lesson trains a generative adversarial network (GAN) on MNIST's handwritten
digits for about a minute on a laptop CPU and shows what it draws. Nothing here needs to make
sense yet; the later lessons take every piece apart.

A GAN is two networks playing a game:

  * the generator G turns random noise z (100 numbers) into a 28×28 image;
  * the discriminator D looks at an image and says how likely it is to be a real digit.

Each training step, D sees a batch of real digits and a batch of G's fakes and gets better at
telling them apart; then G changes so that D takes its fakes for real. Neither is ever shown
what a "7" is: G only learns from D's verdicts. After a few thousand steps G's noise has become
handwriting.

Both networks here are small multi-layer perceptrons (``scratchgan.models.build("mlp")``), and
everything under them - the tensors, the gradients, the layers, Adam - is written from scratch
on NumPy in this repository. One more trick makes a minute enough: the samples come from a
*moving average* of G's weights (``ema=0.999``), which smooths out the game's back-and-forth and
cleans up the speckle that G itself draws at any single moment (the figure shows both).

Is it really drawing digits? Look at the grid, and ask a judge that did not take part: a small
digit classifier trained on real MNIST (``scratchgan.metrics``). It should be confident about
what each sample is, and it should find all ten digits among them - for real digits it is, and
for random noise it is not. The lesson prints and asserts both.

Where each part is explained:
  tensors, gradients, backward, checking them .......... lessons 01-03
  the layers (convolutions, batch norm), the GPU ....... lessons 04-06
  the game itself, in one dimension .................... lesson 07
  this training loop, line by line ..................... lesson 08
  what goes wrong, and how to see it ................... lesson 09
  the DCGAN, long runs and checkpoints; on a GPU ....... lessons 10-11
  another loss: WGAN-GP ................................ lesson 12
  measuring samples (what the judge below means) ....... lesson 13
  digits on demand, colour faces, the latent space,
  repairing images, PyTorch's own DCGAN tutorial ....... lessons 14-18

Run:  python lessons/00_a_gan_in_a_minute.py                   (about a minute)
      python lessons/00_a_gan_in_a_minute.py --minutes 5       (a longer run: better digits)
      python lessons/00_a_gan_in_a_minute.py --steps 20000 --out my_run
"""
# %%
import argparse
import os
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import metrics, models
from scratchgan.data import BatchIterator, mnist_dataset
from scratchgan.trainer import GANTrainer
from scratchgan.viz import image_grid, save_grid

STEPS = 4000  # about a minute on one core of a laptop
QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 00: a GAN in a minute")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/00", help="folder for the pictures")
parser.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
parser.add_argument("--steps", type=int, default=STEPS, help="training steps (default: a minute)")
parser.add_argument("--minutes", type=float, default=None,
                    help="train for this many minutes instead of --steps")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
steps = 60 if QUICK else (None if args.minutes else args.steps)
seconds = None if QUICK or not args.minutes else 60 * args.minutes
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
# The networks' matrices are small, so one CPU thread does nearly as well as several (lesson 06
# shows threads paying off on a big product).
sg.set_num_threads(1)

# %% [markdown]
# ## The data and the two networks
# 60,000 handwritten digits ship with scratchgan, scaled to [-1, 1] (G ends in tanh, whose
# outputs lie there too). G: 100 noise numbers -> 784 pixels; D: 784 pixels -> one number, a
# logit (high: "real"). The trainer holds one Adam optimiser per network and the moving average.

# %%
images, _ = mnist_dataset()  # the digits' labels are never used: G learns from D alone
print(f"training data: {images.shape[0]} digits of {images.shape[2]}x{images.shape[3]} pixels, "
      f"values in [{images.min():.0f}, {images.max():.0f}]")
sg.seed(args.seed)  # the networks' initial weights, the noise and the batches: repeatable
# The MLP GAN at half its default widths, with learning rates five times its defaults (2e-4):
# each step costs less than half as much, and moves further; a minute needs steps more than
# width. Measured on 2 cores, 4000 steps (under a minute): classifier scores 7.6 and 7.3 (seeds
# 0 and 1; the judge is below), all ten digits. Learning rates 5e-4: 6.0 and 6.6. The default
# pair (build("mlp"), 2e-4) after the same minute of CPU: 3.0, six digits. Rates 2e-3: five
# digits, the game tips over (Try this, 3). `python -m scratchgan.mnist` trains the full widths
# for longer.
G, D = models.build("mlp", g_hidden=(128, 256, 512), d_hidden=(256, 128))
print(f"G: {sum(p.numel() for p in G.parameters()):,} weights; "
      f"D: {sum(p.numel() for p in D.parameters()):,} weights")
trainer = GANTrainer(G, D, latent_dim=100, lr_g=1e-3, lr_d=1e-3, ema=0.999)
batches = BatchIterator(images, batch_size=64, seed=args.seed)

# The same 64 noise vectors are drawn at every look, so that the pictures can be compared.
fixed_z = np.random.default_rng(args.seed).standard_normal((64, 100)).astype(np.float32)

# %% [markdown]
# ## Train
# One step: D learns from 64 real digits and 64 fakes, then G learns from D's verdict on its
# fakes. We keep the losses (lesson 08 explains them) and a snapshot of 8 samples now and then.

# %%
history = []  # (step, D loss, G loss, D(real), D(fake)) every 10 steps
snapshots = {0: trainer.generate(fixed_z[:8])}
total = steps or 10 ** 9
snapshot_every = max(1, total // 5) if steps else 500
start, step = time.perf_counter(), 0
while step < total and (seconds is None or time.perf_counter() - start < seconds):
    for real in batches:
        stats = trainer.train_step(real)
        step += 1
        if step % 10 == 0:
            history.append((step, stats["d_loss"], stats["g_loss"], stats["d_real"],
                            stats["d_fake"]))
        if step % snapshot_every == 0:
            snapshots[step] = trainer.generate(fixed_z[:8])
        if step % max(1, total // 10 if steps else 500) == 0:
            print(f"step {step:5d}  {time.perf_counter() - start:5.1f} s   D loss "
                  f"{stats['d_loss']:.3f}  G loss {stats['g_loss']:.3f}", flush=True)
        if step >= total or (seconds is not None and time.perf_counter() - start >= seconds):
            break
elapsed = time.perf_counter() - start
snapshots[step] = trainer.generate(fixed_z[:8])
history = np.array(history).reshape(-1, 5)
print(f"trained {step} steps in {elapsed:.0f} s ({1e3 * elapsed / step:.1f} ms per step)")
assert np.isfinite(history).all(), "a loss became NaN or infinite"

# %% [markdown]
# ## Look at it
# The moving average of G draws the grid; G itself, at this very moment, draws the same noise a
# little more speckled. trainer.generate runs G in eval mode without recording a graph.

# %%
samples = trainer.generate(fixed_z)               # the moving average of G
samples_raw = trainer.generate(fixed_z, raw=True)  # G itself
grid_png = save_grid(samples, OUT / "samples.png", nrow=8, scale=3)
print(f"sample grid: {grid_png}")

# %% [markdown]
# ## Ask the judge
# The project's MNIST classifier (99 % right on real test digits) reads 1,000 samples. Two
# numbers: how sure it is about each sample (its top probability, averaged), and how many of the
# ten digits it finds among them (a digit counts when at least 3 % of the samples are that digit).
# The classifier score combines both: 1 (one digit, or mush) to 10 (all ten, each unmistakable).
# Real test digits and uniform noise give the two ends of the scale.

# %%


def judge(x):
    """(mean top probability, digits found, classifier score, digit histogram, speckle) for
    images (N, 1, 28, 28) in [-1, 1]. Speckle: the mean jump between neighbouring pixels, high
    for salt-and-pepper noise, low for smooth strokes."""
    probs = metrics.predict_proba(x)
    histogram = metrics.class_histogram(probs)
    speckle = np.abs(np.diff(x, axis=2)).mean() + np.abs(np.diff(x, axis=3)).mean()
    return (float(probs.max(axis=1).mean()), int((histogram >= 0.03).sum()),
            metrics.classifier_score(probs), histogram, float(speckle))


judge_z = np.random.default_rng(args.seed + 1).standard_normal((1000, 100)).astype(np.float32)
scores = {
    "real test digits": judge(mnist_dataset(split="test", limit=1000)[0]),
    "moving average of G": judge(trainer.generate(judge_z)),
    "G itself": judge(trainer.generate(judge_z, raw=True)),
    "uniform noise": judge(np.random.default_rng(0).uniform(-1, 1, (1000, 1, 28, 28))
                           .astype(np.float32)),
}
for name, (confidence, found, score, _, speckle) in scores.items():
    print(f"{name:20s}: top probability {confidence:.2f}, digits found {found:2d}/10, "
          f"classifier score {score:.2f}, speckle {speckle:.2f}")
confidence, found, score, histogram, speckle = scores["moving average of G"]
if QUICK or step < STEPS:
    # A few steps draw blurs, not digits: quick mode (and a run shorter than the default minute)
    # checks that everything ran, not the quality.
    assert all(np.isfinite(s[2]) for s in scores.values())
    print(f"{step} steps, fewer than the default {STEPS}: the quality is not checked")
else:
    noise_score = scores["uniform noise"][2]
    assert found >= 9, f"only {found} of the ten digits found: train longer (--steps)"
    # Real digits score 9.7 and noise 1.4; these settings measured 7.6 and 7.3 with two seeds.
    # Other CPUs round differently, and a GAN's path then drifts: keep a margin.
    assert score > 5 > 3 * noise_score, (
        f"the classifier is not convinced: score {score:.2f} (noise {noise_score:.2f})")
    assert speckle < scores["G itself"][4], "the moving average should be less speckled than G"
    print(f"recognisable digits: the judge finds {found} of the ten, {confidence:.0%} sure on "
          f"average (score {score:.1f}; real digits {scores['real test digits'][2]:.1f}, noise "
          f"{noise_score:.1f}); the moving average is less speckled than G itself")

# %% [markdown]
# ## The picture
# Top: real digits, G's samples from the moving average, the same noise through G itself, and
# 8 noise vectors through training, left to right. Bottom: the losses, D's verdicts, and how
# often the classifier reads each digit among the samples.

# %%
fig = plt.figure(figsize=(16, 8.5))
grid = fig.add_gridspec(2, 4, height_ratios=[1.3, 1])
pictures = [(mnist_dataset(split="test", limit=64)[0], "real MNIST digits"),
            (samples, f"G's samples (moving average), step {step}"),
            (samples_raw, "G itself, same noise: speckled")]
for column, (x, title) in enumerate(pictures):
    ax = fig.add_subplot(grid[0, column])
    ax.imshow(image_grid(x, nrow=8), cmap="gray", vmin=0, vmax=255)
    ax.set_title(title)
    ax.axis("off")
shown = sorted(snapshots)
if len(shown) > 8:  # a long run: eight snapshots, evenly spread
    shown = [shown[i] for i in np.linspace(0, len(shown) - 1, 8).round().astype(int)]
strip = np.stack([snapshots[s][row] for row in range(8) for s in shown])
ax = fig.add_subplot(grid[0, 3])
ax.imshow(image_grid(strip, nrow=len(shown)), cmap="gray", vmin=0, vmax=255)
ax.set_xticks([(28 + 2) * (i + 0.5) + 1 for i in range(len(shown))], [str(s) for s in shown],
              fontsize=8)
ax.set_yticks([])
ax.set_xlabel("step")
ax.set_title("8 noise vectors through training")
ax = fig.add_subplot(grid[1, 0])
ax.plot(history[:, 0], history[:, 1], lw=0.8, label="D loss")
ax.plot(history[:, 0], history[:, 2], lw=0.8, label="G loss")
ax.set_xlabel("step")
ax.set_title("losses: a game, not a descent")
ax.legend()
ax = fig.add_subplot(grid[1, 1])
ax.plot(history[:, 0], history[:, 3], lw=0.8, label="D(real digit)")
ax.plot(history[:, 0], history[:, 4], lw=0.8, label="D(G's fake)")
ax.set_ylim(0, 1)
ax.set_xlabel("step")
ax.set_title("D's verdict: probability 'real'")
ax.legend()
ax = fig.add_subplot(grid[1, 2:])
ax.bar(range(10), histogram, color="tab:green")
ax.axhline(0.1, color="k", ls=":", label="all ten equally often")
ax.set_xticks(range(10))
ax.set_xlabel("digit (as the classifier reads it)")
ax.set_title(f"1,000 samples: {found} digits found,\nscore {score:.1f} (real digits "
             f"{scores['real test digits'][2]:.1f}, noise {scores['uniform noise'][2]:.1f})")
ax.legend()
fig.tight_layout()
figure = OUT / "a_gan_in_a_minute.png"
fig.savefig(figure, dpi=80)
print(f"figure: {figure}")

# %% [markdown]
# ## What just happened
# G started as random weights drawing grey static (the first row of the strip). Every step, D was
# shown real digits and G's fakes and nudged towards telling them apart; then G was nudged, by
# backpropagating D's verdict through D into G's weights, towards fakes that D would call real.
# The losses did not fall steadily as in ordinary training: each player's progress is the other's
# setback, and the curves wander around a balance. What improves is the samples. The moving
# average of G's weights then smooths the last few hundred steps of that wandering into one
# steadier generator. Lessons 01-08 build all of it up from a single gradient.

# %% Try this
# 1. Run `python lessons/00_a_gan_in_a_minute.py --minutes 5` and compare samples.png with this
#    one-minute grid: sharper strokes? all ten digits? the judge's score?
# 2. Set `ema=None` in the GANTrainer cell: the grid is then G itself. Predict the judge's
#    verdict before running.
# 3. Change both learning rates to 2e-3 and predict what the judge says. (Measured: five digits
#    found, the assertion fails. Look at the grid and the loss curves: lesson 09 names what
#    went wrong.)
