"""Lesson 14: conditional generation - asking G for the digit you want.

An unconditional GAN draws *some* digit; which one is decided by z, and nobody can ask for a 7.
A conditional GAN (Mirza & Osindero 2014) hands both players the class y:

  * G(z, y): noise plus "draw a 7". Here (the "cgan" model, as PyTorch-GAN's cgan) the label
    becomes a one-hot row, is multiplied by a learned table E (an embedding: row y of E, 10
    numbers, N(0, 1) at first) and is concatenated to z: G's first layer sees [z, E[y]].
  * D(x, y): "is x a real image *of a y*?" The same kind of embedding is concatenated to the
    flattened image: D's first layer sees [784 pixels, E'[y]].

D is now shown real (image, label) pairs, and fakes (G(z, y), y) made with the labels of the
same real batch. A fake that looks like a fine 3 but was asked to be a 7 is an (image, label)
pair that never occurs in the data, so D can reject it, and G's gradient says: draw what the
label says. Why the real batch's labels and not random ones: then real and fake batches hold the
same classes in the same proportions, and the label alone tells D nothing about real or fake
(the lesson computes how much it would tell otherwise).

Concatenation is the simplest way in. Convolutional conditional GANs use a *projection
discriminator* instead (Miyato & Koyama 2018): D(x, y) = w·φ(x) + <E[y], φ(x)>, with φ(x) the
last features. The class costs one inner product at the end; scratchgan's image-dcgan uses it
for image folders with classes, and the lesson checks the formula on it.

How do we know G obeys? The project's MNIST classifier (lesson 13) reads each sample, and the
*label agreement* is how often it reads the digit that was asked for: 10 % by chance, and the
lesson asserts far more. The one-minute default trains a half-width cgan with a larger learning
rate and a moving average of G (lesson 00) for 4,000 steps: close to 90 % agreement (measured:
89 %, its weakest digits 8 and 9 near 70-75 %), every row recognisably its digit, some strokes
still broken. ``--full`` trains the library's own cgan for 12,000 steps, as the README's
five-minute run (92 %).

Builds on: lessons 08 (the GAN loop), 10 (GANTrainer, scratchgan.run), 13 (the classifier that
judges samples); lesson 16 morphs one class into another with the same G.

Run:  python lessons/14_conditional_generation.py [--steps 4000] [--full] [--out DIR] [--quick]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import metrics, models
from scratchgan.data import BatchIterator, load_emoji_faces, mnist_dataset
from scratchgan.models import one_hot
from scratchgan.trainer import GANTrainer
from scratchgan.viz import image_grid, save_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 14: conditional generation")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/14", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
parser.add_argument("--steps", type=int, default=None,
                    help="training steps (default 4000, about a minute; 12000 with --full)")
parser.add_argument("--full", action="store_true",
                    help="the library's full-width cgan at its own settings (about 5 minutes)")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
STEPS = 40 if QUICK else (args.steps or (12000 if args.full else 4000))
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
# Dense layers on small batches: one CPU thread does about as well as several (lesson 00).
sg.set_num_threads(1)

if args.full:  # models.build("cgan")'s defaults, and MODEL_DEFAULTS["cgan"]'s Adam
    WIDTHS, LR = dict(g_hidden=(256, 512, 1024), d_hidden=(512, 256)), 2e-4
else:  # half the width: half the cost per step, and a larger step size for a short run
    WIDTHS, LR = dict(g_hidden=(128, 256, 512), d_hidden=(256, 128)), 1e-3
LATENT = 100

# %% [markdown]
# ## How the label enters G and D
# The cgan model is the MLP pair of lesson 08 with a wider input. We take one sample apart and
# rebuild G's and D's answers from the pieces: the one-hot row, the embedding E (a matrix
# product: one-hot · E is row y of E), the concatenation, and the unconditional body.

# %%
sg.seed(args.seed)
G, D = models.build("cgan", latent_dim=LATENT, **WIDTHS)
print(f"G: {sum(p.numel() for p in G.parameters()):,} weights, D: "
      f"{sum(p.numel() for p in D.parameters()):,}")
z = sg.tensor(np.random.default_rng(1).standard_normal((3, LATENT)).astype(np.float32))
labels = np.array([7, 7, 3])
y = one_hot(labels, 10, z)                       # (3, 10): a 1 in column 7, 7 and 3
print("one-hot labels:\n", y.numpy().astype(int))
with sg.no_grad():
    g_input = F.concat([z, G.embed(y)], axis=1)  # (3, 110): z, then row y of E
    rebuilt = G.body(g_input)
    drawn = G(z, labels)
    d_input = F.concat([drawn.reshape(3, -1), D.embed(one_hot(labels, 10, drawn))], axis=1)
    d_rebuilt, judged = D.body(d_input), D(drawn, labels)
    judged_as_other = D(drawn, np.array([1, 1, 1]))
print(f"G's first layer sees {tuple(g_input.shape)}: z ({LATENT}) + the label's embedding (10)")
print(f"D's first layer sees {tuple(d_input.shape)}: 784 pixels + the label's embedding (10)")
assert np.allclose(G.embed(y).numpy(), G.embed.weight.numpy()[labels])  # one-hot · E = E[y]
assert np.allclose(rebuilt.numpy(), drawn.numpy(), atol=1e-6)
assert np.allclose(d_rebuilt.numpy(), judged.numpy(), atol=1e-5)
# The label matters to both: the same z with another label is another image, and D's verdict on
# the same image changes with the label it is told.
assert not np.allclose(drawn.numpy()[0], G(z[2:3], [3]).numpy()[0])
assert not np.allclose(judged.numpy(), judged_as_other.numpy())
print("G(z, y) = body([z, E[y]]) and D(x, y) = body([x, E'[y]]): checked")

# %% [markdown]
# ## Why the fakes get the real batch's labels
# Suppose the fakes were drawn for uniformly random classes while the real batch follows the
# data's class frequencies p(y). Then the label alone is a clue: a D that looks only at y and
# answers p(y) / (p(y) + u(y)) gets the BCE loss 2·log 2 − 2·JS(p ‖ u), below the 2·log 2 of a
# D that knows nothing, and G can do nothing about it (it does not choose the labels). With the
# real batch's labels the fakes' classes follow p too, JS(p ‖ p) = 0, and only the images can
# give a fake away. MNIST's classes
# are nearly balanced, so the clue would be small there; the emoji faces of lesson 15 are 997
# people, 118 smileys and 32 animals.

# %%


def label_only_clue(p_real, p_fake):
    """JS(p_real ‖ p_fake) in nats: how far below 2·log 2 the best label-only D's loss falls."""
    m = (p_real + p_fake) / 2
    return (0.5 * np.sum(p_real * np.log(p_real / m))
            + 0.5 * np.sum(p_fake * np.log(p_fake / m)))


