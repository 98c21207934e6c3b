"""Grades exercise 03: discriminator_step and generator_step (lesson 08)."""
import numpy as np
import pytest

import scratchgan as sg
from grading import assert_close
from scratchgan import functional as F
from scratchgan import nn, optim

EXERCISE = "e03_gan_steps"
LR = 0.1


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, sg.full_like(logits, target))


@pytest.fixture
def game():
    """A small G (2 -> 3) and D (3 -> 1), a real batch and two batches of noise."""
    sg.seed(1)
    G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    D = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    real = sg.randn(5, 3) + 1.0
    return G, D, real, sg.randn(5, 2), sg.randn(5, 2)


def values(module):
    return [p.numpy().copy() for p in module.parameters()]


def leave_old_gradients(module):
    """Gradients as an earlier step would have left them in .grad."""
    for p in module.parameters():
        p.grad = sg.full_like(p, 0.37)


def check_update(before, module, grads, who):
    """The parameters moved by exactly −LR · grads (plain SGD), or a message that says how not."""
    after = values(module)
    expected = [-LR * g.numpy() for g in grads]
    moved = [a - b for a, b in zip(after, before)]
    if all(np.allclose(m, 0) for m in moved):
        raise AssertionError(f"{who}'s parameters did not change: call opt_{who}.step() after "
                             "loss.backward()")
    if all(np.allclose(m, e - LR * 0.37, rtol=1e-4, atol=1e-6) for m, e in zip(moved, expected)):
        raise AssertionError(f"{who}'s update added the gradients an earlier step had left in "
                             f".grad: call opt_{who}.zero_grad() before loss.backward()")
    for (name, _), m, e in zip(module.named_parameters(), moved, expected):
        assert_close(m, e, f"the change of {who}'s {name} under SGD(lr={LR}): −lr · ∇L_{who}",
                     f"L_{who} is not the loss of the docstring, or it did not reach {who}",
                     rtol=1e-4, atol=1e-6)


def test_discriminator_step_returns_its_loss(exercise, game):
    G, D, real, z, _ = game
    with sg.no_grad():
        expected = (bce(D(real), 1.0) + bce(D(G(z)), 0.0)).item()
    got = exercise.discriminator_step(G, D, optim.SGD(D.parameters(), lr=LR), real, z)
    assert isinstance(got, float), f"return the loss as a float (loss.item()), got {type(got)}"
    assert_close(got, expected, "L_D = BCE(D(real), 1) + BCE(D(G(z)), 0), before the update",
                 "targets 1 for the real batch, 0 for the fakes; the two BCEs added", rtol=1e-5)


def test_discriminator_step_updates_D_by_the_gradient_of_its_loss(exercise, game):
    G, D, real, z, _ = game
    with sg.no_grad():
        fake = G(z)
    grads = sg.grad(bce(D(real), 1.0) + bce(D(fake), 0.0), D.parameters())
    before = values(D)
    leave_old_gradients(D)
    exercise.discriminator_step(G, D, optim.SGD(D.parameters(), lr=LR), real, z)
    check_update(before, D, grads, "D")


def test_discriminator_step_leaves_G_alone(exercise, game):
    G, D, real, z, _ = game
    before = values(G)
    exercise.discriminator_step(G, D, optim.SGD(D.parameters(), lr=LR), real, z)
    reached = [name for name, p in G.named_parameters() if p.grad is not None]
    assert not reached, (f"D's loss reached G's parameters {reached}: feed D the fakes detached, "
                         "D(G(z).detach()), so that backward stops at the fake images")
    assert all(np.array_equal(b, a) for b, a in zip(before, values(G))), \
        "the D step changed G's parameters"


def test_generator_step_returns_the_non_saturating_loss(exercise, game):
    G, D, _, _, z = game
    with sg.no_grad():
        logits = D(G(z))
        expected = bce(logits, 1.0).item()       # −mean log σ(l)
        minimax = -bce(logits, 0.0).item()       # mean log(1 − σ(l))
    got = exercise.generator_step(G, D, optim.SGD(G.parameters(), lr=LR), z)
    assert isinstance(got, float), f"return the loss as a float (loss.item()), got {type(got)}"
    if np.isclose(got, minimax, rtol=1e-5):
        raise AssertionError(f"L_G = {got:.5f} is the minimax loss mean log(1 − σ(D(G(z)))); "
                             "use the non-saturating −mean log σ(D(G(z))) = BCE(D(G(z)), 1)")
    assert_close(got, expected, "L_G = BCE(D(G(z)), 1) = −mean log σ(D(G(z))), before the update",
                 "the fakes with target 1: G wants D to call them real", rtol=1e-5)


def test_generator_step_updates_G_by_the_gradient_of_its_loss(exercise, game):
    G, D, _, _, z = game
    grads = sg.grad(bce(D(G(z)), 1.0), G.parameters())
    before, before_D = values(G), values(D)
    leave_old_gradients(G)
    exercise.generator_step(G, D, optim.SGD(G.parameters(), lr=LR), z)
    check_update(before, G, grads, "G")
    assert all(np.array_equal(b, a) for b, a in zip(before_D, values(D))), \
        "the G step changed D's parameters: only opt_G steps in it"


def test_training_moves_G_onto_the_data(exercise):
    G, D = exercise.gan_1d(seed=0)
    history = exercise.train(G, D, steps=400, mean=3.0, std=0.5, seed=0)
    means = history[:, 0]
    late = means[-50:].mean()
    trace = ", ".join(f"{m:.2f}" for m in means[49::50])
    assert abs(late - 3.0) < 0.3, (
        f"after 400 steps G's samples have mean {late:.2f}, the data 3.0 (every 50 steps: "
        f"{trace}): the steps pass the tests above but do not train together?")
