"""Grades exercise 04: per_sample_norms and gradient_penalty (lesson 12)."""
import numpy as np

import scratchgan as sg
from grading import assert_close, gradient_check

EXERCISE = "e04_gradient_penalty"
CREATE_GRAPH = ("take g with sg.grad(D(x̂).sum(), x̂, create_graph=True): without create_graph "
                "the gradient is a constant, and the penalty cannot train the critic")


def array(*shape, seed=0, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def tensor(*shape, seed=0):
    return sg.tensor(array(*shape, seed=seed))


def epsilons(n, ndim, seed=9):
    return sg.tensor(np.random.default_rng(seed).uniform(0, 1, (n,) + (1,) * (ndim - 1)))


def linear_critic(w, b=0.3):
    """D(x) = x·w + b on flattened samples: ∇D = w at every x."""
    w = w if isinstance(w, sg.Tensor) else sg.tensor(w)
    return lambda x: x.reshape(x.shape[0], -1) @ w.reshape(-1, 1) + b


def test_per_sample_norms(exercise):
    g = tensor(4, 2, 3, 3)
    expected = np.sqrt((g.numpy() ** 2).sum((1, 2, 3)) + 1e-12)
    assert_close(exercise.per_sample_norms(g), expected, "norms of a (4, 2, 3, 3) gradient",
                 "one norm per sample: the sum of squares over every axis but the first "
                 "(reshape to (N, -1), then sum over axis 1), shape (N,)")


def test_linear_critic_value(exercise):
    # ∇D(x̂) = w for every sample, so the penalty is (‖w‖ − 1)² whatever real, fake and ε are.
    w = array(2, 3, 3, seed=1, scale=0.4)
    D = linear_critic(w)
    got = exercise.gradient_penalty(D, tensor(5, 2, 3, 3, seed=2), tensor(5, 2, 3, 3, seed=3),
                                    epsilons(5, 4))
    assert_close(got, (np.linalg.norm(w) - 1) ** 2,
                 "penalty of a linear critic D(x) = x·w + b on (5, 2, 3, 3) samples: (‖w‖ − 1)²",
                 "g = grad(D(x̂).sum(), x̂), each sample's norm over all its pixels, then the mean "
                 "of (norm − 1)² over the batch")


def test_penalty_is_taken_between_real_and_fake(exercise):
    # D(x) = ½‖x‖² has ∇D(x̂) = x̂: the penalty shows which points were used.
    real, fake = tensor(4, 3, seed=4), tensor(4, 3, seed=5)
    eps = epsilons(4, 2)
    got = exercise.gradient_penalty(lambda x: 0.5 * (x * x).sum(1, keepdims=True), real, fake, eps)
    between = eps.numpy() * real.numpy() + (1 - eps.numpy()) * fake.numpy()
    expected = ((np.linalg.norm(between, axis=1) - 1) ** 2).mean()
    assert_close(got, expected, "penalty of D(x) = ½‖x‖², whose gradient at x̂ is x̂ itself",
                 "x̂ = ε·real + (1 − ε)·fake, one ε per sample (ε multiplies the real samples)")


def tanh_critic(W1, w2):
    return lambda x: (x @ W1).tanh() @ w2


def test_tanh_critic_value(exercise):
    real, fake, eps = tensor(6, 4, seed=6), tensor(6, 4, seed=7), epsilons(6, 2)
    W1, w2 = array(4, 5, seed=8), array(5, 1, seed=9)
    got = exercise.gradient_penalty(tanh_critic(sg.tensor(W1), sg.tensor(w2)), real, fake, eps)
    x = eps.numpy() * real.numpy() + (1 - eps.numpy()) * fake.numpy()
    g = ((1 - np.tanh(x @ W1) ** 2) * w2.T) @ W1.T  # ∂/∂x of tanh(x W1) w2, per sample
    expected = ((np.sqrt((g ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
    assert_close(got, expected, "penalty of the critic D(x) = tanh(x·W1)·w2", "see the formulas "
                 "of the docstring: x̂, g = ∂ Σ D(x̂)/∂x̂, per-sample norms, mean of (‖g‖ − 1)²")


def test_penalty_reaches_the_critic(exercise):
    # For a linear critic the penalty is (‖w‖ − 1)², whose gradient is 2(‖w‖ − 1)·w/‖w‖.
    w_value = array(6, seed=10, scale=0.6)
    w = sg.tensor(w_value, requires_grad=True)
    penalty = exercise.gradient_penalty(linear_critic(w), tensor(3, 6, seed=11),
                                        tensor(3, 6, seed=12), epsilons(3, 2))
    assert penalty.requires_grad, \
        f"the penalty has no graph back to D's weights. Hint: {CREATE_GRAPH}"
    penalty.backward()
    norm = np.linalg.norm(w_value)
    assert_close(w.grad, 2 * (norm - 1) * w_value / norm,
                 "∂ penalty/∂w for the linear critic x·w + b", CREATE_GRAPH)


def test_second_order_gradcheck(exercise):
    # The penalty's gradient with respect to the critic's weights, against finite differences.
    real, fake, eps = tensor(3, 4, seed=13), tensor(3, 4, seed=14), epsilons(3, 2)

    def penalty_of(W1, w2):
        return exercise.gradient_penalty(tanh_critic(W1, w2), real, fake, eps)

    gradient_check(penalty_of, [tensor(4, 3, seed=15), tensor(3, 1, seed=16)],
                   "the penalty as a function of the critic's weights W1, w2",
                   CREATE_GRAPH + "; and build the norms from Tensor ops (F.sqrt, sum)")
