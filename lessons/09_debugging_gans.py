"""Lesson 09: debugging GANs - break training on purpose, one cause at a time, and diagnose it.

A GAN that fails rarely raises an error: it trains, the losses move, and the samples are wrong.
The way to learn the symptoms is to cause each failure yourself, on a run small enough to repeat,
and to read the three instruments every run gives you:

  * the loss curves (D's and G's),
  * D's mean belief on each batch: D(x) on real images and D(G(z)) on fakes,
  * the samples, and numbers about them: which digits the project's classifier reads
    (scratchgan.metrics: the class histogram and its KL to uniform, 0 when every digit is
    equally common, log 10 = 2.30 for a single digit) and how different the samples are from one
    another (their mean pairwise distance, as a fraction of real digits').

A healthy baseline (lesson 08's loop with small networks and 600 steps), then five breaks, each
one change away from it:

  1. no ``detach`` in the D step           D's loss reaches G's parameters
  2. the minimax G loss                    G's gradient vanishes when D is ahead
  3. D's learning rate 25× too high        D's loss explodes, D wins, G is stuck
  4. batch norm sampled in the wrong mode  the losses are fine; an image depends on its batch
  5. mode collapse                         every z gives the same digit

Every symptom is measured and asserted, and the lesson ends with the diagnosis table (symptom →
cause) built from those measurements.

Builds on: lessons 05 (batch norm, train and eval), 07 (the GAN game), 08 (the loop written out),
and the sample metrics of scratchgan.metrics (lesson 13 explains them in full).

Run:  python lessons/09_debugging_gans.py [--steps 600] [--out /tmp/scratchgan_lessons/09]
                                          [--quick]
"""
# %%
import argparse
import copy
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn, optim
from scratchgan.data import BatchIterator, mnist_dataset
from scratchgan.metrics import class_histogram, coverage_kl, predict_proba
from scratchgan.viz import image_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 09: debugging GANs")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/09", help="folder for the figures")
parser.add_argument("--quick", action="store_true", help="a few dozen steps per case (for tests)")
parser.add_argument("--steps", type=int, default=600, help="training steps per case")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
STEPS = 40 if QUICK else args.steps
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## One small GAN, with a switch for every break
# Small MLPs on 5000 digits, so that six runs fit in a minute. ``train`` is lesson 08's loop;
# each keyword argument is one break, and its default is the healthy choice.

# %%
# D learns 4× faster than G: at this size that leaves the collapsed start sooner (try this 3).
NOISE, BATCH, LR_G, LR_D, BETAS = 32, 64, 5e-4, 2e-3, (0.5, 0.999)
images, _ = mnist_dataset(limit=5000)
ones = sg.tensor(np.ones((BATCH, 1), np.float32))
zeros = sg.tensor(np.zeros((BATCH, 1), np.float32))
sg.seed(args.seed)
FIXED_Z = B.normal((500, NOISE))  # the noise every case is sampled from


def make_G(batch_norm=False):
    def block(n_in, n_out):
        return [nn.Linear(n_in, n_out)] + ([nn.BatchNorm1d(n_out)] if batch_norm else []) \
            + [nn.LeakyReLU(0.2)]
    return nn.Sequential(*block(NOISE, 128), *block(128, 256), nn.Linear(256, 784), nn.Tanh())


def make_D():
    return nn.Sequential(nn.Linear(784, 256), nn.LeakyReLU(0.2), nn.Linear(256, 128),
                         nn.LeakyReLU(0.2), nn.Linear(128, 1))


def grad_norm(grads):
    return float(np.sqrt(sum(float((g * g).sum()) for g in grads)))


