"""Lesson 08: a GAN training loop, every line of it written out.

Two networks play lesson 07's game on MNIST digits. The discriminator D gets real digits and the
generator's fakes and learns to tell them apart; the generator G turns random noise z into images
and learns to make D call them real. One training step is two optimiser steps:

  D step:  minimise  BCE(D(x), 1) + BCE(D(G(z)), 0)        - on G(z).detach()
  G step:  minimise  BCE(D(G(z)), 1) = -log σ(D(G(z)))     - the "non-saturating" loss

Three details carry the whole method:
  * D outputs a logit and the loss is BCE-with-logits: log σ computed as one stable op, never
    log(0) when D is confident.
  * detach() in the D step: D's loss must not reach G's parameters. Without it, backward would
    run all the way through G (wasted work) and leave gradients in G that the G step would add to.
  * The G loss. The original minimax objective has G minimise log(1 - σ(l)) for D's logit l. Early
    on D rejects fakes easily (l very negative), where that curve is flat: G gets almost no
    gradient. Maximising log σ(l) instead has the same fixed point and a gradient near -1 there.

One more detail makes a one-minute run worth looking at: a moving average of G's weights,
w_avg ← β·w_avg + (1 - β)·w after every G step (``scratchgan.trainer.MovingAverage``; GANTrainer's
``ema=``). G itself keeps oscillating around the game's equilibrium; the average sits nearer its
middle and draws cleaner digits. It is only used for sampling: training never reads it.

The networks are small multi-layer perceptrons over flattened 28×28 images, built here from
scratchgan.nn layers (``scratchgan.models.build("mlp")`` packages a wider pair); the images are
scaled to [-1, 1] so that G can end in tanh. Default: 2000 steps at learning rate 1e-3 (under a
minute of CPU on two cores): recognisable, rough digits, checked with the project's MNIST
classifier. ``--full`` runs the classic, slower recipe: 10000 steps at 2e-4 (a few minutes).

Builds on: lessons 01 (autograd, detach) and 07 (the GAN game in 1-D).

Run:  python lessons/08_a_gan_by_hand.py [--steps 2000] [--full] [--out /tmp/scratchgan_lessons/08]
                                         [--quick]
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
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn, optim
from scratchgan.data import BatchIterator, mnist_dataset
from scratchgan.metrics import predict_proba
from scratchgan.trainer import MovingAverage
from scratchgan.viz import image_grid, save_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 08: a GAN training loop written out")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/08", help="folder for the pictures")
parser.add_argument("--quick", action="store_true", help="a handful of steps (for tests)")
parser.add_argument("--steps", type=int, default=None,
                    help="training steps (default 2000; 10000 with --full)")
parser.add_argument("--full", action="store_true",
                    help="the slow recipe: 10000 steps at learning rate 2e-4 (a few minutes)")
parser.add_argument("--images", type=int, default=20000, help="MNIST training images to use")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
LR = 2e-4 if args.full else 1e-3
STEPS = 20 if QUICK else args.steps or (10000 if args.full else 2000)
N_IMAGES = 512 if QUICK else args.images
LOG_EVERY = 5 if QUICK else 250
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Why the non-saturating loss
# D's logit l on a fake, from "surely fake" (-6) to "surely real" (3). The minimax G minimises
# log(1 - σ(l)); the non-saturating G minimises -log σ(l). Both push l up, but look at the
# gradients where a young G lives (l very negative).

# %%
logits = sg.tensor([-6.0, -3.0, 0.0, 3.0], requires_grad=True)
(minimax,) = sg.grad(F.log(1 - F.sigmoid(logits)).sum(), logits)  # = -σ(l)
(non_saturating,) = sg.grad(-F.log_sigmoid(logits).sum(), logits)  # = σ(l) - 1
print(f"D's logit on a fake:             {logits.numpy()}")
print(f"grad of log(1 - σ(l)) (minimax): {np.round(minimax.numpy(), 3)}  "
      "<- vanishes where G is bad")
print(f"grad of -log σ(l) (non-sat.):    {np.round(non_saturating.numpy(), 3)}\n")
assert abs(minimax.numpy()[0]) < 0.01 and abs(non_saturating.numpy()[0]) > 0.99
np.testing.assert_allclose(minimax.numpy(), -1 / (1 + np.exp(-logits.numpy())), rtol=1e-5)

# %% [markdown]
# ## The two players
# No sigmoid at the end of D: it returns a logit, the loss applies σ inside its stable formula.

# %%
NOISE, BATCH = 64, 64
sg.seed(args.seed)
G = nn.Sequential(nn.Linear(NOISE, 256), nn.LeakyReLU(0.2),
                  nn.Linear(256, 512), nn.LeakyReLU(0.2),
                  nn.Linear(512, 784), nn.Tanh())
D = nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2),
                  nn.Linear(512, 256), nn.LeakyReLU(0.2),
                  nn.Linear(256, 1))
# Adam with beta1 = 0.5 (DCGAN's choice): less momentum suits a target that keeps moving.
opt_G = optim.Adam(G.parameters(), lr=LR, betas=(0.5, 0.999))
opt_D = optim.Adam(D.parameters(), lr=LR, betas=(0.5, 0.999))
# The average of G's weights: decay 0.999 remembers the last ~1000 steps.
average = MovingAverage(G, decay=0.999)

images, _ = mnist_dataset(limit=N_IMAGES)                 # (N, 1, 28, 28) in [-1, 1]
batches = BatchIterator(images, BATCH, seed=args.seed)   # shuffled, on the active backend
real_label = sg.tensor(B.xp.ones((BATCH, 1), dtype=B.DTYPE))
fake_label = sg.tensor(B.xp.zeros((BATCH, 1), dtype=B.DTYPE))
fixed_noise = sg.tensor(B.normal((1000, NOISE)))          # the same z for every picture
with sg.no_grad():
    untrained = G(fixed_noise).numpy().reshape(-1, 1, 28, 28)
print(f"G: {sum(p.numel() for p in G.parameters()):,} parameters, "
      f"D: {sum(p.numel() for p in D.parameters()):,}; {len(images)} images, {STEPS} steps at "
      f"learning rate {LR:g}")

# %% [markdown]
# ## The loop
# Everything GANTrainer.train_step (lesson 10) packages, written out.

# %%
history, step, start, epoch = [], 0, time.perf_counter(), iter(())
while step < STEPS:
    batch = next(epoch, None)
    if batch is None:                                    # a new shuffled pass over the data
        epoch = iter(batches)
        continue
    real = sg.tensor(batch.reshape(BATCH, 784))          # the MLP sees flat vectors
    fake = G(sg.tensor(B.normal((BATCH, NOISE))))

    # D step: push D(real) up and D(fake) down. detach(): this loss stops at the fake images.
    d_real, d_fake = D(real), D(fake.detach())
    loss_D = (F.binary_cross_entropy_with_logits(d_real, real_label)
              + F.binary_cross_entropy_with_logits(d_fake, fake_label))
    opt_D.zero_grad()
    loss_D.backward()
    opt_D.step()
    if step == 0:  # what detach() bought: D's backward left nothing in G
        assert all(p.grad is None for p in G.parameters())

    # G step: through the *updated* D, all the way back into G. D's parameters get gradients
    # too; they are never applied, and opt_D.zero_grad() clears them before the next D step.
    loss_G = F.binary_cross_entropy_with_logits(D(fake), real_label)
    opt_G.zero_grad()
    loss_G.backward()
    opt_G.step()
    average.update(G)                                    # after every G step

    step += 1
    history.append((loss_D.item(), loss_G.item(), F.sigmoid(d_real).mean().item(),
                    F.sigmoid(d_fake).mean().item()))
    if step % LOG_EVERY == 0 or step == STEPS:
        print(f"step {step:5d}  loss_D {history[-1][0]:.3f}  loss_G {history[-1][1]:.3f}  "
              f"D(real) {history[-1][2]:.2f}  D(fake) {history[-1][3]:.2f}  "
              f"({time.perf_counter() - start:.0f} s)")
history = np.array(history)
assert np.isfinite(history).all(), "training diverged"

# %% [markdown]
# ## Look at the samples
# The same 64 noise vectors through the untrained G, the trained G and the moving average.

# %%
with sg.no_grad():
    trained = G(fixed_noise).numpy().reshape(-1, 1, 28, 28)
    averaged = average.module(fixed_noise).numpy().reshape(-1, 1, 28, 28)
save_grid(images[:64], OUT / "real.png", scale=2)
save_grid(untrained[:64], OUT / "step_00000.png", scale=2)
save_grid(trained[:64], OUT / f"step_{STEPS:05d}.png", scale=2)
save_grid(averaged[:64], OUT / f"step_{STEPS:05d}_average.png", scale=2)

fig, axes = plt.subplots(1, 4, figsize=(17, 4.6), gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
for ax, (title, pictures) in zip(axes, [("untrained G", untrained), (f"G after {STEPS} steps",
                                                                     trained),
                                        ("moving average of G", averaged)]):
    ax.imshow(image_grid(pictures[:64]), cmap="gray")
    ax.set_title(title)
    ax.axis("off")
ax = axes[3]
width = min(25, len(history))  # a running mean: single steps are noisy
for column, label in [(0, "D loss"), (1, "G loss"), (2, "D(x)"), (3, "D(G(z))")]:
    ax.plot(np.arange(width, len(history) + 1),
            np.convolve(history[:, column], np.ones(width) / width, mode="valid"), label=label)
ax.set_xlabel("step")
ax.legend()
ax.set_title(f"losses and D's beliefs (means of {width} steps)")
figure_png = OUT / "samples_and_losses.png"
fig.savefig(figure_png, dpi=80, bbox_inches="tight")
print(f"\npictures in {OUT}: {figure_png.name}, real.png, step_00000.png (untrained), "
      f"step_{STEPS:05d}.png (G) and step_{STEPS:05d}_average.png (its moving average)")

# %% [markdown]
# ## Are they digits? Ask a classifier
# scratchgan.metrics ships an MNIST classifier trained by scratchgan (lesson 13 uses it for
# every score). A digit it reads with confidence > 0.9 is one a person reads too; real test
# digits set the bar. The histogram of its answers says whether all ten digits are drawn.

# %%
test_images, _ = mnist_dataset(split="test", limit=1000)


def read_by_classifier(pictures):
    """(mean top probability, fraction read with confidence > 0.9, classes with >= 3% share)"""
    probs = predict_proba(pictures)
    shares = np.bincount(probs.argmax(axis=1), minlength=10) / len(probs)
    return probs.max(axis=1).mean(), (probs.max(axis=1) > 0.9).mean(), int((shares >= 0.03).sum())


results = {name: read_by_classifier(pictures) for name, pictures in
           [("real test digits", test_images), ("untrained G", untrained),
            ("trained G", trained), ("moving average", averaged)]}
for name, (confidence, sure, classes) in results.items():
    print(f"{name:17s} mean confidence {confidence:.2f}, read with > 0.9: {sure:4.0%}, "
          f"digits drawn (>= 3% each): {classes}")
if not QUICK:  # 20 steps draw blobs: the claims below need the whole run
    confidence, sure, classes = results["moving average"]
    assert confidence > 0.75 and sure > 0.4, results["moving average"]
    assert classes >= 9, "some digits are missing"
    assert sure > 2 * results["untrained G"][1]
    # the average draws at least as cleanly as G itself
    assert sure >= results["trained G"][1] - 0.05, results

# %% Try this
# 1. Run with --full (10000 steps at learning rate 2e-4): a few minutes. Compare the averaged
#    grid and the classifier's numbers with the default run's: what did the extra steps buy?
# 2. Remove `.detach()` from the D step. Predict what the G step's backward says, run it, and
#    read the error. (Lesson 09 breaks this and four other things on purpose.)
# 3. Set the moving average's decay to 0.99 and then 0.9999. Which one draws the cleanest digits
#    after 2000 steps, and why is 0.9999 worse here (how many steps does it remember)?
