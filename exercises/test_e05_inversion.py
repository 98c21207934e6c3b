"""Grades exercise 05: reconstruction_loss and invert (lesson 17)."""
import numpy as np

import scratchgan as sg
from grading import assert_close
from scratchgan import nn

EXERCISE = "e05_inversion"
LATENT = 4


def generator(batch_norm=False):
    """A small fixed G: z (N, 4) -> an 'image' of 64 values in (−1, 1); in train mode, as a
    generator is during training. With batch norm, running statistics unlike any one batch's."""
    sg.seed(3)
    middle = [nn.BatchNorm1d(32)] if batch_norm else []
    G = nn.Sequential(nn.Linear(LATENT, 32), *middle, nn.Tanh(), nn.Linear(32, 64), nn.Tanh())
    if batch_norm:
        G[1].running_mean.array[:] = np.random.default_rng(0).normal(0, 1, 32)
        G[1].running_var.array[:] = 2.0
    return G


def images_of(G, z):
    """G's images of z in eval mode, without a graph (how its samples are drawn)."""
    was_training = G.training
    G.eval()
    with sg.no_grad():
        images = G(sg.tensor(np.asarray(z, np.float32)))
    G.train(was_training)
    return images


def targets(G, n=6):
    return images_of(G, np.random.default_rng(1).standard_normal((n, LATENT)))


def test_reconstruction_loss_value(exercise):
    G = generator()
    z = sg.tensor(np.random.default_rng(2).standard_normal((3, LATENT)).astype(np.float32))
    target = sg.tensor(np.random.default_rng(3).uniform(-1, 1, (3, 64)).astype(np.float32))
    expected = ((images_of(G, z.numpy()).numpy() - target.numpy()) ** 2).mean()
    got = exercise.reconstruction_loss(G, z, target)
    assert isinstance(got, sg.Tensor), f"return a Tensor (it is differentiated), got {type(got)}"
    assert_close(got, expected, "mean((G(z) − target)²)", "the mean over every element of the "
                 "squared difference: a scalar", rtol=1e-4)


def test_reconstruction_loss_gradient_in_z(exercise):
    # For a linear G(z) = z·Wᵀ + b: ∂L/∂z = 2/(N·K) · (G(z) − target)·W, K values per image.
    sg.seed(4)
    G = nn.Linear(LATENT, 5)
    z_value = np.random.default_rng(5).standard_normal((3, LATENT)).astype(np.float32)
    target = np.random.default_rng(6).standard_normal((3, 5)).astype(np.float32)
    z = sg.tensor(z_value, requires_grad=True)
    exercise.reconstruction_loss(G, z, sg.tensor(target)).backward()
    W, b = G.weight.numpy(), G.bias.numpy()
    assert_close(z.grad, 2 / 15 * (z_value @ W.T + b - target) @ W,
                 "∂L/∂z for a linear G", "L must be built from z with Tensor ops, as G(z) is",
                 rtol=1e-4)


def test_invert_recovers_G_own_images(exercise):
    G = generator()
    target = targets(G)
    z = exercise.invert(G, target, LATENT, steps=300, lr=0.05, seed=0)
    assert isinstance(z, np.ndarray) and z.shape == (6, LATENT), (
        f"return z as a NumPy array (6, {LATENT}) (z.numpy()), got {type(z).__name__} "
        f"{getattr(z, 'shape', '')}")
    errors = ((images_of(G, z).numpy() - target.numpy()) ** 2).mean(1)
    assert errors.max() < 1e-4, (
        f"G(z) is far from the targets: mean squared error per image {np.round(errors, 5)} "
        "(want < 1e-4). Hint: each step computes the loss, then optimizer.zero_grad(), "
        "loss.backward(), optimizer.step(), with Adam([z], lr=lr) on a z that requires grad")


def test_invert_leaves_G_as_it_was(exercise):
    G = generator()
    before = [p.numpy().copy() for p in G.parameters()]
    exercise.invert(G, targets(G), LATENT, steps=20)
    changed = [n for (n, p), b in zip(G.named_parameters(), before)
               if not np.array_equal(p.numpy(), b)]
    assert not changed, f"inversion changed G's parameters {changed}: the optimiser is for z alone"
    with_grad = [n for n, p in G.named_parameters() if p.grad is not None]
    assert not with_grad, (f"G's parameters {with_grad} got gradients: freeze G during the loop "
                           "with G.requires_grad_(False)")
    assert all(p.requires_grad for p in G.parameters()), \
        "give G back trainable: G.requires_grad_(True) after the loop"
    assert G.training, "G came in train mode and must leave in it: G.train(was_training) at the end"


def test_invert_uses_eval_mode(exercise):
    G = generator(batch_norm=True)
    target = targets(G)
    z = exercise.invert(G, target, LATENT, steps=300, lr=0.05, seed=0)
    errors = ((images_of(G, z).numpy() - target.numpy()) ** 2).mean(1)
    assert errors.max() < 1e-4, (
        f"with a batch-norm G, G(z) in eval mode is far from the targets: errors per image "
        f"{np.round(errors, 5)} (want < 1e-4). Hint: G drew the targets in eval mode (running "
        "statistics); invert with G.eval(), else batch norm uses this batch's statistics")
