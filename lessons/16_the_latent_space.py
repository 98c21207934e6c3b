"""Lesson 16: the latent space - walking between samples, and arithmetic on z.

A trained G turns every z in R^d into an image, so the space of z is a map of everything G can
draw. Two questions: what lies *between* two samples, and do directions in z mean anything?

Where G was trained. Every z G saw came from N(0, I). In d = 100 dimensions such vectors are
not spread through the space: their length ‖z‖ is almost always close to √d = 10 (it follows the
χ distribution: mean ≈ √(d − 1/2), standard deviation ≈ 0.71). The Gaussian "ball" is a thin
shell, and G has practically never been shown a z from its inside.

Interpolation. The straight line z(t) = (1 − t)·z0 + t·z1 cuts through the shell: for two
independent z's, ‖z0 + z1‖² ≈ 2d, so the midpoint has ‖z‖ ≈ √(d/2) ≈ 7.1, a length that a
Gaussian z of 100 dimensions essentially never has. Slerp, spherical linear interpolation
(Shoemake 1985; for GANs White 2016), follows the great circle instead:

    z(t) = sin((1 − t)·Ω) / sin Ω · z0 + sin(t·Ω) / sin Ω · z1,   cos Ω = z0·z1 / (‖z0‖·‖z1‖)

and keeps to the shell all the way. The lesson measures both lengths, how rare the straight
line's midpoint is under G's prior, and what G draws there. That last answer depends on G: the
default G's straight-line midpoints read less clearly to the classifier than slerp's, while
those of the README's five-minute cgan read slightly *more* clearly (shorter z, more average
digits: BigGAN's "truncation trick"). Either way the line's midpoints are draws from N(0, I/2),
not from the prior G was trained on; the arc's are (nearly) draws from the prior itself.

Latent arithmetic (Radford et al. 2016, "smiling woman − neutral woman + neutral man"). Let the
classifier of lesson 13 read 4,000 samples; average the z's of those it reads as each digit.
If "being a 7" is a direction in z, the average of the sevens' z's points along it: scaled back
onto the shell, it should draw a 7. And z + (mean_b − mean_a) should turn a's into b's.

The G. By default the lesson trains the half-width MLP GAN of lesson 14 (unconditional) for
3,500 steps (about 45 seconds) with ``scratchgan.run.train`` and a moving average of G, then
reloads it from the checkpoint, as it would load yours: ``--checkpoint runs/mlp/checkpoint.npz``
after ``python -m scratchgan.mnist`` uses your own MNIST run instead (a longer run draws cleaner
walks). A conditional checkpoint (``--model cgan``) adds *class morphs*: z held still while the
label's one-hot row blends from one digit into another (``scratchgan.edit.class_morph``).

Builds on: lessons 10 (scratchgan.run, checkpoints), 13 (the classifier), 14 (the cgan).

Run:  python lessons/16_the_latent_space.py [--steps 3500] [--checkpoint PATH] [--out DIR]
                                            [--quick]
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
from scratchgan.models import is_conditional
from scratchgan.run import TrainConfig, load_generator, train
from scratchgan.trainer import generate_images
from scratchgan.viz import image_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 16: the latent space")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/16", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few steps only (for tests)")
parser.add_argument("--checkpoint", default=None,
                    help="a checkpoint.npz of your own MNIST run (mlp, dcgan or cgan) instead of "
                         "training one here")
parser.add_argument("--steps", type=int, default=3500,
                    help="training steps when no --checkpoint is given (3500: about 45 s)")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
sg.set_num_threads(1)  # dense layers, small batches: one thread does as well (lesson 00)
rng = np.random.default_rng(args.seed)

# %% [markdown]
# ## The shell where Gaussian latents live
# No network yet: only the lengths of Gaussian vectors, and of the two kinds of midpoints.

# %%
d = 100
prior = rng.standard_normal((100_000, d)).astype(np.float32)
norms = np.linalg.norm(prior, axis=1)
z0, z1 = prior[:2000], prior[2000:4000]
linear_mid = np.linalg.norm((z0 + z1) / 2, axis=1)
slerp_mid = np.array([np.linalg.norm(edit.slerp(a, b, np.array([0.5]))[0])
                      for a, b in zip(z0[:500], z1[:500])])
end_norm = np.sqrt(norms[:2000] * norms[2000:4000])
below = (norms <= np.median(linear_mid)).mean()
print(f"‖z‖ of 100,000 Gaussian z in {d} dimensions: mean {norms.mean():.2f}, std "
      f"{norms.std():.2f}, range {norms.min():.2f} to {norms.max():.2f}")
print(f"straight-line midpoints: ‖z‖ = {linear_mid.mean():.2f} on average, "
      f"{(linear_mid / end_norm).mean():.3f} of the ends' (1/√2 = {2 ** -0.5:.3f})")
print(f"slerp midpoints:         ‖z‖ = {slerp_mid.mean():.2f} on average, "
      f"{(slerp_mid / end_norm[:500]).mean():.3f} of the ends'")
print(f"Gaussian z as short as the median straight-line midpoint: {below:.5f} of 100,000")
assert abs(norms.mean() - np.sqrt(d - 0.5)) < 0.05 and abs(norms.std() - 0.71) < 0.03
assert abs((linear_mid / end_norm).mean() - 2 ** -0.5) < 0.02
assert abs((slerp_mid / end_norm[:500]).mean() - 1) < 0.01
assert below < 1e-3  # G never trained on such a z

# %% [markdown]
# ## A trained G
# ``scratchgan.run.train`` writes a run folder (grids per epoch, losses, checkpoint) under
# OUT/run; we then load G back from its checkpoint exactly as from a student's own run. The
# checkpoint holds the moving average of G's weights, and load_generator prefers it.

# %%
SMALL = dict(g_hidden=(128, 256, 512), d_hidden=(256, 128))


def train_small(model, steps, out, limit=None):
    """A half-width MLP GAN (or cgan) run of ``steps`` steps; returns its checkpoint's path."""
    config = TrainConfig(model=model, model_options=SMALL, lr_g=1e-3, lr_d=1e-3, ema=0.999,
                         max_steps=steps, limit=limit, seed=args.seed, out=str(out),
                         overwrite=True, progress=False, log_every=50)
    return train(config).checkpoint