def train(steps, *, detach=True, g_loss="non-saturating", lr_d=LR_D, batch_norm=False,
          noise_scale=1.0, head_start=0, g_sgd=None, keep_at=None):
    """Train a fresh pair; returns a dict of per-step records, G, and G as it was at step
    ``keep_at``. ``head_start``: D-only steps before the game; ``g_sgd``: plain SGD for G at this
    learning rate (Adam otherwise)."""
    sg.seed(args.seed)
    G, D = make_G(batch_norm), make_D()
    opt_G = (optim.SGD(G.parameters(), lr=g_sgd) if g_sgd
             else optim.Adam(G.parameters(), lr=LR_G, betas=BETAS))
    opt_D = optim.Adam(D.parameters(), lr=lr_d, betas=BETAS)
    batches, epoch = BatchIterator(images, BATCH, seed=args.seed), iter(())
    rec = {k: [] for k in ("d_loss", "g_loss", "d_real", "d_fake", "g_from_D", "g_own", "cos",
                           "g_nonsat")}
    kept = None
    for step in range(-head_start, steps):
        batch = next(epoch, None)
        if batch is None:
            epoch = iter(batches)
            batch = next(epoch)
        if step == keep_at:
            kept = copy.deepcopy(G)
        real = sg.tensor(batch.reshape(BATCH, 784))
        z = sg.tensor(B.normal((BATCH, NOISE)) * noise_scale)

        opt_D.zero_grad()
        opt_G.zero_grad()      # both at the top of the step, as many training loops do
        fake = G(z)
        d_real, d_fake = D(real), D(fake.detach() if detach else fake)
        loss_D = (F.binary_cross_entropy_with_logits(d_real, ones)
                  + F.binary_cross_entropy_with_logits(d_fake, zeros))
        # Without detach this backward frees G's graph, which the G step needs again: keep it.
        loss_D.backward(retain_graph=not detach)
        opt_D.step()
        if step < 0:           # D's head start: G sits still
            continue
        from_D = [p.grad.numpy().copy() if p.grad is not None else np.zeros(p.shape, np.float32)
                  for p in G.parameters()]

        d_on_fake = D(fake)    # the updated D
        if g_loss == "minimax":  # G minimises log(1 - σ(l)) = -BCE(l, 0)
            loss_G = -F.binary_cross_entropy_with_logits(d_on_fake, zeros)
            # the non-saturating gradient at the same point, for comparison only
            other = sg.grad(F.binary_cross_entropy_with_logits(d_on_fake, ones),
                            G.parameters(), retain_graph=True)
            rec["g_nonsat"].append(grad_norm([g.numpy() for g in other]))
        else:                  # G minimises -log σ(l) = BCE(l, 1)
            loss_G = F.binary_cross_entropy_with_logits(d_on_fake, ones)
        loss_G.backward()      # adds to whatever G's .grad already holds
        total = [p.grad.numpy() for p in G.parameters()]
        own = [t - d for t, d in zip(total, from_D)]
        opt_G.step()

        rec["d_loss"].append(loss_D.item())
        rec["g_loss"].append(loss_G.item())
        rec["d_real"].append(F.sigmoid(d_real).mean().item())
        rec["d_fake"].append(F.sigmoid(d_fake).mean().item())
        rec["g_from_D"].append(grad_norm(from_D))
        rec["g_own"].append(grad_norm(own))
        if not detach:
            dot = sum(float((a * b).sum()) for a, b in zip(from_D, own))
            rec["cos"].append(dot / (grad_norm(from_D) * grad_norm(own) + 1e-30))
    return {k: np.array(v) for k, v in rec.items()} | {"G": G, "kept": kept}


def mean_distance(pictures):
    """The mean pixel distance between two of the first 200 pictures."""
    x = pictures.reshape(len(pictures), -1)[:200].astype(np.float64)
    sq = (x * x).sum(axis=1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0))
    return d[np.triu_indices(len(x), 1)].mean()


REAL_DISTANCE = mean_distance(images)


def sample(G, noise_scale=1.0, train_mode=False, batch=500, z=None):
    """G(z) as images (z: FIXED_Z unless given), in eval mode (the right way) unless
    ``train_mode``; train mode runs on a copy, so that G's running statistics stay as they were."""
    z = FIXED_Z if z is None else z
    if train_mode:
        G = copy.deepcopy(G)
    G.train(train_mode)
    with sg.no_grad():
        parts = [G(sg.tensor(z[i:i + batch] * noise_scale)).numpy()
                 for i in range(0, len(z), batch)]
    G.train(True)
    return np.concatenate(parts).reshape(-1, 1, 28, 28)


