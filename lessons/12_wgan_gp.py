"""Lesson 09: WGAN-GP - a loss that contains a gradient, trained with a gradient of a gradient.

A Wasserstein GAN's critic D scores images (no sigmoid) and maximises D(real) - D(fake). That
difference estimates the Wasserstein distance only if D is 1-Lipschitz. WGAN-GP (Gulrajani et
al. 2017) asks for it softly: at random points x̂ between real and fake images, the gradient
of D with respect to its input should have norm 1:

    x̂ = ε·x_real + (1 - ε)·x_fake,  ε ~ U(0, 1) per sample
    penalty = mean_i (‖∇_x̂ D(x̂_i)‖ - 1)²
    critic loss = mean D(fake) - mean D(real) + λ·penalty,   λ = 10

``grad(D(x̂).sum(), x̂, create_graph=True)`` computes all the per-sample gradients in one
backward pass: the samples do not interact, so d(Σ_j D(x̂_j))/dx̂_i = ∇D(x̂_i). (That is also
why the critic has no batch norm: it would couple the samples.) ``create_graph=True`` records
that backward pass as a graph, so the penalty is a differentiable function of the critic's
weights, and ``penalty.backward()`` differentiates through a derivative: second-order autograd.

The lesson checks that second-order gradient against finite differences, trains a critic on the
penalty alone (it falls to ~0: the slope is driven to 1), then runs WGAN-GP next to the same
WGAN without the penalty: unconstrained, the critic's slope grows without limit.

Run:  python lessons/09_wgan_gp.py [--critic-steps 500] [--quick]
"""
import argparse
import os
import time

import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn, optim
from scratchgan.data import BatchIterator, mnist_dataset

NOISE, LAMBDA = 64, 10.0


def gradient_penalty(critic, x_hat, create_graph=True):
    """mean (‖∇D(x̂_i)‖ - 1)² over the batch; x̂ must require grad."""
    (g,) = sg.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    norms = ((g * g).sum(axis=tuple(range(1, g.ndim))) + 1e-12).sqrt()  # eps: sqrt'(0) is infinite
    return ((norms - 1.0) ** 2).mean(), norms


def interpolate(real, fake):
    eps = sg.tensor(B.uniform((real.shape[0],) + (1,) * (real.ndim - 1)))
    mix = eps * real + (1.0 - eps) * fake.detach()
    return mix.detach().requires_grad_()  # a fresh leaf: we want gradients w.r.t. x̂ itself


class PenaltyOf(nn.Module):
    """The penalty as a Module of x̂, so that gradcheck checks it w.r.t. x̂ and every critic
    weight."""

    def __init__(self, critic):
        super().__init__()
        self.critic = critic

    def forward(self, x_hat):
        return gradient_penalty(self.critic, x_hat)[0]


def second_order_checks():
    sg.seed(1)
    # Smooth activations: finite differences straddling a LeakyReLU kink would be meaningless.
    tiny = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Tanh(), nn.Linear(6, 1))
    x_hat = sg.tensor(B.normal((3, 1, 3, 4))).requires_grad_()

    without = gradient_penalty(tiny, x_hat, create_graph=False)[0]
    with_graph = gradient_penalty(tiny, x_hat, create_graph=True)[0]
    print(f"penalty without create_graph: requires_grad={without.requires_grad} - "
          "a constant, useless as a loss")
    print(f"penalty with create_graph:    requires_grad={with_graph.requires_grad}, "
          f"grad_fn={type(with_graph.creator).__name__}")
    print(f"gradcheck(penalty) w.r.t. x̂ and the {len(tiny.parameters())} critic tensors "
          f"(second derivatives of D) -> {sg.gradcheck(PenaltyOf(tiny), [x_hat])}\n")


def build(n_images):
    G = nn.Sequential(nn.Linear(NOISE, 256), nn.ReLU(), nn.Linear(256, 784), nn.Tanh(),
                      nn.Reshape(1, 28, 28))
    D = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(0.2),
                      nn.Linear(256, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1))
    images, _ = mnist_dataset(limit=n_images)
    return G, D, images


def batches_forever(images, batch_size):
    loader = BatchIterator(images, batch_size, seed=0)
    while True:
        yield from loader


