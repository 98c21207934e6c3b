"""Lesson 02: checking gradients against finite differences.

Every backward formula in the library is a claim; ``scratchgan.gradcheck`` tests it. For each
input element x_i it nudges x_i by ±eps and measures the change of a scalar objective:

    (f(x + eps·e_i) - f(x - eps·e_i)) / (2·eps)   ≈   ∂f/∂x_i

Central differences have error O(eps²), and everything runs in float64 (the check makes float64
copies), so eps = 1e-6 gives about 8 good digits - enough to catch any wrong formula.

The objective is NOT sum(f(x)). It is sum(c * f(x)) with a random c, because the plain sum can
have a gradient that is zero whatever the code gets wrong. Batch norm is the classic case: its
output has zero mean per channel for every input, so sum(y) is constant and d sum(y)/dx = 0.
A backward that forgets a whole term still returns zero for that particular seed - and passes.
``gradgradcheck`` does the same for the gradient itself (second derivatives, what WGAN-GP needs).

Run:  python lessons/02_gradient_checking.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn


class WrongSigmoid(sg.Function):
    """σ(x) with a classic slip in backward: dσ/dx = σ(1 - σ), not σ."""

    def forward(self, x):
        return 1.0 / (1.0 + B.xp_of(x).exp(-x))

    def backward(self, gy):
        return gy * self.output  # should be gy * y * (1 - y)


class BatchNormForgetfulBackward(sg.Function):
    """x̂ = (x - mean) / std per column, with a backward that drops the x̂·mean(gy·x̂) term.

    The right formula is dx = (gy - mean(gy) - x̂·mean(gy·x̂)) / std. The forgotten term
    vanishes when gy is constant - exactly the seed that sum(y).backward() uses.
    """

    def forward(self, x):
        xp = B.xp_of(x)
        centred = x - x.mean(axis=0, keepdims=True)
        self.invstd = 1.0 / xp.sqrt((centred ** 2).mean(axis=0, keepdims=True) + 1e-5)
        return centred * self.invstd

    def backward(self, gy):
        invstd = sg.Tensor(self.invstd)
        return (gy - gy.mean(0, keepdims=True)) * invstd


def numeric_gradient(f, x, eps=1e-6):
    """Central differences of the scalar f at every element of the float64 array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f(x)
        x[i] = old - eps
        minus = f(x)
        x[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return g


def the_idea_by_hand():
    # Differentiate sum(tanh(x)) both ways; this is all gradcheck does, element by element.
    x = np.random.default_rng(0).standard_normal(5)
    xt = sg.tensor(x, requires_grad=True)  # a float64 array stays float64
    F.tanh(xt).sum().backward()
    numeric = numeric_gradient(lambda a: np.tanh(a).sum(), x)
    print(f"tanh: autograd {np.round(xt.grad.numpy(), 6)}\n      numeric  {np.round(numeric, 6)}")
    assert np.allclose(xt.grad.numpy(), numeric, atol=1e-8)


def gradcheck_catches_a_wrong_backward():
    x = sg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    print(f"\ngradcheck(F.sigmoid) -> {sg.gradcheck(F.sigmoid, [x])}")
    try:
        sg.gradcheck(lambda t: WrongSigmoid()(t), [x])  # a fresh Function object per call
        raise AssertionError("gradcheck should have rejected WrongSigmoid")
    except sg.GradcheckError as e:
        print(f"gradcheck(WrongSigmoid) raised GradcheckError:\n  {e}")


def why_a_random_weighting():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 3))
    correct = lambda t: F.batch_norm(t, None, None, training=True)  # noqa: E731
    forgetful = lambda t: BatchNormForgetfulBackward()(t)  # noqa: E731

    # The naive check: d sum(y)/dx. The true answer is 0 - and both backwards return 0.
    print("\nbatch norm, naive objective sum(y):")
    for name, fn in (("correct  ", correct), ("forgetful", forgetful)):
        xt = sg.tensor(x.copy(), requires_grad=True)
        fn(xt).sum().backward()
        print(f"  {name} backward: max |d sum(y)/dx| = {np.abs(xt.grad.numpy()).max():.1e}")
        assert np.abs(xt.grad.numpy()).max() < 1e-6  # the bug is invisible to this check
    numeric = numeric_gradient(lambda a: correct(sg.tensor(a)).sum().item(), x.copy())
    print(f"  finite differences:  max |d sum(y)/dx| = {np.abs(numeric).max():.1e}  -> both 'pass'")

    # The real check: d sum(c * y)/dx with a random c. Now the forgotten term matters.
    print("batch norm, gradcheck's objective sum(c * y), c random:")
    xt = sg.tensor(x, requires_grad=True)
    print(f"  correct   -> {sg.gradcheck(correct, [xt])}")
    try:
        sg.gradcheck(forgetful, [xt])
        raise AssertionError("gradcheck should have rejected the forgetful batch norm")
    except sg.GradcheckError as e:
        print(f"  forgetful -> GradcheckError: {e}")


def checking_modules_and_second_derivatives():
    # A Module's parameters are checked too (gradcheck runs it in float64 and restores it).
    sg.seed(0)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = sg.tensor(np.random.default_rng(3).standard_normal((2, 3)), requires_grad=True)
    print(f"\ngradcheck(mlp): input and {len(mlp.parameters())} parameter tensors -> "
          f"{sg.gradcheck(mlp, [x])}")
    # Second order: is the gradient of the gradient right? (WGAN-GP depends on it.)
    print(f"gradgradcheck(mlp) -> {sg.gradgradcheck(mlp, [x])}")
    print(f"gradgradcheck(F.sigmoid) -> {sg.gradgradcheck(F.sigmoid, [x])}")
    assert mlp[0].weight.dtype == np.float32  # the module is back in float32 afterwards


def main():
    the_idea_by_hand()
    gradcheck_catches_a_wrong_backward()
    why_a_random_weighting()
    checking_modules_and_second_derivatives()


if __name__ == "__main__":
    main()