def metrics(pictures):
    shares = class_histogram(predict_proba(pictures))
    return {"pictures": pictures, "shares": shares, "kl": coverage_kl(shares),
            "spread": mean_distance(pictures) / REAL_DISTANCE,
            "digits": int((shares >= 0.05).sum())}


def late(rec, key, part=0.25):
    """The mean of a record over the last quarter of the run."""
    values = rec[key]
    return float(values[-max(1, int(len(values) * part)):].mean())


# %% [markdown]
# ## The healthy baseline
# What good looks like at this size: D's loss near 2 log 2 = 1.39 (it cannot win outright), D(x)
# a little above D(G(z)), both away from 0 and 1, and samples that cover the digits.
# (Every run passes through a collapsed phase in its first few hundred steps, where G draws one
# blob: the baseline has left it by the end.)

# %%
runs, cases = {}, {}
COLLAPSED_AT = STEPS // 2 if QUICK else 150  # where every run here draws one blob
runs["baseline"] = train(STEPS, keep_at=COLLAPSED_AT)
cases["baseline"] = metrics(sample(runs["baseline"]["G"]))


def report(name):
    r, m = runs[name], cases[name]
    print(f"{name:11s} last quarter: D loss {late(r, 'd_loss'):6.2f}  G loss "
          f"{late(r, 'g_loss'):6.2f}  D(x) {late(r, 'd_real'):.2f}  D(G(z)) "
          f"{late(r, 'd_fake'):.2f} | digits drawn (>= 5%) {m['digits']:2d}  coverage KL "
          f"{m['kl']:.2f}  spread {m['spread']:.2f}")


report("baseline")
base = runs["baseline"]
if not QUICK:  # 40 steps sit inside the collapsed phase
    assert cases["baseline"]["kl"] < 1.0 and cases["baseline"]["spread"] > 0.4, cases["baseline"]
    assert 0.9 < late(base, "d_loss") < 1.5 and 0.5 < late(base, "d_real") < 0.9
    assert 0.2 < late(base, "d_fake") < 0.6

# %% [markdown]
# ## Break 1: no detach in the D step
# ``D(fake)`` instead of ``D(fake.detach())``. The first symptom is an error, as in PyTorch:
# D's backward frees G's part of the graph, and the G step needs it again.

# %%
sg.seed(args.seed)
G, D = make_G(), make_D()
fake = G(sg.tensor(B.normal((BATCH, NOISE))))
loss_D = F.binary_cross_entropy_with_logits(D(fake), zeros)  # no detach
loss_D.backward()
print("after D's backward without detach, G's parameters hold gradients:",
      all(p.grad is not None for p in G.parameters()))
assert all(p.grad is not None for p in G.parameters())
try:
    F.binary_cross_entropy_with_logits(D(fake), ones).backward()  # the G step
    raise AssertionError("the G step's backward went through a freed graph")
except RuntimeError as error:
    print(f"the G step's backward: RuntimeError: {error}\n")
    assert "second time" in str(error)

# %% [markdown]
# The error message suggests ``retain_graph=True``; do that (and zero both networks' gradients at
# the top of the step, as many loops do) and the run trains, wrongly: G's update is the sum of
# its own gradient and D's-loss gradient, which points the other way (D's loss wants the fakes
# to look fake). G is held back and D pulls ahead. (Zeroing G's gradients just before its own
# backward would discard D's part: then the only harm is the wasted backward through G.)

# %%
runs["no detach"] = train(STEPS, detach=False)
cases["no detach"] = metrics(sample(runs["no detach"]["G"]))
report("no detach")
r = runs["no detach"]
first_50 = slice(0, min(50, len(r["cos"])))
print(f"first 50 steps: |grad from D's loss| / |G's own grad| = "
      f"{np.mean(r['g_from_D'][first_50] / r['g_own'][first_50]):.2f}, cosine between them "
      f"{np.mean(r['cos'][first_50]):.2f}")