images, digit_labels = mnist_dataset(limit=2000 if QUICK else None)
faces = load_emoji_faces()  # only its labels are used here (64 px, as stored: no resizing)
clue, same = {}, {}
for name, lab in (("MNIST", digit_labels), ("emoji faces", faces.labels)):
    p = np.bincount(lab) / len(lab)
    clue[name] = label_only_clue(p, np.full_like(p, 1 / len(p)))  # fakes: uniform classes
    same[name] = label_only_clue(p, p)                              # fakes: the real labels
    print(f"{name:12s}: with uniformly random fake labels a label-only D reaches the loss "
          f"{2 * np.log(2) - 2 * clue[name]:.4f} < {2 * np.log(2):.4f} (JS {clue[name]:.4f}); "
          f"with the real batch's labels JS = {same[name]:.4f}")
assert all(js == 0 for js in same.values())
assert clue["emoji faces"] > 20 * clue["MNIST"] > 0

# %% [markdown]
# ## The projection discriminator, in code
# For convolutional D's the class enters at the end instead: φ(x) are the last feature maps
# summed over space, and D(x, y) = w·φ(x) + <E[y], φ(x)>. Concatenating y as extra input maps
# would drag 10 constant channels through every convolution; the projection costs one inner
# product, and the difference between the scores of two classes is exactly <E[a] − E[b], φ(x)>.
# scratchgan's image-dcgan with ``n_classes`` is built that way; a tiny one, untrained:

# %%
pG, pD = models.build("image-dcgan", latent_dim=8, size=16, channels=3, width=4, n_classes=3)
with sg.no_grad():
    x = pG(sg.tensor(np.random.default_rng(2).standard_normal((4, 8)).astype(np.float32)),
           [0, 1, 2, 0])
    phi = pD.features(x).sum(axis=(2, 3)).numpy()         # φ(x): (4, features)
    E = pD.embed.weight.numpy()                           # (features, classes)
    gap = (pD(x, [0] * 4) - pD(x, [2] * 4)).numpy()[:, 0]
assert np.allclose(gap, phi @ (E[:, 0] - E[:, 2]), rtol=1e-4, atol=1e-5)
print(f"projection D: score(class 0) - score(class 2) = <E0 - E2, φ(x)>: {np.round(gap, 4)}")

# %% [markdown]
# ## Train the cgan
# GANTrainer.train_step takes the batch's labels: it draws G's fakes with them and shows D both
# batches with them (``labels=``). Every few hundred steps we ask the moving average of G for 50
# samples of each digit and let the classifier read them.

# %%
sg.seed(args.seed)  # the same start whether or not the cells above ran
G, D = models.build("cgan", latent_dim=LATENT, **WIDTHS)
trainer = GANTrainer(G, D, latent_dim=LATENT, lr_g=LR, lr_d=LR, betas=(0.5, 0.999), ema=0.999)
batches = BatchIterator(images, batch_size=64, seed=args.seed, labels=digit_labels.astype(int))
rng = np.random.default_rng(args.seed + 1)
probe_z = rng.standard_normal((500, LATENT)).astype(np.float32)
probe_y = np.arange(500) % 10


def agreement(z, y, raw=False):
    """(fraction read as the digit asked for, per digit) for G(z, y)."""
    return metrics.label_agreement(metrics.predict_proba(trainer.generate(z, labels=y, raw=raw)),
                                   y)