checkpoint = args.checkpoint or train_small("mlp", 30 if QUICK else args.steps, OUT / "run",
                                            limit=2000 if QUICK else None)
G, config = load_generator(checkpoint)
if config.get("dataset", "mnist") != "mnist":
    sys.exit(f"{checkpoint}: a {config.get('dataset')} run; this lesson judges digits with the "
             "MNIST classifier (for other runs: scratchgan interpolate)")
d, conditional = G.latent_dim, is_conditional(G)
print(f"G: {config['model']} from {checkpoint}, latent dimension {d}"
      + (", conditional" if conditional else ""))


def draw(z, labels=None):
    """G's images for host latents z; a conditional G draws digit ``labels`` (default 0..9)."""
    if conditional and labels is None:
        labels = np.arange(len(z)) % 10
    return generate_images(G, np.asarray(z, np.float32), labels=labels)


def confidence(images):
    """The classifier's top probability per image: high for a clear digit, low for a blur."""
    return metrics.predict_proba(images).max(axis=1)


# %% [markdown]
# ## Straight line against great circle, through G
# 500 pairs of fresh z's; at each pair's midpoint, G draws one image from the straight line and
# one from the arc. The classifier's top probability says how clearly each reads as a digit,
# and the mean brightness ("ink") how much grey blur there is; the ends (z's from the prior)
# give the level to expect. The arc's midpoints are distributed like the prior's z's; the
# line's are z's from N(0, I/2), a population G never met. Shorter is not always worse, though:
# BigGAN's "truncation trick" draws z from a narrower Gaussian on purpose and gets more average,
# cleaner images. Which way it goes depends on G, so the lesson measures it, with the paired
# differences' standard error, and says what it finds.

# %%
pairs = 40 if QUICK else 500
za, zb = (rng.standard_normal((pairs, d)).astype(np.float32) for _ in range(2))
mid_linear = np.stack([edit.latent_path(a, b, 3, "linear")[1] for a, b in zip(za, zb)])
mid_slerp = np.stack([edit.latent_path(a, b, 3, "slerp")[1] for a, b in zip(za, zb)])
population = {"ends (prior z)": za, "straight-line midpoints": mid_linear,
              "slerp midpoints": mid_slerp}
sure, ink = {}, {}
for name, z in population.items():
    images = draw(z)
    sure[name], ink[name] = confidence(images), ((images + 1) / 2).mean(axis=(1, 2, 3))
    print(f"{name:24s}: classifier's top probability {sure[name].mean():.3f}, read with > 0.9: "
          f"{(sure[name] > 0.9).mean():.0%}, mean ink {ink[name].mean():.3f}")
diff = sure["slerp midpoints"] - sure["straight-line midpoints"]
gap, se = diff.mean(), diff.std() / np.sqrt(pairs)
if gap > 2 * se:
    print(f"slerp's midpoints read more clearly than the straight line's: +{gap:.3f} "
          f"(± {se:.3f}) in top probability")
elif gap < -2 * se:
    print(f"for this G the straight line's shorter midpoints read more clearly: {gap:.3f} "
          f"(± {se:.3f}), as the truncation trick would have it")
else:
    print(f"no clear difference in how the midpoints read: {gap:.3f} ± {se:.3f}")
