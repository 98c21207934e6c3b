"""Lesson 11: the same DCGAN step on a GPU - CuPy, and how to time it honestly.

Lesson 06 showed the switch: CuPy copies NumPy's API, so scratchgan's ops run on whichever array
library owns their data, and ``module.to("cupy")`` moves a network to the GPU. Here we move lesson
10's whole DCGAN training step there and ask two questions:

  1. Is it the same computation? From identical weights, the same real batch and the same noise,
     both backends must give the same losses and gradients, up to float32 rounding (a GPU adds in
     another order). The noise is drawn on the host and handed to both: each backend's own
     random generator draws different numbers. (The networks are built as scratchgan.run builds
     them, without dropout in D, so no random masks come into it.)
  2. How much faster is it? A GPU runs asynchronously: a CuPy call returns as soon as the work is
     queued, so a clock read right after it measures almost nothing. Time a step as
         synchronize; t0 = clock; train_step; synchronize; t1 = clock
     leave out the first few steps (the first calls compile CuPy's kernels and fill its memory
     pool: one-time costs), and report the median, which one slow step cannot move.

On a machine with an NVIDIA GPU and CuPy the lesson also trains the DCGAN for the same number of
seconds on each backend and shows both sample grids: the speed-up turned into training steps.
Without CuPy or without a GPU, ``scratchgan.get_backend("cupy")`` raises a ``BackendError`` that
says which is missing; the lesson prints it, times the NumPy step alone, still saves its figure
and ends normally.

Builds on: lesson 06 (backends, BackendError) and lesson 10 (the DCGAN, GANTrainer, run.train).

Run:  python lessons/11_dcgan_on_a_gpu.py [--steps 10] [--seconds 20] [--width 64] [--out DIR]
                                          [--quick]
"""
# %%
import argparse
import os
import sys
import textwrap
import time
from itertools import cycle
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan.data import BatchIterator, mnist_dataset
from scratchgan.losses import get_loss
from scratchgan.run import TrainConfig, build_models, noise, train
from scratchgan.trainer import GANTrainer, thread_policy
from scratchgan.viz import image_grid

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 11: the DCGAN on a GPU")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/11", help="folder for the figure")
parser.add_argument("--quick", action="store_true",
                    help="a width-16 DCGAN, a few steps, a few seconds (for tests)")
parser.add_argument("--steps", type=int, default=10, help="timed steps per backend")
parser.add_argument("--warmup", type=int, default=3, help="steps run before timing starts")
parser.add_argument("--seconds", type=float, default=20,
                    help="training time per backend for the step-count race (GPU only)")
parser.add_argument("--width", type=int, default=64,
                    help="lesson 10's DCGAN width w (G: 4w, 2w, w channels); 64 is the tutorial's")
parser.add_argument("--batch-size", type=int, default=64)
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
steps, warmup, seconds, width = args.steps, args.warmup, args.seconds, args.width
if QUICK:
    steps, warmup, seconds, width = 3, 1, 3.0, 16
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
# Lesson 10's DCGAN as scratchgan.run builds it: width w, no dropout in D.
options = dict(width=width, dropout=0.0)
print(f"DCGAN width {width}: G channels {(4 * width, 2 * width, width)}, D {(width, 2 * width)}; "
      f"batches of {args.batch_size}")

# %% Is there a GPU?
# get_backend("cupy") imports CuPy and asks CUDA for a device; it switches nothing. Every way it
# can fail is a BackendError with a one-line reason (not installed / no driver / no device).
try:
    gpu = sg.get_backend("cupy")
except sg.BackendError as e:
    gpu, skip_reason = None, str(e)
    print(f"no GPU: {skip_reason}")
    print("The GPU half of this lesson is skipped; the NumPy step is still timed below.")
else:
    skip_reason = None
    device = gpu.xp.cuda.Device()
    name = gpu.xp.cuda.runtime.getDeviceProperties(device.id)["name"]
    print(f"CuPy {gpu.xp.__version__} sees GPU {device.id}: "
          f"{name.decode() if isinstance(name, bytes) else name}")
