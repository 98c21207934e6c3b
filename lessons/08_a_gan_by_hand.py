"""Lesson 07: a GAN training loop, every line of it written out.

Two networks play a game. The discriminator D gets real MNIST digits and the generator's fakes
and learns to tell them apart; the generator G turns random noise z into images and learns to
make D call them real. One training step is two optimiser steps:

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

The networks are small multi-layer perceptrons over flattened 28×28 images, built here from
scratchgan.nn layers (``scratchgan.models.build("mlp")`` packages a wider pair); the images are
scaled to [-1, 1] so that G can end in tanh. Default: 10000 steps on 20000 images, two to three
minutes on two CPU cores; the samples are then recognisable, slightly speckled digits (after 3000
steps they are noisy strokes). Samples from fixed noise are saved as PNG grids.

Run:  python lessons/07_a_gan_by_hand.py [--steps 10000] [--out /tmp/scratchgan_lessons/07]
                                         [--quick]
"""
import argparse
import os
import time
from pathlib import Path

import numpy as np
from matplotlib.image import imsave

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn, optim
from scratchgan.data import BatchIterator, mnist_dataset

NOISE = 64


def generator():
    return nn.Sequential(nn.Linear(NOISE, 256), nn.LeakyReLU(0.2),
                         nn.Linear(256, 512), nn.LeakyReLU(0.2),
                         nn.Linear(512, 784), nn.Tanh())


def discriminator():
    # No sigmoid at the end: D returns a logit, the loss applies σ inside its stable formula.
    return nn.Sequential(nn.Linear(784, 512), nn.LeakyReLU(0.2),
                         nn.Linear(512, 256), nn.LeakyReLU(0.2),
                         nn.Linear(256, 1))


def saturation_demo():
    logits = sg.tensor([-6.0, -3.0, 0.0, 3.0], requires_grad=True)  # D confident "fake" ... "real"
    (minimax,) = sg.grad(F.log(1 - F.sigmoid(logits)).sum(), logits)  # G minimises this
    (non_saturating,) = sg.grad(-F.log_sigmoid(logits).sum(), logits)  # ... or this
    print(f"D's logit on a fake:            {logits.numpy()}")
    print(f"grad of log(1 - σ(l)) (minimax): {np.round(minimax.numpy(), 3)}  "
          "<- vanishes where G is bad")
    print(f"grad of -log σ(l) (non-sat.):    {np.round(non_saturating.numpy(), 3)}\n")


def save_grid(images, path, rows=8):
    """(N, 784) or (N, 1, 28, 28) in [-1, 1] -> one PNG of rows × rows digits."""
    digits = B.to_numpy(images.array if isinstance(images, sg.Tensor)
                        else images).reshape(-1, 28, 28)
    digits = digits[:rows * rows].reshape(rows, rows, 28, 28)
    grid = digits.transpose(0, 2, 1, 3).reshape(rows * 28, rows * 28)  # rows of digits side by side
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, grid, cmap="gray", vmin=-1, vmax=1)


def train(steps, n_images, batch_size, out, log_every):
    sg.seed(0)
    G, D = generator(), discriminator()
    # Adam with beta1 = 0.5 (DCGAN's choice): less momentum suits a target that keeps moving.
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    images, _ = mnist_dataset(limit=n_images)               # (N, 1, 28, 28) in [-1, 1]
    batches = BatchIterator(images, batch_size, seed=0)     # shuffled, on the active backend
    real_label = sg.tensor(B.xp.ones((batch_size, 1), dtype=B.DTYPE))
    fake_label = sg.tensor(B.xp.zeros((batch_size, 1), dtype=B.DTYPE))
    fixed_noise = sg.tensor(B.normal((64, NOISE)))          # the same z for every snapshot
    save_grid(images, out / "real.png")
    with sg.no_grad():
        save_grid(G(fixed_noise), out / "step_00000.png")

    step, start, epoch = 0, time.perf_counter(), iter(())
    while step < steps:
        batch = next(epoch, None)
        if batch is None:                                    # a new shuffled pass over the data
            epoch = iter(batches)
            continue
        real = sg.tensor(batch.reshape(batch_size, 784))     # the MLP sees flat vectors
        fake = G(sg.tensor(B.normal((batch_size, NOISE))))

        # D step: push D(real) up and D(fake) down. detach(): this loss stops at the fake images.
        d_real, d_fake = D(real), D(fake.detach())
        loss_D = (F.binary_cross_entropy_with_logits(d_real, real_label)
                  + F.binary_cross_entropy_with_logits(d_fake, fake_label))
        opt_D.zero_grad()
        loss_D.backward()
        opt_D.step()

        # G step: through the *updated* D, all the way back into G. D's parameters get gradients
        # too; they are never applied, and opt_D.zero_grad() clears them before the next D step.
        loss_G = F.binary_cross_entropy_with_logits(D(fake), real_label)
        opt_G.zero_grad()
        loss_G.backward()
        opt_G.step()

        step += 1
        if step % log_every == 0 or step == steps:
            p_real = F.sigmoid(d_real).mean().item()
            p_fake = F.sigmoid(d_fake).mean().item()
            print(f"step {step:5d}  loss_D {loss_D.item():.3f}  loss_G {loss_G.item():.3f}  "
                  f"D(real) {p_real:.2f}  D(fake) {p_fake:.2f}  "
                  f"({time.perf_counter() - start:.0f} s)")
    with sg.no_grad():
        save_grid(G(fixed_noise), out / f"step_{step:05d}.png")
    return loss_D.item(), loss_G.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--images", type=int, default=20000, help="MNIST training images to use")
    parser.add_argument("--out", type=Path, default=Path("/tmp/scratchgan_lessons/07"))
    parser.add_argument("--quick", action="store_true", help="a handful of steps (for tests)")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
    steps, n_images, log_every = (5, 256, 1) if quick else (args.steps, args.images, 500)

    saturation_demo()
    losses = train(steps, n_images, batch_size=64, out=args.out, log_every=log_every)
    assert all(np.isfinite(losses)), f"training diverged: losses {losses}"
    print(f"\nsample grids in {args.out}: real.png, step_00000.png (untrained), "
          f"step_{steps:05d}.png (after training)")


if __name__ == "__main__":
    main()