assert np.mean(r["cos"][first_50]) < -0.8  # nearly opposite: the two cancel
assert np.all(base["g_from_D"] == 0)  # with detach, D's loss leaves G untouched
gap, base_gap = (late(x, "d_real") - late(x, "d_fake") for x in (r, base))
print(f"last quarter: D(x) - D(G(z)) = {gap:.2f} (baseline {base_gap:.2f})")
if not QUICK:
    # G's update partly cancels itself, so D pulls ahead: a wider gap between D(x) and D(G(z)),
    # a higher G loss, and less varied samples than the baseline's.
    assert gap > 1.5 * base_gap and late(r, "g_loss") > 1.5 * late(base, "g_loss")
    assert cases["no detach"]["spread"] < 0.8 * cases["baseline"]["spread"]

# %% [markdown]
# ## Break 2: the minimax G loss
# G minimises log(1 - σ(D(G(z)))) instead of -log σ(D(G(z))). Its gradient is σ(l) times D's
# slope: it vanishes exactly when D is winning (l very negative), which is when G needs it most.
# To see it, let D be ahead: 100 D-only steps against the untrained G (what happens whenever D
# learns faster than G at the start), then train G with plain SGD, which takes the gradient at
# face value (Adam, used everywhere else here, rescales it: try this 1). The twin run differs
# only in the G loss.

# %%
HEAD, TWIN_STEPS, SGD_LR = 100, (20 if QUICK else 200), 0.05
runs["minimax"] = train(TWIN_STEPS, g_loss="minimax", head_start=HEAD, g_sgd=SGD_LR)
twin = train(TWIN_STEPS, head_start=HEAD, g_sgd=SGD_LR)
cases["minimax"] = metrics(sample(runs["minimax"]["G"]))
report("minimax")
r = runs["minimax"]
ratio = r["g_own"][0] / r["g_nonsat"][0]
print(f"at the first G step D(G(z)) = {r['d_fake'][0]:.4f}: |grad| minimax {r['g_own'][0]:.4f}, "
      f"non-saturating {r['g_nonsat'][0]:.2f} (ratio {ratio:.1e})")
print(f"last quarter of {TWIN_STEPS} SGD steps: D(G(z)) = {late(r, 'd_fake'):.3f} (minimax) "
      f"against {late(twin, 'd_fake'):.3f} (non-saturating twin)")
assert r["d_fake"][0] < 0.01 and ratio < 0.01
assert late(r, "d_fake") < 0.01  # G has not moved D's mind at all
assert late(twin, "d_fake") > 0.1  # the twin has

# %% [markdown]
# ## Break 3: D's learning rate 25× too high
# lr_d = 5e-2 instead of 2e-3 (G's: 5e-4). Adam's steps are about the learning rate in size, so
# D's weights jump: its logits grow to hundreds, and with them its loss on any misjudged image.
# Then D wins.

# %%
runs["lr_d high"] = train(STEPS, lr_d=25 * LR_D)
cases["lr_d high"] = metrics(sample(runs["lr_d high"]["G"]))
report("lr_d high")
r = runs["lr_d high"]
print(f"D's largest loss {r['d_loss'].max():.0f} (baseline {base['d_loss'].max():.2f})")
assert r["d_loss"].max() > 20 * base["d_loss"].max()
if not QUICK:
    assert late(r, "d_real") > 0.85 and late(r, "d_fake") < 0.25  # D wins
    assert late(r, "g_loss") > 3 * late(base, "g_loss")
    assert cases["lr_d high"]["spread"] < 0.5 * cases["baseline"]["spread"]  # samples stuck

