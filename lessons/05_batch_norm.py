"""Lesson 05: batch normalisation, and why it behaves differently in train() and eval().

In training, BatchNorm normalises each channel with the statistics of the current batch,
over every axis except the channel one ((N, H, W) for images):

    y = γ · (x - mean) / sqrt(var + eps) + β        var: the biased (divide by n) variance

and meanwhile keeps exponential moving averages for later use:

    running_mean ← (1 - momentum)·running_mean + momentum·mean
    running_var  ← (1 - momentum)·running_var  + momentum·var·n/(n - 1)    (unbiased!)

with momentum 0.1 (PyTorch's convention: the weight of the *new* value). Starting from 0 and 1,
the running statistics forget their start as 0.9^t: a third of it is left after 10 batches, 1 %
after 44. In eval() the layer uses the running statistics instead, so one sample's output no
longer depends on the others in its batch. A GAN generator sampled in eval mode soon after the
start of training therefore looks different from the same generator in train mode: the running
statistics lag behind the batches. The figure shows both: the batch statistics jumping around
and the running ones settling, and one sample's output moving with its batch-mates in train()
but not in eval().

Builds on: lessons 01 (autograd) and 04 (N, C, H, W image batches).

Run:  python lessons/05_batch_norm.py [--out /tmp/scratchgan_lessons/05]
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
from scratchgan import nn

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 05: batch normalisation")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/05", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="the same lesson (it takes seconds)")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick  # nothing here is slow: quick mode runs the whole lesson
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)
EPS = 1e-5
AXES = (0, 2, 3)  # every axis but the channels

# %% [markdown]
# ## By hand, against F.batch_norm
# Channels with mean about 5 and standard deviation about 2 come out with mean β and standard
# deviation |γ|.

# %%
rng = np.random.default_rng(0)
x = (rng.standard_normal((8, 3, 4, 4)) * 2 + 5).astype(np.float32)
gamma = np.array([1.0, 2.0, 0.5], np.float32)
beta = np.array([0.0, -1.0, 3.0], np.float32)

mean = x.mean(axis=AXES, keepdims=True)
var = x.var(axis=AXES, keepdims=True)  # biased: this is what normalises the batch
by_hand = gamma.reshape(1, 3, 1, 1) * (x - mean) / np.sqrt(var + EPS) + beta.reshape(1, 3, 1, 1)

running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
y = F.batch_norm(sg.tensor(x), running_mean, running_var, sg.tensor(gamma), sg.tensor(beta),
                 training=True, momentum=0.1, eps=EPS)
print(f"input channel means {x.mean(axis=AXES).round(2)}, stds {x.std(axis=AXES).round(2)}")
print(f"output channel means {y.numpy().mean(axis=AXES).round(3)} (= beta), "
      f"stds {y.numpy().std(axis=AXES).round(3)} (≈ |gamma|)")
print(f"max |by hand - F.batch_norm| = {np.abs(by_hand - y.numpy()).max():.1e}")
np.testing.assert_allclose(y.numpy(), by_hand, atol=1e-5)
np.testing.assert_allclose(y.numpy().mean(axis=AXES), beta, atol=1e-5)
np.testing.assert_allclose(y.numpy().std(axis=AXES), np.abs(gamma), rtol=1e-3)

# The running statistics were updated in place, with the UNBIASED variance.
n = x.size // 3
expected_mean = 0.9 * 0 + 0.1 * mean.reshape(3)
expected_var = 0.9 * 1 + 0.1 * var.reshape(3) * n / (n - 1)
print(f"running_mean {running_mean.round(4)}  expected {expected_mean.round(4)}")
print(f"running_var  {running_var.round(4)}  expected {expected_var.round(4)} "
      f"(n/(n-1) = {n}/{n - 1})")
np.testing.assert_allclose(running_mean, expected_mean, rtol=1e-5)
np.testing.assert_allclose(running_var, expected_var, rtol=1e-5)

# %% [markdown]
# ## Running statistics follow the batches, slowly
# nn.BatchNorm2d fed 60 fresh batches of 16 from one distribution (channel means 4 and -2,
# standard deviations 3 and 0.5). Each batch's own statistics scatter; the running ones are their
# moving average, replayed here by the formula from the start values 0 and 1.

# %%
bn = nn.BatchNorm2d(2)
true_mean, true_std = np.array([4.0, -2.0]), np.array([3.0, 0.5])
BATCHES = 60


def draw_batch(size, rng):
    shift, scale = true_mean.reshape(1, 2, 1, 1), true_std.reshape(1, 2, 1, 1)
    return (rng.standard_normal((size, 2, 3, 3)) * scale + shift).astype(np.float32)


rng = np.random.default_rng(1)
batch_means, batch_vars, tracked_mean, tracked_var = [], [], [], []
for _ in range(BATCHES):
    batch = draw_batch(16, rng)
    bn(sg.tensor(batch))
    batch_means.append(batch.mean(axis=AXES))
    batch_vars.append(batch.var(axis=AXES, ddof=1))
    tracked_mean.append(bn.running_mean.numpy().copy())
    tracked_var.append(bn.running_var.numpy().copy())
batch_means, batch_vars = np.array(batch_means), np.array(batch_vars)
tracked_mean, tracked_var = np.array(tracked_mean), np.array(tracked_var)

replay_mean, replay_var = np.zeros(2), np.ones(2)
for t in range(BATCHES):
    replay_mean = 0.9 * replay_mean + 0.1 * batch_means[t]
    replay_var = 0.9 * replay_var + 0.1 * batch_vars[t]
    np.testing.assert_allclose(tracked_mean[t], replay_mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tracked_var[t], replay_var, rtol=1e-4, atol=1e-5)
print(f"\n{BATCHES} batches: running_mean {tracked_mean[-1].round(3)} "
      f"(true {true_mean}), running_var {tracked_var[-1].round(3)} (true {true_std ** 2})")
print(f"num_batches_tracked = {bn.num_batches_tracked.item()}")
assert bn.num_batches_tracked.item() == BATCHES
# After 10 batches a third of the start value (0.9^10 = 0.35) is still in the running mean...
lag = 1 - tracked_mean[9, 0] / true_mean[0]
print(f"after 10 batches the running mean of channel 0 is {lag:.0%} short of the truth "
      f"(0.9^10 = {0.9 ** 10:.0%})")
assert 0.2 < lag < 0.5
# ...and once settled it scatters far less than a single batch's statistics do.
spread_batch = batch_means[30:, 0].std()
spread_running = tracked_mean[30:, 0].std()
print(f"from batch 30 on, channel 0's batch means scatter by {spread_batch:.3f}, "
      f"the running mean by {spread_running:.3f}")
assert spread_running < spread_batch / 2
# How far from the truth may it end? A moving average with weight 0.1 of batch means (each from
# 16·3·3 values) scatters by σ/√144 · √(0.1/1.9); the start's 0.9^60 is all but forgotten.
settled = true_std / np.sqrt(16 * 9) * np.sqrt(0.1 / 1.9)
assert np.all(np.abs(tracked_mean[-1] - true_mean) < 4 * settled + 0.9 ** BATCHES * abs(true_mean))

# %% [markdown]
# ## train() against eval()
# One sample's output in train mode depends on the batch it is in; in eval mode it does not, and
# the running statistics are left alone. And train mode needs more than one value per channel:
# with one, there is no variance to divide by.

# %%
batch = sg.tensor(draw_batch(16, rng))
one_sample = batch[:1]
bn.train()
refused = None
try:
    bn(sg.tensor(np.ones((1, 2, 1, 1), np.float32)))
except ValueError as error:
    refused = error
    print(f"\ntrain() on a single value per channel fails: {error}")
assert refused is not None, "train() with one value per channel should have raised"

alone = bn(batch[:2])[:1].numpy()
in_batch = bn(batch)[:1].numpy()
print(f"train(): sample 0 normalised within 2 vs 16 samples differs by "
      f"{np.abs(alone - in_batch).max():.3f}")
bn.eval()
before = bn.running_mean.numpy().copy()
a, b = bn(one_sample).numpy(), bn(batch)[:1].numpy()
unchanged = np.array_equal(before, bn.running_mean.numpy())
print(f"eval():  sample 0 alone vs in the batch differs by {np.abs(a - b).max():.1e}; "
      f"running_mean unchanged: {unchanged}")
assert np.abs(alone - in_batch).max() > 1e-3 and np.allclose(a, b, atol=1e-6) and unchanged
# eval() is the affine map γ(x - running_mean)/sqrt(running_var + eps) + β (here γ=1, β=0).
rm, rv = bn.running_mean.numpy().reshape(1, 2, 1, 1), bn.running_var.numpy().reshape(1, 2, 1, 1)
np.testing.assert_allclose(a, (one_sample.numpy() - rm) / np.sqrt(rv + EPS), atol=1e-5)

# The same sample in 30 random batches of 8: its output (channel 0, pixel 0) in both modes.
outputs = {"train": [], "eval": []}
for mode in outputs:
    bn.train(mode == "train")
    companions = np.random.default_rng(2)
    for _ in range(30):
        mixed = np.concatenate([one_sample.numpy(), draw_batch(7, companions)])
        outputs[mode].append(bn(sg.tensor(mixed)).numpy()[0, 0, 0, 0])
outputs = {mode: np.array(v) for mode, v in outputs.items()}
print(f"sample 0 in 30 batches: output spread {np.ptp(outputs['train']):.3f} in train(), "
      f"{np.ptp(outputs['eval']):.1e} in eval()")
assert np.ptp(outputs["train"]) > 0.05 and np.ptp(outputs["eval"]) < 1e-6

# %% [markdown]
# ## The figure
# Left: channel 0's batch means (dots) and running mean (line) over the 60 batches, with the
# truth; middle: the same for the variance. Right: one sample's output in 30 different batches,
# train() against eval().

# %%
fig, (ax_m, ax_v, ax_s) = plt.subplots(1, 3, figsize=(15, 4.2))
steps = np.arange(1, BATCHES + 1)
for ax, batch_stat, running, truth, name in (
        (ax_m, batch_means[:, 0], tracked_mean[:, 0], true_mean[0], "mean"),
        (ax_v, batch_vars[:, 0], tracked_var[:, 0], true_std[0] ** 2, "var")):
    ax.plot(steps, batch_stat, ".", color="tab:grey", label=f"this batch's {name}")
    ax.plot(steps, running, "-", color="tab:blue", lw=2, label=f"running_{name}")
    ax.axhline(truth, color="k", ls=":", label=f"true {name}")
    ax.set_xlabel("batches seen (train mode)")
    ax.set_title(f"channel 0: the batch's {name} vs running_{name}")
    ax.legend(loc="lower right")
ax_s.plot(outputs["train"], "o-", label="train(): normalised with its batch-mates")
ax_s.plot(outputs["eval"], "s-", label="eval(): normalised with the running statistics")
ax_s.set_xlabel("a different batch of 8 around the same sample")
ax_s.set_ylabel("the sample's output (channel 0, pixel 0)")
ax_s.set_title("one sample, 30 batches")
low, high = outputs["train"].min(), outputs["train"].max()
ax_s.set_ylim(low - 0.6 * (high - low), high + 0.1 * (high - low))  # room for the legend
ax_s.legend(loc="lower center", fontsize=9)
fig.tight_layout()
figure = OUT / "batch_norm.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Build the layer with `nn.BatchNorm2d(2, momentum=0.5)`: predict how many batches the running
#    mean needs to get within 1 % of the truth (0.5^t < 0.01: 7), and how much more it scatters.
# 2. Draw the companions in the last cell from a distribution with another mean (add 10 to
#    draw_batch's output): the train() curve jumps, the eval() one does not move. This is why a
#    GAN's samples are drawn in eval mode.
# 3. Make draw_batch's images 1×1 (shape (size, 2, 1, 1)) and the loop's batches 2: two values
#    per channel. The running variance still converges to the truth (the n/(n-1) = 2 correction);
#    the biased batch variance (ddof=0) averages to half of it. Plot both.