backends = ["numpy"] + (["cupy"] if gpu is not None else [])

# %% The same step, on both backends
# One D loss and one G loss with their gradients, written as GANTrainer.train_step computes them
# (lesson 10), but with z given, so that both backends see the same noise. The models are built
# on the host from one seed (run.build_models), then moved: identical starting weights.
bce = get_loss("bce")


def losses_and_gradients(G, D, real, z):
    fake = G(z)
    d_loss, _ = bce.discriminator(D, real, fake.detach())
    D.zero_grad()
    d_loss.backward()
    d_grads = [B.to_numpy(p.grad.array) for p in D.parameters()]
    D.zero_grad()
    g_loss = bce.generator(D, fake)
    G.zero_grad()
    g_loss.backward()
    g_grads = [B.to_numpy(p.grad.array) for p in G.parameters()]
    return d_loss.item(), g_loss.item(), d_grads + g_grads


images, _ = mnist_dataset(limit=max(2048, 4 * args.batch_size))
real_host = images[:args.batch_size]
z_host = noise(args.batch_size, 100, seed=0)
G, D = build_models("dcgan", 100, options, seed=0)
results = {}
for name in backends:
    G.to(name), D.to(name)  # in place; a no-op for the backend the data is already on
    results[name] = losses_and_gradients(G, D, sg.tensor(real_host).to(name),
                                         sg.tensor(z_host).to(name))
    print(f"{name:5s}: D loss {results[name][0]:.6f}, G loss {results[name][1]:.6f}")
if gpu is not None:
    (d0, g0, grads0), (d1, g1, grads1) = results["numpy"], results["cupy"]
    worst = max(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30)
                for a, b in zip(grads0, grads1))
    print(f"largest relative difference of a gradient tensor, NumPy vs CuPy: {worst:.1e} "
          "(float32, another summation order)")
    assert abs(d0 - d1) < 1e-4 * max(1, abs(d0)) and abs(g0 - g1) < 1e-4 * max(1, abs(g0))
    assert worst < 1e-3, "the two backends should compute the same step"
    print("the same losses and gradients on both backends: the same computation.")
else:
    print("(on a GPU the same losses and gradients would be computed by CuPy and compared)")

# %% Timing a training step
# Now the real thing: GANTrainer.train_step (z drawn by the backend, both Adam updates) on
# batches that already live on the backend (BatchIterator moves the images once), as
# scratchgan.run does.


def time_steps(name, steps, warmup):
    backend = B.get_backend(name)
    G, D = build_models("dcgan", 100, options, seed=0)
    G.to(name), D.to(name)
    backend.seed(1)  # z
    if name == "numpy":  # the CPU threads' policy a run would choose for convolutional nets
        B.set_num_threads(B.get_num_threads(), by=thread_policy(G, D))
    trainer = GANTrainer(G, D, latent_dim=100)
    batches = cycle(BatchIterator(images, args.batch_size, seed=0, backend=name))
    times, stats = [], None
    for _ in range(warmup + steps):
        real = next(batches)
        backend.synchronize()  # nothing queued from before may land in this step's time
        start = time.perf_counter()
        stats = trainer.train_step(real)
        backend.synchronize()  # wait for the GPU to finish the step before reading the clock
        times.append(time.perf_counter() - start)
    assert np.isfinite(list(stats.values())).all()
    return 1e3 * np.array(times)  # milliseconds


timings = {name: time_steps(name, steps, warmup) for name in backends}
median = {name: float(np.median(t[warmup:])) for name, t in timings.items()}
for name, t in timings.items():
    print(f"{name:5s}: median {median[name]:8.2f} ms per step over {steps} steps "
          f"(min {t[warmup:].min():.2f}, max {t[warmup:].max():.2f}); the {warmup} warm-up "
          f"steps took {', '.join(f'{v:.1f}' for v in t[:warmup])} ms and are left out")