if args.checkpoint is None and not QUICK:
    # The lesson's own G (seed 0, 3500 steps) was measured: its line midpoints read less
    # clearly. (Their ink goes either way from run to run: no claim about it.)
    assert gap > 2 * se, (gap, se)

# %% [markdown]
# ## Interpolation rows
# Six pairs; for each, the straight line (above) and the arc (below), 10 steps. Watch the middle
# columns: the line's images are drawn from z's shorter than any G was trained on.

# %%
rows, steps = 6, 10
walk_z = rng.standard_normal((rows, 2, d)).astype(np.float32)
walks, path_norms = [], {"linear": [], "slerp": []}
for i, (a, b) in enumerate(walk_z):
    label = i % 10 if conditional else None  # a conditional G walks z with its digit held
    for mode in ("linear", "slerp"):
        walks.append(edit.interpolate(G, a, b, steps=steps, mode=mode, label=label))
        path_norms[mode].append(np.linalg.norm(edit.latent_path(a, b, steps, mode), axis=1))
walks = np.concatenate(walks)
for mode, n in path_norms.items():
    n = np.array(n)
    print(f"{mode:6s} path: ‖z(t)‖ from {n[:, 0].mean():.2f} through {n.min(axis=1).mean():.2f} "
          f"(its lowest) to {n[:, -1].mean():.2f}")
assert (np.array(path_norms["slerp"]).min(axis=1)
        > 0.97 * np.minimum(*np.array(path_norms["slerp"])[:, [0, -1]].T)).all()

fig = plt.figure(figsize=(14, 8))
spec = fig.add_gridspec(1, 2, width_ratios=[2.2, 1])
ax = fig.add_subplot(spec[0])
ax.imshow(image_grid(walks, nrow=steps), cmap="gray", vmin=0, vmax=255)
ax.set_yticks([(28 + 2) * (r + 0.5) + 1 for r in range(2 * rows)],
              ["linear", "slerp"] * rows)
ax.set_xticks([(28 + 2) * (s + 0.5) + 1 for s in range(steps)],
              [f"{t:.2f}" for t in np.linspace(0, 1, steps)], fontsize=8)
ax.set_xlabel("t")
ax.set_title("z0 → z1: straight line (upper row of each pair) and great circle (lower)"
             + ("\nthe digit held fixed: 0 to 5, a pair of rows each" if conditional else ""))
ax = fig.add_subplot(spec[1])
t = np.linspace(0, 1, steps)
for mode, color in (("linear", "tab:red"), ("slerp", "tab:blue")):
    for n in path_norms[mode]:
        ax.plot(t, n, color=color, alpha=0.5)
    ax.plot([], [], color=color, label=mode)
ax.axhspan(np.percentile(norms, 0.5), np.percentile(norms, 99.5), color="0.85",
           label="99 % of Gaussian z")
ax.set_xlabel("t")
ax.set_ylabel("‖z(t)‖")
ax.set_title("the straight line leaves the shell")
ax.legend()
fig.tight_layout()
fig.savefig(OUT / "interpolation.png", dpi=90)
plt.close(fig)
print(f"figure: {OUT / 'interpolation.png'}")

# %% [markdown]
# ## Latent arithmetic: a direction per digit
# Average the z's that G turns into each digit (as the classifier reads them, sure > 0.9). The
# average of n Gaussian vectors is short (about √(d/n) plus whatever they share), so we scale it
# back onto the shell before drawing it. Then move samples of digit a by (mean_b − mean_a).
# A conditional G needs none of this: the digit is its label (next cell).

