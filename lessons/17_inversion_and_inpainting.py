"""Lesson 17: inverting G, and repairing a damaged image with it.

G maps z to an image. Inversion goes back: given an image x, find a z with G(z) ≈ x. There is no
formula for it, but there is a gradient. Freeze G, make z the only parameter, and run Adam on

    loss(z) = mean over pixels of (G(z) − x)²  +  λ · ‖z‖² / d

The autograd engine differentiates G(z) with respect to its input exactly as with respect to
its weights (lesson 01): backpropagation does not care which leaf is being learned. The second
term is the Gaussian prior's −log density up to a scale: it penalises long z's, so z cannot run
off far outside the shell where G was trained (lesson 16) to match a few pixels better. With a
small λ it is a tie-breaker; it also pulls z* a little inside the shell (the lesson prints
‖z*‖). The loss is not convex: several random starts are optimised side by side and the best is
kept.

What inversion tells you:
  * on G's own images (x = G(z_true)) an exact answer exists, and the error falls to nearly 0;
  * on real test digits the error stays larger: what remains is what G cannot draw (a style, a
    stroke, a digit it never learned), a direct picture of G's limits.

Inpainting (Yeh et al. 2017): hide part of a real image, invert G on the *known* pixels only,
and take the hidden pixels from G(z*). A fair test needs rivals that know no GAN: the mean
training image pasted into the hole, and the nearest of the 60,000 training images (compared on
the known pixels), pasted in the same way. The lesson scores all three on the hidden pixels
(squared error, pixels in [0, 1]) and by whether the classifier still reads the true digit,
and reports which wins on each measure: a squared error rewards a grey average, while the
classifier asks for a digit. Measured with the default G when the lesson was written (64 test
digits): the nearest training image came first on both (hidden error 0.148, 80 % read
correctly), inpainting second (0.161, 72 %) and the mean image last (0.168, 38 %), much as in
the README's table for a five-minute run. Copying from 60,000 real digits is a strong rival.

The loop is written out first; then the library's ``scratchgan.edit.invert`` and
``edit.inpaint`` do the same with restarts, a mask, and a seamless blend at the hole's edge.
The G: by default the half-width MLP GAN of lessons 14 and 16, trained here (3,000 steps, about
40 s) with a moving average; ``--checkpoint runs/mlp/checkpoint.npz`` uses your own run.

Builds on: lessons 01 (autograd), 08 (Adam, freezing a network), 13 (the classifier),
16 (the latent shell).

Run:  python lessons/17_inversion_and_inpainting.py [--steps 3000] [--checkpoint PATH]
                                                    [--out DIR] [--quick]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import edit, metrics
from scratchgan.data import mnist_dataset
from scratchgan.models import is_conditional
from scratchgan.optim import Adam
from scratchgan.run import TrainConfig, load_generator, train
from scratchgan.trainer import generate_images
from scratchgan.viz import image_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 17: inversion and inpainting")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/17", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
parser.add_argument("--checkpoint", default=None,
                    help="a checkpoint.npz of your own MNIST mlp or dcgan run instead of "
                         "training one here")
parser.add_argument("--steps", type=int, default=3000,
                    help="training steps when no --checkpoint is given (3000: about 40 s)")
parser.add_argument("--n", type=int, default=64, help="test digits to repair")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
sg.set_num_threads(1)  # dense layers, small batches: one thread does as well (lesson 00)
rng = np.random.default_rng(args.seed)
INVERT_STEPS, RESTARTS = (40, 2) if QUICK else (300, 4)
N_REPAIR = 8 if QUICK else args.n

# %% [markdown]
# ## A trained G
# As in lesson 16: a short run with ``scratchgan.run.train``, reloaded from its checkpoint (the
# moving average of G's weights) the way a student's own run would be.

# %%
if args.checkpoint is None:
    config = TrainConfig(model="mlp", model_options=dict(g_hidden=(128, 256, 512),
                                                         d_hidden=(256, 128)),
                         lr_g=1e-3, lr_d=1e-3, ema=0.999, max_steps=30 if QUICK else args.steps,
                         limit=2000 if QUICK else None, seed=args.seed, out=str(OUT / "run"),
                         overwrite=True, progress=False, log_every=50)
    checkpoint = train(config).checkpoint
else:
    checkpoint = args.checkpoint
G, saved = load_generator(checkpoint)
if is_conditional(G) or saved.get("dataset", "mnist") != "mnist":
    sys.exit(f"{checkpoint}: this lesson inverts an unconditional MNIST generator (mlp or "
             "dcgan); for others see `scratchgan inpaint --help`")
d = G.latent_dim
print(f"G: {saved['model']} from {checkpoint}, latent dimension {d}")

# %% [markdown]
# ## The inversion loop, written out
# Targets that G can certainly draw: its own images of 8 known latents. z starts as a fresh
# Gaussian draw and is the only tensor that requires a gradient; G is in eval mode with its
# weights frozen (``requires_grad_(False)``), so backward computes gradients for z alone.

# %%
z_true = rng.standard_normal((8, d)).astype(np.float32)
targets = generate_images(G, z_true)
PRIOR = 1e-3  # λ: small, a tie-breaker (the first exercise in "Try this" changes it)

G.eval().requires_grad_(False)
weights_before = [p.numpy().copy() for p in G.parameters()]
target = sg.tensor(targets)
z = sg.tensor(rng.standard_normal((8, d)).astype(np.float32), requires_grad=True)
optimizer = Adam([z], lr=0.05)
curve = []
for _ in range(INVERT_STEPS):
    pixels = ((G(z) - target) ** 2).reshape(8, -1).mean(axis=1)   # per image
    loss = (pixels + PRIOR * (z * z).mean(axis=1)).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    curve.append(pixels.numpy())
G.requires_grad_(True)
curve = np.array(curve)
hand_error = ((generate_images(G, z.numpy()) - targets) ** 2).reshape(8, -1).mean(1)
random_error = ((generate_images(G, rng.standard_normal((8, d)).astype(np.float32)) - targets)
                ** 2).reshape(8, -1).mean(1)
print(f"by hand, {INVERT_STEPS} Adam steps on z: pixel error {curve[0].mean():.4f} -> "
      f"{hand_error.mean():.5f} (a random z: {random_error.mean():.4f})")
assert all(np.array_equal(p.numpy(), w) for p, w in zip(G.parameters(), weights_before))
assert all(p.grad is None for p in G.parameters()), "G's weights must get no gradient"
assert hand_error.mean() < curve[0].mean() / (2 if QUICK else 20)
print("G's weights did not move and got no gradient: only z was learned")

# %% [markdown]
# ## The same with the library: restarts, and the best kept
# ``edit.invert`` runs the loop above for ``restarts`` starting points per image at once (one
# batch) and keeps the start whose pixel error ends lowest; one unlucky start (a local minimum
# of this non-convex loss) no longer decides.

# %%
found_own = edit.invert(G, targets, steps=INVERT_STEPS, restarts=RESTARTS, prior=PRIOR,
                        seed=args.seed)
print(f"edit.invert on G's own images: error {found_own.error.mean():.5f} "
      f"(worst {found_own.error.max():.5f}); ‖z*‖ {np.linalg.norm(found_own.z, axis=1).mean():.1f}"
      f" against ‖z_true‖ {np.linalg.norm(z_true, axis=1).mean():.1f}")
if not QUICK:
    assert found_own.error.max() < random_error.mean() / 50, (found_own.error, random_error)
    below = random_error.mean() / found_own.error.mean()
    print(f"G's own images are found again: error {below:.0f}x below a random z's")

# %% [markdown]
# ## Real digits: what G cannot draw
# The same inversion on test digits G has never seen. The error that stays is the part of each
# digit outside G's range. The classifier says whether G(z*) is at least the same digit.

# %%
test_x, test_y = mnist_dataset(split="test", limit=max(N_REPAIR, 16))
real = test_x[:16]
found_real = edit.invert(G, real, steps=INVERT_STEPS, restarts=RESTARTS, prior=PRIOR,
                         seed=args.seed)
same_digit = (metrics.predict_proba(found_real.images).argmax(1) == test_y[:16]).mean()
ratio = found_real.error.mean() / found_own.error.mean()
print(f"real test digits: error {found_real.error.mean():.4f}, {ratio:.0f}x G's own images'; "
      f"G(z*) is the same digit for {same_digit:.0%}")
if not QUICK:
    assert ratio > 5, ratio
    print("real digits invert worse than G's own images: the difference is what G cannot draw")

# %% [markdown]
# ## Inpainting: hide the centre, repair it
# The centre quarter (14×14 pixels) of each test digit is hidden: it holds most of the stroke.
# Three repairs of the hidden pixels, each scored there only:
#   * inpainting: invert on the known pixels, take the hole from G(z*) (edit.inpaint);
#   * the mean of 60,000 training images (edit.fill_mean);
#   * the training image nearest on the known pixels (edit.fill_nearest).

# %%
truth, labels = test_x[:N_REPAIR], test_y[:N_REPAIR]
hidden = edit.make_mask("center", (28, 28))
train_x, _ = mnist_dataset(limit=5000 if QUICK else None)
repairs = {
    "inpainting (G)": edit.inpaint(G, truth, hidden, steps=INVERT_STEPS, restarts=RESTARTS,
                                   prior=PRIOR, seed=args.seed).images,
    "mean training image": edit.fill_mean(truth, hidden, train_x.mean(0)),
    "nearest training image": edit.fill_nearest(truth, hidden, train_x),
}
scores = {}
for name, repaired in repairs.items():
    known_error, hidden_error = edit.pixel_errors(repaired, truth, hidden)
    reads = (metrics.predict_proba(repaired).argmax(1) == labels).mean()
    scores[name] = (hidden_error.mean(), reads)
    print(f"{name:24s}: hidden-pixel error {hidden_error.mean():.4f}, known-pixel error "
          f"{known_error.mean():.4f}, classifier reads the true digit {reads:.0%}")
damaged_reads = (metrics.predict_proba(np.where(hidden, 0.0, truth)).argmax(1) == labels).mean()
print(f"{'the damaged image':24s}: classifier reads the true digit {damaged_reads:.0%}")
by_error = min(scores, key=lambda k: scores[k][0])
by_reading = max(scores, key=lambda k: scores[k][1])
print(f"lowest hidden-pixel error: {by_error}; most often read as the true digit: {by_reading}")
inpainted_error, inpainted_reads = scores["inpainting (G)"]
if not QUICK:
    assert scores["inpainting (G)"][1] > scores["mean training image"][1], scores
    print(f"inpainting keeps more digits readable than pasting the mean image "
          f"({inpainted_reads:.0%} against {scores['mean training image'][1]:.0%})")

# %% [markdown]
# ## The pictures
# Inversion: targets and G(z*) for G's own images and for real digits, and the hand loop's error
# per Adam step. Inpainting: per row original | damaged (the hole in grey) | inpainting | mean
# image | nearest image.

# %%
fig = plt.figure(figsize=(15, 4.2))
spec = fig.add_gridspec(1, 3, width_ratios=[1, 1, 0.8])
for i, (x, found, title) in enumerate(((targets, found_own, "G's own images"),
                                       (real[:8], found_real, "real test digits"))):
    ax = fig.add_subplot(spec[i])
    ax.imshow(image_grid(np.concatenate([x[:8], found.images[:8]]), nrow=8), cmap="gray",
              vmin=0, vmax=255)
    ax.set_title(f"{title}: target (top), G(z*) (bottom)\nerror {found.error.mean():.4f}")
    ax.axis("off")
ax = fig.add_subplot(spec[2])
ax.semilogy(curve.mean(1), label="mean over the 8 targets")
ax.axhline(random_error.mean(), color="gray", linestyle=":", label="a random z")
ax.set_xlabel("Adam step on z")
ax.set_ylabel("pixel error (mean squared, [-1, 1] units)")
ax.set_title("the hand-written loop, G's own images")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "inversion.png", dpi=90)
plt.close(fig)
print(f"figure: {OUT / 'inversion.png'}")

shown = min(8, N_REPAIR)
damaged = np.where(hidden, 0.0, truth).astype(np.float32)  # 0 is mid-grey in [-1, 1]
columns = [truth, damaged] + list(repairs.values())
rows = np.stack([c[i] for i in range(shown) for c in columns])
fig, ax = plt.subplots(figsize=(6, 1 + 0.9 * shown))
ax.imshow(image_grid(rows, nrow=len(columns)), cmap="gray", vmin=0, vmax=255)
ax.set_xticks([(28 + 2) * (c + 0.5) + 1 for c in range(len(columns))],
              ["original", "damaged", "inpainting", "mean", "nearest"], fontsize=9)
ax.set_yticks([])
ax.set_title("centre hidden, then repaired")
fig.tight_layout()
fig.savefig(OUT / "inpainting.png", dpi=90)
plt.close(fig)
print(f"figure: {OUT / 'inpainting.png'}")

# %% Try this
# 1. Set PRIOR = 0 and then 0.1 and rerun the inversion of real digits: watch ‖z*‖ and the
#    error. Without the prior z may leave the shell (lesson 16) to match pixels; with a strong
#    one it cannot reach them. Which gives the better inpainting of the hidden pixels?
# 2. Hide another region: edit.make_mask("left", (28, 28)) or "bottom". Predict which of the
#    three repairs suffers most when a whole half is missing, then read the table.
# 3. Invert a digit G cannot draw at all: an image of your own (a letter "A" drawn with
#    numpy), and look at what G(z*) turns it into.