# %% [markdown]
# ## Break 4: batch norm sampled in the wrong mode
# G with batch norm (as the DCGAN's): train mode normalises with the batch's statistics, eval
# mode with the running averages (lesson 05). Training is healthy - the losses show nothing. The
# bugs are all in sampling: (a) a batch of one in train mode has no variance to divide by; (b) in
# train mode an image depends on the other images of its batch; (c) train mode also moves the
# running statistics; (d) eval mode soon after the start uses running statistics that have not
# caught up with the weights yet. Only (a) raises: the others draw plausible pictures, wrong.

# %%
KEEP_AT = 5
runs["batch norm"] = train(STEPS, batch_norm=True, keep_at=KEEP_AT)
G_bn, G_early = runs["batch norm"]["G"], runs["batch norm"]["kept"]
right = sample(G_bn)  # eval mode
try:
    sample(G_bn, train_mode=True, batch=1)
    raise AssertionError("train mode accepted a batch of one")
except ValueError as error:
    print(f"(a) train mode, one sample at a time: ValueError: {error}")
# (b) the same 500 z in batches of 4, then in a shuffled order: other batch-mates
order = np.random.default_rng(0).permutation(len(FIXED_Z))
in_fours = sample(G_bn, train_mode=True, batch=4)
shuffled = sample(G_bn, train_mode=True, batch=4, z=FIXED_Z[order])[np.argsort(order)]
eval_shuffled = sample(G_bn, z=FIXED_Z[order])[np.argsort(order)]
same_z_train = float(np.abs(in_fours - shuffled).mean())
same_z_eval = float(np.abs(right - eval_shuffled).max())
print(f"(b) the same z with other batch-mates: mean |pixel change| {same_z_train:.3f} in train "
      f"mode (batches of 4), max {same_z_eval:.1e} in eval mode")
# (c) a forward pass in train mode updates the running statistics, even under no_grad
probe = copy.deepcopy(G_bn).train()
with sg.no_grad():
    probe(sg.tensor(FIXED_Z[:64]))


def running_mean(model):
    return next(m for m in model.modules() if isinstance(m, nn.BatchNorm1d)).running_mean.numpy()


moved = float(np.abs(running_mean(probe) - running_mean(G_bn)).max())
print(f"(c) one batch drawn in train mode moved the running mean by up to {moved:.3f}")
# (d) eval against train mode (a big batch: good statistics) soon after the start and at the end
gap_early = float(np.abs(sample(G_early) - sample(G_early, train_mode=True)).mean())
gap_end = float(np.abs(right - sample(G_bn, train_mode=True)).mean())
print(f"(d) mean |eval - train mode| per pixel: {gap_early:.3f} at step {KEEP_AT}, "
      f"{gap_end:.3f} at the end")
cases["batch norm"] = metrics(in_fours)  # what the wrong mode draws
report("batch norm")
eval_metrics = metrics(right)
print(f"{'':11s} the same G in eval mode: digits drawn {eval_metrics['digits']}, coverage KL "
      f"{eval_metrics['kl']:.2f}, spread {eval_metrics['spread']:.2f}")
assert same_z_train > 0.05 and same_z_eval < 1e-4
assert moved > 0
assert gap_early > 2 * gap_end, (gap_early, gap_end)
if not QUICK:
    r = runs["batch norm"]
    assert 0.9 < late(r, "d_loss") < 1.6 and 0.2 < late(r, "d_fake") < 0.6  # losses look fine
    assert eval_metrics["kl"] < 1.0
    # Here the wrong mode still draws digits: what broke is that z alone no longer decides them.
    assert cases["batch norm"]["kl"] < 1.0

# %% [markdown]
# ## Break 5: mode collapse
# Mode collapse is G drawing one (or a few) images whatever z is. The baseline went through it:
# in its first few hundred steps every z gave the same blob (measured below at step 150), and it
# grew out of it. To make it stay, starve G of randomness: the noise scaled by 1e-4 (say, a
# leftover scale factor). Every z then looks the same to G, so every sample is the same image.
# D judges each image alone, so nothing in its loss asks for variety; it learns to reject the one
# image, G moves it, D follows: the losses look like D winning (as in break 3). Only the sample
# metrics name it: a spread near 0 (break 3's stuck samples are noisy, not identical) and one
# class for everything.