# %%
if not conditional:
    pool_z = rng.standard_normal((800 if QUICK else 4000, d)).astype(np.float32)
    pool_p = metrics.predict_proba(draw(pool_z))
    read, sure_enough = pool_p.argmax(1), pool_p.max(1) > 0.9
    digits = [k for k in range(10) if (sure_enough & (read == k)).sum() >= 10]
    means = {k: pool_z[sure_enough & (read == k)].mean(0) for k in digits}
    on_shell = {k: m * np.sqrt(d) / np.linalg.norm(m) for k, m in means.items()}
    mean_images = draw(np.stack([on_shell[k] for k in digits])) if digits else None
    mean_read = metrics.predict_proba(mean_images).argmax(1) if digits else np.array([])
    hits = int((mean_read == np.array(digits)).sum())
    print(f"digits with at least 10 confident samples: {digits}")
    print("‖mean z‖ per digit: " + ", ".join(f"{k}: {np.linalg.norm(means[k]):.2f}"
                                             for k in digits))
    print(f"G(mean z of digit k, scaled to ‖z‖ = √d) is read as k for {hits} of {len(digits)}")
    # Moving samples: z + (mean_b − mean_a), for every ordered pair (a, b) of those digits.
    moved, asked, base = [], [], []
    for a in digits:
        source = pool_z[sure_enough & (read == a)][:20]
        for b in digits:
            if a != b:
                moved.append(source + (means[b] - means[a]))
                asked += [b] * len(source)
                base.append(np.full(len(source), (read == b).mean()))
    if moved:
        moved_read = metrics.predict_proba(draw(np.concatenate(moved))).argmax(1)
        success, chance = (moved_read == np.array(asked)).mean(), np.concatenate(base).mean()
        print(f"z + (mean_b − mean_a) is read as b {success:.0%} of the time; a random z is a b "
              f"{chance:.0%} of the time")
    if not QUICK:  # (30 quick steps draw too few confident digits to check this)
        assert len(digits) >= 8, f"G draws confident samples of only {digits}"
        assert hits >= 0.7 * len(digits), (hits, digits)
        assert success > 2 * chance, (success, chance)
        print("directions in z carry digits: class means draw their digit, and the difference "
              f"of two means turns a's into b's {success / chance:.1f}x as often as chance")

    fig, axes = plt.subplots(1, 2, figsize=(13, 3.2), width_ratios=[2, 1])
    axes[0].imshow(image_grid(mean_images if digits else np.zeros((1, 1, 28, 28)), nrow=10),
                   cmap="gray", vmin=0, vmax=255)
    axes[0].set_title(f"G(mean z of the samples read as each of {digits}),\nscaled onto the shell")
    shown, sources, results = [], [], []
    for a, b in [(1, 7), (3, 8), (4, 9), (0, 6), (5, 3)]:
        if a in means and b in means:
            src = pool_z[sure_enough & (read == a)][:1]
            sources.append(draw(src))
            results.append(draw(src + (means[b] - means[a])))
            shown.append(f"{a}→{b}")
    row = np.concatenate(sources + results) if shown else np.zeros((1, 1, 28, 28), np.float32)
    axes[1].imshow(image_grid(row, nrow=max(1, len(shown))), cmap="gray", vmin=0, vmax=255)
    axes[1].set_title("top: a sample of a; below: z + (mean_b − mean_a)\n" + ", ".join(shown))
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT / "latent_arithmetic.png", dpi=90)
    plt.close(fig)
    print(f"figure: {OUT / 'latent_arithmetic.png'}")

# %% [markdown]
# ## Class morphs with a conditional G
# A cgan's z holds the style and its label the digit (lesson 14). Hold z and blend the one-hot
# label linearly from a to b: ``edit.class_morph``. The classifier should read a at the start
# and b at the end. Without a conditional --checkpoint, quick mode trains a tiny cgan only to
# run this cell; the default run skips it (try ``--checkpoint runs/cgan/checkpoint.npz``).

# %%
morph_G = G if conditional else None
if morph_G is None and QUICK:
    morph_G, _ = load_generator(train_small("cgan", 10, OUT / "cgan_run", limit=640))
if morph_G is not None:
    pairs_ab = [(1, 7), (3, 8), (4, 9), (0, 6), (2, 5)]
    morph_z = rng.standard_normal((len(pairs_ab), morph_G.latent_dim)).astype(np.float32)
    morphs = np.concatenate([edit.class_morph(morph_G, z, a, b, steps=8)
                             for z, (a, b) in zip(morph_z, pairs_ab)])
    ends = metrics.predict_proba(morphs).argmax(1).reshape(len(pairs_ab), 8)[:, [0, -1]]
    right = (ends == np.array(pairs_ab)).mean()
    print(f"class morphs: the classifier reads a at the start and b at the end for {right:.0%} "
          "of the ends")
    if not QUICK:
        assert right >= 0.6, ends
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.imshow(image_grid(morphs, nrow=8), cmap="gray", vmin=0, vmax=255)
    ax.set_yticks([(28 + 2) * (r + 0.5) + 1 for r in range(len(pairs_ab))],
                  [f"{a} → {b}" for a, b in pairs_ab])
    ax.set_xticks([])
    ax.set_title("class morphs: z fixed, the label blends from a to b")
    fig.tight_layout()
    fig.savefig(OUT / "class_morphs.png", dpi=90)
    plt.close(fig)
    print(f"figure: {OUT / 'class_morphs.png'}")

# %% Try this
# 1. Give G longer: ``python -m scratchgan.mnist --ema 0.999 --minutes 5`` and rerun with
#    ``--checkpoint runs/mlp/checkpoint.npz``. Predict whether the gap between the two midpoints'
#    classifier confidence grows or shrinks, then read it.
# 2. Walk the straight line *outwards*: draw G(s·z) for s = 0, 0.25, ..., 2 for one z. Where does
#    the digit fade into the average blur, and where does it break up? Compare s with the shell's
#    width printed in the first cell.
# 3. Change the arithmetic: use the unscaled class means, or the median instead of the mean,
#    and see how many of the ten mean images still read as their digit.
