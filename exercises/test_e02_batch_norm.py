"""Grades exercise 02: BatchNorm.forward and BatchNorm.backward (lesson 05)."""
import numpy as np

import scratchgan as sg
from grading import assert_close, gradient_check, numpy_of

EXERCISE = "e02_batch_norm"
EPS = 1e-5


def data(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2.0 + 3.0  # mean 3, std 2: normalising must show
    C = shape[1]
    gamma, beta = rng.uniform(0.5, 2.0, C), rng.standard_normal(C)
    return [sg.tensor(a, requires_grad=requires_grad) for a in (x, gamma, beta)]


def by_hand(x, gamma, beta):
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return gamma.reshape(shape) * (x - mean) / np.sqrt(var + EPS) + beta.reshape(shape)


def test_forward_on_vectors(exercise):
    x, gamma, beta = data(8, 3, requires_grad=False)
    assert_close(exercise.batch_norm(x, gamma, beta), by_hand(x.numpy(), gamma.numpy(),
                                                                beta.numpy()),
                 "batch norm of an (8, 3) batch",
                 "statistics per channel over axis 0, the biased variance (divide by N), "
                 "then γ·x̂ + β with γ and β reshaped to (1, C)")


def test_forward_on_images(exercise):
    x, gamma, beta = data(4, 2, 3, 3, requires_grad=False)
    assert_close(exercise.batch_norm(x, gamma, beta), by_hand(x.numpy(), gamma.numpy(),
                                                                beta.numpy()),
                 "batch norm of a (4, 2, 3, 3) batch",
                 "for images the statistics of channel c are over N, H and W together: "
                 "axes (0, 2, 3), keepdims=True, and γ, β reshaped to (1, C, 1, 1)")


def dx_of(exercise, x, gamma, beta, eps=EPS, seed=5):
    """dx for a random gy (the gradient of Σ c·y for a random c)."""
    c = sg.tensor(np.random.default_rng(seed).standard_normal(x.shape))
    (dx,) = sg.grad((exercise.batch_norm(x, gamma, beta, eps) * c).sum(), x)
    return numpy_of(dx)


def test_input_gradient_sums_to_zero_per_channel(exercise):
    x, gamma, beta = data(6, 3, 2, 2, seed=1)
    dx = dx_of(exercise, x, gamma, beta)
    assert_close(dx.sum((0, 2, 3)), np.zeros(3),
                 "Σ dx over each channel (y does not change when a channel of x is shifted)",
                 "dx needs the − mean(gy) term: every x moves its channel's mean μ", atol=1e-8)


def test_input_gradient_is_orthogonal_to_xhat(exercise):
    # Exactly zero for eps = 0 only: eps keeps σ from scaling with x.
    x, gamma, beta = data(6, 3, 2, 2, seed=2)
    dx = dx_of(exercise, x, gamma, beta, eps=0.0)
    xn = x.numpy()
    xhat = (xn - xn.mean((0, 2, 3), keepdims=True)) / xn.std((0, 2, 3), keepdims=True)
    assert_close((dx * xhat).sum((0, 2, 3)), np.zeros(3),
                 "Σ dx·x̂ over each channel (y does not change when a channel of x is scaled)",
                 "dx needs the − x̂·mean(gy·x̂) term: every x moves its channel's σ", atol=1e-8)


def test_gradcheck_on_vectors(exercise):
    gradient_check(exercise.batch_norm, data(6, 3, seed=3), "batch norm of a (6, 3) batch, "
                   "inputs x, γ, β", "dx = γ/σ·(gy − mean(gy) − x̂·mean(gy·x̂)), dγ = Σ gy·x̂, "
                   "dβ = Σ gy, the sums and means over axis 0; return (dx, dγ, dβ) in that order")


def test_gradcheck_on_images(exercise):
    gradient_check(exercise.batch_norm, data(3, 2, 2, 3, seed=4), "batch norm of a (3, 2, 2, 3) "
                   "batch, inputs x, γ, β", "for images the sums and means of the backward are "
                   "over axes (0, 2, 3) too, as the statistics of the forward")


def test_second_order(exercise):
    gradient_check(exercise.batch_norm, data(5, 2, seed=6), "batch norm", "compute x̂ and σ in "
                   "backward from self.inputs with Tensor ops: arrays saved by forward are "
                   "constants to autograd, so the gradient's own derivative misses them",
                   second_order=True)