def the_penalty_alone(steps):
    """Minimise λ·penalty and nothing else: the second-order gradient drives ‖∇D(x̂)‖ to 1."""
    sg.seed(0)
    _, D, images = build(256)
    real = sg.tensor(images[:64])
    fake = sg.tensor(B.uniform(real.shape) * 2 - 1)
    opt = optim.Adam(D.parameters(), lr=1e-3)
    history = []
    for step in range(steps + 1):
        penalty, norms = gradient_penalty(D, interpolate(real, fake))
        history.append(penalty.item())
        if step % 5 == 0:
            print(f"  step {step:3d}: penalty {penalty.item():.4f}, "
                  f"mean ‖∇D(x̂)‖ {norms.mean().item():.3f}")
        opt.zero_grad()
        (LAMBDA * penalty).backward()  # d penalty / d weights: through the recorded backward pass
        opt.step()
    assert history[-1] < 0.1 * history[0], "minimising the penalty alone should drive it towards 0"


def train(lam, critic_steps, n_critic=5, batch_size=64):
    """WGAN(-GP) with penalty weight ``lam``; (penalty, mean ‖∇D(x̂)‖, W estimate) per critic
    step."""
    sg.seed(0)  # both runs start from the same networks and see the same batches
    G, D, images = build(2048)
    # The paper's Adam settings for WGAN-GP: no first-moment momentum, beta2 = 0.9.
    opt_D = optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    opt_G = optim.Adam(G.parameters(), lr=1e-4, betas=(0.0, 0.9))
    batches, history = batches_forever(images, batch_size), []

    for step in range(1, critic_steps + 1):
        real = sg.tensor(next(batches))
        with sg.no_grad():  # the critic step does not train G: no graph through G needed
            fake = G(sg.tensor(B.normal((batch_size, NOISE))))

        penalty, norms = gradient_penalty(D, interpolate(real, fake))
        wasserstein = D(real).mean() - D(fake).mean()
        loss_D = -wasserstein + lam * penalty
        opt_D.zero_grad()
        loss_D.backward()  # through the penalty's recorded backward pass: second order
        opt_D.step()
        history.append((penalty.item(), norms.mean().item(), wasserstein.item()))

        if step % n_critic == 0:  # one generator step per n_critic critic steps
            loss_G = -D(G(sg.tensor(B.normal((batch_size, NOISE))))).mean()
            opt_G.zero_grad()
            loss_G.backward()
            opt_G.step()
    return np.array(history)


def with_and_without_the_penalty(steps):
    start = time.perf_counter()
    gp, plain = train(LAMBDA, steps), train(0.0, steps)
    print(f"  ({2 * steps} critic steps in {time.perf_counter() - start:.0f} s)\n")
    print(f"  {'critic step':>11s} | {'WGAN-GP: penalty':>16s} {'‖∇D‖':>6s} {'W':>7s} | "
          f"{'no penalty: ‖∇D‖':>16s} {'W':>7s}")
    for i in sorted(set(range(0, steps, max(1, steps // 10))) | {steps - 1}):
        print(f"  {i + 1:11d} | {gp[i, 0]:16.4f} {gp[i, 1]:6.2f} {gp[i, 2]:7.2f} | "
              f"{plain[i, 1]:16.2f} {plain[i, 2]:7.2f}")
    assert np.isfinite(gp).all()
    # Unconstrained, the critic sharpens without limit; the penalty holds its slope near 1.
    assert plain[-1, 1] > 3 * gp[-1, 1] and gp[-1, 1] < 2.5
    return gp


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--critic-steps", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="fewer steps (for tests)")
    args = parser.parse_args()
    quick = args.quick or os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
    steps = 150 if quick else args.critic_steps

    second_order_checks()
    print("training a critic on the gradient penalty alone (real digits vs uniform noise):")
    the_penalty_alone(20)
    print(f"\nWGAN-GP (λ = {LAMBDA:g}) against the same WGAN without the penalty (λ = 0), "
          "one G step per 5 critic steps:")
    gp = with_and_without_the_penalty(steps)
    peak = int(gp[:, 0].argmax())
    print(f"\nWith the penalty, ‖∇D‖ overshoots 1 while the Wasserstein term pulls the critic "
          f"apart, peaks (penalty {gp[peak, 0]:.3f} at step {peak + 1}), then is pulled back "
          f"(penalty {gp[-1, 0]:.3f} at step {steps}). Without it, nothing stops the slope "
          "from growing.")


if __name__ == "__main__":
    main()