# %%
runs["collapse"] = train(STEPS, noise_scale=1e-4)
cases["collapse"] = metrics(sample(runs["collapse"]["G"], noise_scale=1e-4))
report("collapse")
r = runs["collapse"]
assert cases["collapse"]["spread"] < 0.1, cases["collapse"]["spread"]
assert cases["collapse"]["shares"].max() > 0.9  # one digit (or one blob) for every z
collapsed = metrics(sample(runs["baseline"]["kept"]))
print(f"the baseline itself at step {COLLAPSED_AT}: {collapsed['shares'].max():.0%} of its "
      f"samples one class (KL {collapsed['kl']:.2f}), spread {collapsed['spread']:.2f}; at the "
      f"end: KL {cases['baseline']['kl']:.2f}, spread {cases['baseline']['spread']:.2f}")
print(f"D's largest loss {r['d_loss'].max():.1f} (break 3: "
      f"{runs['lr_d high']['d_loss'].max():.0f}, baseline: {base['d_loss'].max():.1f})")
assert r["d_loss"].max() < 0.01 * runs["lr_d high"]["d_loss"].max()
if not QUICK:
    assert late(r, "d_fake") < late(base, "d_fake")  # D ahead
    assert cases["collapse"]["spread"] < 0.1 * cases["baseline"]["spread"]
    # the baseline's passing collapse, healed by the end
    assert collapsed["kl"] > 1.0, collapsed["kl"]
    assert collapsed["spread"] < 0.6 * cases["baseline"]["spread"], collapsed["spread"]

# %% [markdown]
# ## One row per case: the three instruments
# Left: the losses (log scale: break 3's reach the thousands). Middle: D(x) and D(G(z)). Both
# smoothed over 10 steps. Right: 36 samples from the same fixed noise.

# %%
def smooth(values, width=10):
    width = max(1, min(width, len(values)))
    return np.convolve(values, np.ones(width) / width, mode="valid")


names = ["baseline", "no detach", "minimax", "lr_d high", "batch norm", "collapse"]
fig, axes = plt.subplots(len(names), 3, figsize=(13, 3 * len(names)),
                         gridspec_kw={"width_ratios": [1.3, 1.3, 1]})
for row, name in zip(axes, names):
    r, m = runs[name], cases[name]
    row[0].plot(smooth(r["d_loss"]), label="D loss")
    if name == "minimax":  # log(1 - σ) is negative: draw its size
        row[0].plot(smooth(-r["g_loss"]), label="-(G loss) = -log(1 - D(G(z)))")
    else:
        row[0].plot(smooth(r["g_loss"]), label="G loss")
    row[0].set_yscale("log")
    row[0].set_ylabel(name, fontsize=12)
    row[0].legend(fontsize=8)
    row[1].plot(smooth(r["d_real"]), label="D(x)")
    row[1].plot(smooth(r["d_fake"]), label="D(G(z))")
    if name == "minimax":
        row[1].plot(smooth(twin["d_fake"]), linestyle="--", label="D(G(z)), non-saturating twin")
    row[1].set_ylim(-0.02, 1.02)
    row[1].legend(fontsize=8)
    row[2].imshow(image_grid(m["pictures"][:36], nrow=6), cmap="gray")
    row[2].axis("off")
    title = {"batch norm": "train mode, batches of 4"}.get(name, "samples (eval mode)")
    row[2].set_title(f"{title}: KL {m['kl']:.2f}, spread {m['spread']:.2f}", fontsize=9)
axes[0, 0].set_title("losses")
axes[0, 1].set_title("D's mean belief")
axes[-1, 0].set_xlabel("step")
axes[-1, 1].set_xlabel("step")
fig.tight_layout()
cases_png = OUT / "debugging_cases.png"
fig.savefig(cases_png, dpi=70)
print(f"\none row per case: {cases_png}")

fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
for ax, (title, pictures) in zip(axes, [
        ("eval mode (right)", right), ("train mode, batches of 4", in_fours),
        ("train mode, the same z, other batch-mates", shuffled),
        ("|difference| of the two train-mode grids", np.abs(in_fours - shuffled) * 2 - 1)]):
    ax.imshow(image_grid(pictures[:36], nrow=6), cmap="gray")
    ax.set_title(title, fontsize=10)
    ax.axis("off")
fig.suptitle("The same G and the same z: in train mode an image depends on its batch")
bn_png = OUT / "batch_norm_modes.png"
fig.savefig(bn_png, dpi=70, bbox_inches="tight")
print(f"batch norm's modes: {bn_png}")

# %% [markdown]
# ## The diagnosis table
# Each line is a symptom you can read off the instruments, with this run's numbers, and its
# cause. The assertions above checked every number quoted here.

# %%
nd, mm, hi, bn, co = (runs[k] for k in ("no detach", "minimax", "lr_d high", "batch norm",
                                        "collapse"))
table = [
    (f"G's backward fails ('backward through the graph a second time'); with retain_graph G "
     f"holds gradients after D's step, cosine {np.mean(nd['cos'][first_50]):.2f} to its own; D "
     f"pulls ahead (D(x) - D(G(z)) = {gap:.2f}, baseline {base_gap:.2f})",
     "D's loss not detached from G"),
    (f"D(G(z)) ~ {mm['d_fake'][0]:.3f} and G's gradient {ratio:.0e} of the non-saturating one; "
     f"under SGD G never moves (D(G(z)) {late(mm, 'd_fake'):.3f} late in {TWIN_STEPS} steps)",
     "the minimax G loss"),
    (f"D's loss spikes to {hi['d_loss'].max():.0f} (healthy: ~1.4); later D(x) "
     f"{late(hi, 'd_real'):.2f}, D(G(z)) {late(hi, 'd_fake'):.2f}, G's loss "
     f"{late(hi, 'g_loss'):.1f}, samples stuck (spread {cases['lr_d high']['spread']:.2f})",
     "D's learning rate too high"),
    (f"losses healthy, yet a batch of one fails, an image changes with its batch-mates "
     f"({same_z_train:.2f} per pixel), eval and train mode disagree early ({gap_early:.2f})",
     "batch norm sampled in train mode / too early"),
    (f"D ahead (D(G(z)) {late(co, 'd_fake'):.2f}) without break 3's spikes (largest D loss "
     f"{co['d_loss'].max():.1f}), one class gets "
     f"{cases['collapse']['shares'].max():.0%} of the samples (KL {cases['collapse']['kl']:.2f}) "
     f"and the samples are all alike (spread {cases['collapse']['spread']:.2f})",
     "mode collapse (here: G starved of noise)"),
]
print("\nsymptom  ->  cause" + ("  (quick mode: the runs are too short for the claims about how "
                                 "they end, which are not checked)" if QUICK else ""))
for symptom, cause in table:
    print(f"- {symptom}\n      ->  {cause}")

# %% Try this
# 1. Break 2 with Adam instead of SGD (drop g_sgd=SGD_LR): predict whether G escapes, then look at
#    D(G(z)) after 20 steps. Adam divides each step by the gradient's running size, so a gradient
#    1000× too small still moves G: why does that make the minimax bug harder to notice?
# 2. Break 5 on the batch-norm G (train(STEPS, batch_norm=True, noise_scale=1e-2)): does G still
#    collapse? Batch norm divides by the batch's standard deviation: what does it do to a z that
#    was scaled down by 100? (And why does 1e-4 still collapse? Look at BatchNorm1d's eps.)
# 3. Set LR_D = LR_G (5e-4) and rerun the baseline: how many digits does it draw after 600 steps,
#    and after 1200? Then try lr_d = 5 × LR_D in break 3 instead of 25 ×: where does D's learning
#    rate start to break this run?