speedup = median["numpy"] / median["cupy"] if gpu is not None else None
if gpu is not None:
    assert speedup > 1, f"CuPy was not faster than NumPy here ({speedup:.2f}x)"
    print(f"CuPy is {speedup:.1f}x faster per step than NumPy on this machine "
          f"({B.get_num_threads()} CPU threads)")

# %% The same seconds of training on each backend (GPU only)
# What the speed-up buys: scratchgan.run.train with a time budget, once per backend, from the same
# seed, with the run's defaults (the grids come from the moving average of G, lesson 10). CuPy's
# kernels are compiled by now (the timing above ran them), so its budget is spent on training.
race = {}
if gpu is not None:
    for name in backends:
        result = train(TrainConfig(model="dcgan", width=width, epochs=1000,
                                   minutes=seconds / 60, batch_size=args.batch_size,
                                   out=str(out / f"race_{name}"), overwrite=True, backend=name,
                                   progress=False))
        race[name] = (result.step, result.trainer.generate(noise(64, 100, seed=123)))
        print(f"{name:5s}: {result.step} training steps in {seconds:g} s")
    assert race["cupy"][0] > race["numpy"][0]
    print(f"in the same {seconds:g} s CuPy made {race['cupy'][0] / race['numpy'][0]:.1f}x as many "
          f"steps as NumPy (the per-step speed-up above: {speedup:.1f}x)")
else:
    print("the fixed-time race between the backends needs a GPU: skipped")

# %% The figure: per-step times, medians, and (on a GPU) what each backend drew in the same time
columns = 4 if race else 2
fig, axes = plt.subplots(1, columns, figsize=(4.2 * columns, 3.8))
colours = {"numpy": "tab:blue", "cupy": "tab:green"}
for name, t in timings.items():
    axes[0].plot(np.arange(1, len(t) + 1), t, "o-", color=colours[name], label=name)
axes[0].axvspan(0.5, warmup + 0.5, color="0.85", label="warm-up (left out)")
axes[0].set_yscale("log")
axes[0].set_xlabel("step")
axes[0].set_ylabel("ms per train_step (synchronised)")
axes[0].set_title("every step timed")
axes[0].legend(fontsize=8)
axes[1].bar(list(median), list(median.values()), color=[colours[n] for n in median])
axes[1].set_ylabel("median ms per step")
for x, value in enumerate(median.values()):
    axes[1].text(x, value, f"{value:.1f} ms", ha="center", va="bottom")
if gpu is not None:
    axes[1].set_title(f"CuPy {speedup:.1f}x faster")
else:
    axes[1].set_title("NumPy only: no GPU here")
    axes[1].text(0.5, 0.5, "CuPy skipped:\n" + textwrap.fill(skip_reason, 36),
                 transform=axes[1].transAxes, ha="center", va="center", fontsize=7,
                 bbox=dict(facecolor="white", edgecolor="0.6"))
for ax, name in zip(axes[2:], race):
    ax.imshow(image_grid(race[name][1]), cmap="gray")
    ax.set_title(f"{name}: {race[name][0]} steps in {seconds:g} s")
    ax.axis("off")
fig.tight_layout()
figure = out / "dcgan_on_a_gpu.png"
fig.savefig(figure, dpi=100)
plt.close(fig)
print(f"figure: {figure}")

# %% Try this
# 1. On a GPU, run with --batch-size 512 (8x the images per step). Predict first: does each
#    backend's time per step grow 8x? (Hint: how busy is a GPU with 64 small images?)
# 2. In time_steps, delete the second backend.synchronize() and time G(z) alone instead of a
#    train_step (no .item(), no host copy). On a GPU the "time" drops to the cost of queueing
#    the kernels: why is that number meaningless?
# 3. Run with --width 16: the model does about 16x less arithmetic. Which backend's step gets
#    faster by more, and what does that say about where a small model's GPU time goes?