every = 20 if QUICK else 250
curve, step = [(0, agreement(probe_z, probe_y)[0])], 0
while step < STEPS:
    for real, y in batches:
        stats = trainer.train_step(real, labels=y)
        step += 1
        if step % every == 0 or step == STEPS:
            curve.append((step, agreement(probe_z, probe_y)[0]))
            print(f"step {step:5d}  D loss {stats['d_loss']:.3f}  G loss {stats['g_loss']:.3f}  "
                  f"label agreement {curve[-1][1]:.0%}", flush=True)
        if step == STEPS:
            break
assert np.isfinite(list(stats.values())).all()

# %% [markdown]
# ## Does G draw the digit asked for?
# 1,000 fresh samples, 100 per digit. Chance is measured, not assumed: the same samples scored
# against a shuffled list of requests. The raw G (no moving average) is scored too.

# %%
test_z = np.random.default_rng(args.seed + 2).standard_normal((1000, LATENT)).astype(np.float32)
test_y = np.arange(1000) % 10
probs = metrics.predict_proba(trainer.generate(test_z, labels=test_y))
agree, per_digit = metrics.label_agreement(probs, test_y)
shuffled, _ = metrics.label_agreement(probs, np.random.default_rng(3).permutation(test_y))
agree_raw, _ = agreement(test_z, test_y, raw=True)
print(f"label agreement after {step} steps: {agree:.1%} (moving average of G), "
      f"{agree_raw:.1%} (G itself); shuffled requests: {shuffled:.1%}")
print("per digit: " + "  ".join(f"{d}: {a:.0%}" for d, a in enumerate(per_digit)))
assert 0.03 < shuffled < 0.2, shuffled  # chance is about 10 %
if QUICK:
    # 40 steps cannot teach G the labels: quick mode only checks that everything ran.
    assert 0 <= agree <= 1
else:
    assert agree > 0.6 and agree > 4 * shuffled, (
        f"only {agree:.0%} of samples are the digit asked for: train longer (--steps)")
    print(f"G draws the requested digit {agree:.0%} of the time, {agree / shuffled:.0f}x chance")

# %% [markdown]
# ## The picture
# One row per digit, the same 8 latents in every row: down a column only the label changes, so
# whatever stays the same down a column (slant, thickness, size) is what z holds, and the label
# holds the digit's identity. Right: the agreement during training, and per digit at the end.

# %%
grid_z = np.repeat(np.random.default_rng(args.seed + 4).standard_normal((1, 8, LATENT)), 10,
                   axis=0).reshape(80, LATENT).astype(np.float32)
grid_y = np.repeat(np.arange(10), 8)
samples = trainer.generate(grid_z, labels=grid_y)
print(f"grid: {save_grid(samples, OUT / 'digits_by_row.png', nrow=8, scale=3)}")

fig = plt.figure(figsize=(14, 6))
spec = fig.add_gridspec(2, 2, width_ratios=[1, 1.2])
ax = fig.add_subplot(spec[:, 0])
ax.imshow(image_grid(samples, nrow=8), cmap="gray", vmin=0, vmax=255)
ax.set_yticks([(28 + 2) * (d + 0.5) + 1 for d in range(10)], [str(d) for d in range(10)])
ax.set_xticks([])
ax.set_ylabel("digit asked for")
ax.set_title(f"G(z, y) after {step} steps: a row per y, a column per z")
ax = fig.add_subplot(spec[0, 1])
curve = np.array(curve)
ax.plot(curve[:, 0], curve[:, 1], marker="o")
ax.axhline(0.1, color="gray", linestyle=":", label="chance (10 %)")
ax.set_ylim(0, 1)
ax.set_xlabel("step")
ax.set_ylabel("label agreement")
ax.legend()
ax.set_title("how often the classifier reads the digit asked for")
ax = fig.add_subplot(spec[1, 1])
ax.bar(range(10), per_digit)
ax.axhline(0.1, color="gray", linestyle=":")
ax.set_xticks(range(10))
ax.set_ylim(0, 1)
ax.set_xlabel("digit asked for")
ax.set_title(f"per digit, 100 samples each (overall {agree:.0%})")
fig.tight_layout()
fig.savefig(OUT / "conditional_gan.png", dpi=90)
plt.close(fig)
print(f"figure: {OUT / 'conditional_gan.png'}")

# %% Try this
# 1. Break the conditioning: in the training loop pass ``labels=np.random.permutation(y)`` (the
#    right number of each class, paired with the wrong images). Predict the label agreement,
#    then measure it: D can no longer link images to labels, so G has no reason to obey.
# 2. Which digits lag behind? Compare ``per_digit`` after 1000, 2500 and 5000 steps
#    (``--steps``); look at the confused rows of the grid and guess what the classifier reads
#    them as (``probs.argmax(1)`` for the rows of one digit).
# 3. Freeze the label and walk z: ``trainer.generate(np.linspace(z0, z1, 8, dtype=np.float32),
#    labels=np.full(8, 5))`` for two rows z0, z1 of ``grid_z``. Predict: the digit stays a 5
#    while its slant and thickness change. Lesson 16 walks latent spaces properly.
