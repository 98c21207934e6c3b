"""Exercise 03: the two updates of a GAN's training step (after lesson 08, a GAN by hand).

D outputs a logit (no sigmoid at its end); both losses are binary cross-entropy on logits,
``F.binary_cross_entropy_with_logits(logits, targets)``, the mean over the batch:

  D step:  L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)       D learns to tell real from fake
  G step:  L_G = BCE(D(G(z)), 1) = −mean log σ(D(G(z)))   G learns to make D say "real"

What the grader checks, one test each:
  * Each step is zero_grad, backward, step on its own network's optimiser, so that the update
    is exactly that loss's gradient: whatever gradients an earlier step left behind must go.
  * The D step feeds D the fakes *detached* (``G(z).detach()``): D's loss must not reach G's
    parameters (their ``.grad`` stays None) - lesson 08 says why.
  * The G loss is the non-saturating one above, not the minimax log(1 − σ(D(G(z)))) that the
    original game writes: when D rejects the fakes easily the minimax gradient vanishes.
  * Put together (``train`` below, written for you), they move a 1-D generator's samples onto
    the data within a few hundred steps.

Run this file to watch the 1-D GAN learn:  python exercises/e03_gan_steps.py
Grade it:  pytest exercises/test_e03_gan_steps.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import functional as F
from scratchgan import nn, optim


def discriminator_step(G, D, opt_D, real, z):
    """One update of D on real samples ``real`` (N, ...) and fakes G(z), z (N, latent_dim).

    Minimises L_D = BCE(D(real), 1) + BCE(D(G(z)), 0), the fakes detached from G, through
    ``opt_D`` (an optimiser over D's parameters). Returns L_D before the update, as a float.
    """
    fake = G(z).detach()  # D's loss stops here: G gets no gradient from it
    real_logits, fake_logits = D(real), D(fake)
    loss = (F.binary_cross_entropy_with_logits(real_logits, sg.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, sg.zeros_like(fake_logits)))
    opt_D.zero_grad()
    loss.backward()
    opt_D.step()
    return loss.item()


def generator_step(G, D, opt_G, z):
    """One update of G on noise z (N, latent_dim): minimises the non-saturating
    L_G = BCE(D(G(z)), 1) = −mean log σ(D(G(z))) through ``opt_G`` (an optimiser over G's
    parameters), D unchanged. Returns L_G before the update, as a float."""
    logits = D(G(z))
    loss = F.binary_cross_entropy_with_logits(logits, sg.ones_like(logits))
    opt_G.zero_grad()
    loss.backward()
    opt_G.step()
    return loss.item()


# -- written for you: a 1-D GAN that uses your two steps --
def gan_1d(seed=0):
    """G: z (N, 1) -> a·z + b (one Linear layer: it can draw any normal distribution);
    D: a small MLP on one number."""
    sg.seed(seed)
    G = nn.Linear(1, 1)
    D = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2),
                      nn.Linear(16, 1))
    return G, D


def train(G, D, steps=400, mean=3.0, std=0.5, batch=64, lr=0.01, seed=0, log=None):
    """Train G to draw N(mean, std²) with your two steps; returns G's samples' mean and std
    at every step (steps, 2)."""
    rng = np.random.default_rng(seed)
    opt_D = optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_G = optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    history = []
    for step in range(steps):
        real = sg.tensor(rng.normal(mean, std, (batch, 1)).astype(np.float32))
        loss_D = discriminator_step(G, D, opt_D, real, sg.randn(batch, 1))
        loss_G = generator_step(G, D, opt_G, sg.randn(batch, 1))
        b, a = G.bias.item(), G.weight.item()  # G(z) = a·z + b ~ N(b, a²)
        history.append((b, abs(a)))
        if log and (step + 1) % log == 0:
            print(f"step {step + 1:4d}  L_D {loss_D:.3f}  L_G {loss_G:.3f}  "
                  f"G draws mean {b:+.2f} std {abs(a):.2f}  (data: {mean} and {std})")
    return np.array(history)


if __name__ == "__main__":
    train(*gan_1d(), log=50)
