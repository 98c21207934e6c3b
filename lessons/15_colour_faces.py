"""Lesson 15: colour faces at 32 pixels - the DCGAN on the shipped emoji faces.

Everything so far drew grey 28×28 digits. The same game draws colour pictures: G ends in three
channels (red, green, blue), each in [-1, 1] through tanh, and D reads three channels. The data
ship with scratchgan: 1,147 emoji faces from Google's Noto Color Emoji (Apache License 2.0),
64×64 on white, loaded at any power-of-two size by ``scratchgan.data.load_emoji_faces``: 997
people (each emoji in up to six skin tones), 118 smileys and 32 animal faces.

The model is the DCGAN of Radford et al. as pytorch/examples builds it
(``models.build("image-dcgan", size=32, width=w)``): G turns z into 4×4 maps with a transposed
convolution, then doubles the size and halves the channels with stride-2 transposed
convolutions (4 → 8 → 16 → 32), batch norm and ReLU between; D mirrors it with strided
convolutions and LeakyReLU. ``width`` is the number of channels of the outermost layers (64 in
the paper); a convolution's weights and work grow with the square of the width, so width 16
costs several times less per step than width 64 (the lesson counts the weights), and is what
fits in a minute on two CPU cores.

Judging colour samples: the project's MNIST classifier knows digits only, and Inception's
weights cannot be downloaded here, so ``scratchgan.metrics.colour`` computes a Fréchet distance
(lesson 13) on the features of a fixed *random* convolutional network. It sees colour, edges,
texture and blur, not meaning; its numbers compare runs of this project at one image size and
sample count only. The lesson measures it for the untrained G, for the trained one, and for real
faces against other real faces (the floor), and asserts that training brought it down.

What a minute gives, honestly: 1,200 steps at width 16 (batches of 32) draw heads on white -
yellow round smileys and people's faces in several skin tones under their hair, some with two
dark eyes and a mouth - all speckled with stray colour, and none you would take for a real
emoji. The colour distance falls from about 4,700 (untrained) to about 50, against 3.5 for real
faces among themselves. The long run, ``python -m scratchgan.images --minutes 12`` (width 64,
about 2,000 steps on two cores), draws smileys and people of every skin tone, some still smeared
(the README's grid); ``--full`` trains that width here (about 12 minutes).

Builds on: lessons 04 (transposed convolutions), 05 (batch norm), 10 (the DCGAN and
GANTrainer), 13 (the Fréchet distance).

Run:  python lessons/15_colour_faces.py [--steps N] [--width 16] [--out DIR] [--quick]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import models
from scratchgan.data import BatchIterator, load_emoji_faces
from scratchgan.metrics import feature_statistics, frechet_distance_from_statistics
from scratchgan.metrics.colour import colour_features
from scratchgan.trainer import GANTrainer, thread_policy
from scratchgan.viz import image_grid, save_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 15: colour faces at 32 pixels")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/15", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
parser.add_argument("--steps", type=int, default=None,
                    help="training steps (default 1200, about a minute; 2000 with --full)")
parser.add_argument("--width", type=int, default=None,
                    help="channels of the outermost layers (default 16; 64 with --full)")
parser.add_argument("--full", action="store_true",
                    help="the paper's width 64 for 2000 steps (about 12 minutes on 2 cores)")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
WIDTH = args.width or (64 if args.full else 16)
STEPS = 20 if QUICK else (args.steps or (2000 if args.full else 1200))
# The short run: batches of 32 (nearly twice the updates per second of 64; the faces are few)
# and a larger step size.
# --full: the paper's batch 64 and Adam 2e-4 (what `python -m scratchgan.images` uses).
BATCH, LR = (64, 2e-4) if args.full else (32, 5e-4)
SIZE, LATENT = 32, 100
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The faces
# Stored at 64×64; ``load_emoji_faces(32)`` resizes them with Pillow's LANCZOS filter. The GAN
# wants float (N, 3, 32, 32) in [-1, 1]: ``to_tanh_range``. White backgrounds are +1 in every
# channel.

# %%
faces = load_emoji_faces(image_size=SIZE)
real = faces.to_tanh_range()
counts = np.bincount(faces.labels)
print(f"{len(real)} faces, {real.shape[1:]} each, values in [{real.min():.0f}, {real.max():.0f}]:"
      " " + ", ".join(f"{n} {name}" for name, n in zip(faces.class_names, counts)))
assert real.shape == (1147, 3, SIZE, SIZE) and real.dtype == np.float32

# %% [markdown]
# ## The networks, layer by layer
# Follow a batch of 4 latents through G. Then the two widths side by side: a convolution between
# two widened layers has width² times the weights (and work), the first and last layers width
# times.

# %%
sg.seed(args.seed)
G, D = models.build("image-dcgan", latent_dim=LATENT, size=SIZE, channels=3, width=WIDTH)
x = sg.tensor(np.random.default_rng(0).standard_normal((4, LATENT, 1, 1)).astype(np.float32))
with sg.no_grad():
    for layer in G.net:
        x = layer(x)
        if type(layer).__name__ in ("ConvTranspose2d", "Tanh"):
            print(f"  G {type(layer).__name__:16s} -> {tuple(x.shape)}")
    print(f"  D(G(z))                  -> {tuple(D(x).shape)}")


def weights(*nets):
    return sum(p.numel() for net in nets for p in net.parameters())


wide = weights(*models.build("image-dcgan", latent_dim=LATENT, size=SIZE, width=64))
print(f"width {WIDTH}: {weights(G, D):,} weights in G and D; width 64: {wide:,} "
      f"({wide / weights(G, D):.1f}x)")
if WIDTH == 16:
    # 4x the width: 16x the weights of a convolution between two widened layers, 4x for G's
    # first (z -> maps) and D's last (maps -> logit), which widen on one side only.
    assert 4 < wide / weights(G, D) < 16

# %% [markdown]
# ## A ruler for colour pictures
# The colour Fréchet distance of 500 samples against all 1,147 faces. The faces' feature
# statistics (mean and covariance of the random network's 230 features) are computed once and
# reused at every measurement. The floor: half of the faces against the other half; where we
# start from: the untrained G.

# %%


def statistics(images):
    return feature_statistics(colour_features(images))


def distance(images, reference):
    """scratchgan.metrics.colour.colour_frechet_distance, with the reference's statistics
    computed once."""
    return frechet_distance_from_statistics(*statistics(images), *reference)


rng = np.random.default_rng(args.seed)
order = rng.permutation(len(real))
all_faces = statistics(real)
floor = distance(real[order[:573]], statistics(real[order[573:]]))
n_eval = 100 if QUICK else 500
eval_z = rng.standard_normal((n_eval, LATENT)).astype(np.float32)
trainer = GANTrainer(G, D, latent_dim=LATENT, lr_g=LR, lr_d=LR, betas=(0.5, 0.999))
before = distance(trainer.generate(eval_z), all_faces)
print(f"colour Fréchet distance: real faces against real faces {floor:.1f}, the untrained G "
      f"{before:.1f}")
assert before > 10 * floor

# %% [markdown]
# ## Train
# GANTrainer's step on batches of faces, each flipped left to right with probability 1/2 (a
# face mirrored is still a face: twice the data for free; digits could not do that). The
# convolutions' work is cut across the CPU cores (``thread_policy``). Every few hundred steps:
# the distance again. No moving average of G here: over a run this short it lags behind G
# (it draws blurrier faces), and over long DCGAN runs it made no difference (the README).

# %%
sg.set_num_threads(sg.get_num_threads(), by=thread_policy(G, D))
batches = BatchIterator(real, batch_size=BATCH, seed=args.seed, flip=True)
every = 10 if QUICK else 200
curve, step = [(0, before)], 0
while step < STEPS:
    for batch in batches:
        stats = trainer.train_step(batch)
        step += 1
        if step % every == 0 or step == STEPS:
            curve.append((step, distance(trainer.generate(eval_z), all_faces)))
            print(f"step {step:5d}  D loss {stats['d_loss']:.3f}  G loss {stats['g_loss']:.3f}  "
                  f"D(x) {stats['d_real']:.2f}  D(G(z)) {stats['d_fake']:.2f}  "
                  f"colour FD {curve[-1][1]:.1f}", flush=True)
        if step == STEPS:
            break
assert np.isfinite(list(stats.values())).all()

# %% [markdown]
# ## Did it learn faces?
# The distance before and after, next to the floor. The number cannot say "face"; the grid
# below can.

# %%
after = curve[-1][1]
print(f"colour Fréchet distance after {step} steps: {after:.1f}; untrained {before:.1f}, "
      f"real faces {floor:.1f}")
if QUICK:
    assert after < before  # 20 steps already leave the untrained noise behind
else:
    assert after < before / 10, (before, after)
    assert after > floor  # not real faces yet
    print(f"training cut the distance {before / after:.0f}-fold; real faces are still "
          f"{after / floor:.0f}x closer to each other")

# %% [markdown]
# ## The picture
# Left: 64 real faces; middle: 64 samples of G; right: the distance during training (log
# scale).

# %%
samples = trainer.generate(rng.standard_normal((64, LATENT)).astype(np.float32))
print(f"samples: {save_grid(samples, OUT / 'samples.png', nrow=8, scale=3)}")
fig = plt.figure(figsize=(15, 5.5))
spec = fig.add_gridspec(1, 3, width_ratios=[1, 1, 0.9])
for i, (pictures, title) in enumerate(((real[order[:64]], "real emoji faces"),
                                       (samples, f"G's samples, width {WIDTH}, {step} steps"))):
    ax = fig.add_subplot(spec[i])
    ax.imshow(image_grid(pictures, nrow=8))
    ax.set_title(title)
    ax.axis("off")
ax = fig.add_subplot(spec[2])
curve = np.array(curve)
ax.semilogy(curve[:, 0], curve[:, 1], marker="o", label="G's samples")
ax.axhline(floor, color="gray", linestyle=":", label="real against real")
ax.set_xlabel("step")
ax.set_title("colour Fréchet distance (500 samples)")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "faces.png", dpi=90)
plt.close(fig)
print(f"figure: {OUT / 'faces.png'}")

# %% Try this
# 1. Double the width (``--width 32``) for the same number of steps: predict the time (the
#    square of the width) and whether the distance falls further; then run it.
# 2. Turn off the flips (``flip=False`` in BatchIterator) and compare the distance at the same
#    step: with 1,147 faces, does mirroring help?
# 3. The long run: ``python -m scratchgan.images --minutes 12`` (width 64, the README's grid),
#    then ``scratchgan evaluate --checkpoint runs/image-dcgan/checkpoint.npz``; compare its
#    distance with this lesson's (same size; only the sample counts differ).
