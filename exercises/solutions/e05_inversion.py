"""Exercise 05: inverting a generator - the z whose image is a given picture (after lesson 17).

G maps a latent z to an image; inversion goes back, by gradient descent on z through G:

  z* = argmin_z  L(z),   L(z) = mean over every element of (G(z) − target)²

Autograd differentiates G(z) with respect to its input z exactly as with respect to its weights,
so the loop is a training loop whose only parameter is z:

  * z: a Tensor (N, latent_dim) that requires grad, started from N(0, 1) (seeded), and the
    only thing Adam updates (``optim.Adam([z], lr=lr)``).
  * G frozen: its weights must not change, and need no gradient (``G.requires_grad_(False)``
    saves computing them); G in eval mode (``G.eval()``): batch norm then uses its running
    statistics, as when G drew the target, instead of this batch's. Give G back as it came:
    ``G.train(was_training)`` and ``G.requires_grad_(True)`` at the end.
  * each step: loss, zero_grad, backward, step.

Grade it:  pytest exercises/test_e05_inversion.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import optim


def reconstruction_loss(G, z, target):
    """L(z) = mean((G(z) − target)²) over every element, a scalar Tensor differentiable in z.
    z: Tensor (N, latent_dim); target: Tensor of G(z)'s shape (N, ...)."""
    return ((G(z) - target) ** 2).mean()


def invert(G, target, latent_dim, steps=300, lr=0.05, seed=0):
    """z (N, latent_dim), a float32 NumPy array, with G(z) ≈ target (a Tensor (N, ...)):
    ``steps`` Adam steps of learning rate ``lr`` on z from a seeded N(0, 1) start, minimising
    ``reconstruction_loss``, G frozen and in eval mode, and given back as it came."""
    start = np.random.default_rng(seed).standard_normal((target.shape[0], latent_dim))
    z = sg.tensor(start.astype(np.float32), requires_grad=True)
    optimizer = optim.Adam([z], lr=lr)
    was_training = G.training
    G.eval().requires_grad_(False)
    try:
        for _ in range(steps):
            loss = reconstruction_loss(G, z, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        G.train(was_training)
        G.requires_grad_(True)
    return z.numpy()
