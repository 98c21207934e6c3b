"""Lesson 01: tensors and reverse-mode autograd.

A Tensor is a NumPy array plus two things autograd needs: ``requires_grad`` (should gradients
flow to me?) and ``creator`` (the Function that produced me). Every op on tensors that require
grad records itself, so a computation leaves behind a graph. ``loss.backward()`` walks that
graph from the loss back to the leaves, applying the chain rule once per node, and *adds* each
leaf's gradient into its ``.grad``.

Three habits follow from "adds":
  * calling backward twice without clearing doubles the gradient;
  * an optimizer loop must clear gradients (``zero_grad``) before every backward;
  * a tensor used twice in one expression gets the sum of both contributions - which is exactly
    the multivariable chain rule.

Run:  python lessons/01_tensors_and_autograd.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import functional as F


def scalar_expression():
    # micrograd's example: L = (a*b + c) * f. Small enough to differentiate on paper.
    a = sg.tensor(2.0, requires_grad=True)
    b = sg.tensor(-3.0, requires_grad=True)
    c = sg.tensor(10.0, requires_grad=True)
    f = sg.tensor(-2.0, requires_grad=True)
    e = a * b          # -6
    d = e + c          # 4
    L = d * f          # -8
    print(f"L = (a*b + c) * f = {L.item()}   graph node: {type(L.creator).__name__}")
    L.backward()

    # By hand: dL/dd = f, dL/df = d; + passes its gradient through; * swaps its operands.
    by_hand = {"a": f.item() * b.item(), "b": f.item() * a.item(), "c": f.item(), "f": d.item()}
    for name, t in zip("abcf", (a, b, c, f)):
        print(f"  dL/d{name}: autograd {t.grad.item():+.1f}   by hand {by_hand[name]:+.1f}")
        assert t.grad.item() == by_hand[name]
    return a, b, c, f


def accumulation(a, b, c, f):
    # Run the same graph again: gradients are ADDED, not replaced.
    L = (a * b + c) * f
    L.backward()
    print(f"\nafter a second backward, a.grad = {a.grad.item():+.1f} (twice the true +6.0)")
    assert a.grad.item() == 12.0

    for t in (a, b, c, f):
        t.zero_grad()  # what optimizer.zero_grad() does for every parameter
    L = (a * b + c) * f
    L.backward()
    print(f"after zero_grad and one backward, a.grad = {a.grad.item():+.1f}")
    assert a.grad.item() == 6.0


def reuse_in_one_expression():
    # x appears twice: y = x * x. Its gradient is the sum over both uses: x + x = 2x.
    x = sg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    print(f"\nd/dx sum(x*x) at x={x.numpy()} is {x.grad.numpy()} (= 2x)")
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())


def vectors_and_matrices():
    # The same machinery on arrays: a tiny linear layer and a squared error.
    # Python numbers and lists become float32; a NumPy array keeps its dtype, so ask for float32.
    rng = np.random.default_rng(0)
    W = sg.tensor(rng.standard_normal((2, 3), dtype=np.float32), requires_grad=True)
    x = sg.tensor(rng.standard_normal((4, 3), dtype=np.float32))  # data: no gradient wanted
    target = sg.tensor(rng.standard_normal((4, 2), dtype=np.float32))
    loss = ((x @ W.T - target) ** 2).mean()
    loss.backward()
    # d/dW mean((xWᵀ - t)²) = 2/n · (xWᵀ - t)ᵀ x, with n the number of elements.
    residual = x.numpy() @ W.numpy().T - target.numpy()
    by_hand = 2 / residual.size * residual.T @ x.numpy()
    print(f"\nlinear layer: autograd dW matches the hand formula: "
          f"max difference {np.abs(W.grad.numpy() - by_hand).max():.1e}")
    np.testing.assert_allclose(W.grad.numpy(), by_hand, rtol=1e-5, atol=1e-6)
    assert x.grad is None  # x did not require grad, so nothing was stored for it
    print(f"dtypes: data {x.dtype}, parameter {W.dtype}, gradient {W.grad.dtype}")
    assert W.grad.dtype == np.float32


def stopping_the_graph():
    # detach() and no_grad() produce values that autograd treats as constants.
    x = sg.tensor(3.0, requires_grad=True)
    y = x * x.detach()            # the second factor is a constant 3
    y.backward()
    print(f"\nd/dx [x * detach(x)] = {x.grad.item()} (only one use of x is seen)")
    assert x.grad.item() == 3.0

    with sg.no_grad():            # e.g. evaluating a model: no graph is recorded
        z = x * x
    print(f"under no_grad: z.requires_grad = {z.requires_grad}, graph node: {z.creator}")
    assert not z.requires_grad

    v = F.tanh(sg.tensor([0.5, 1.0], requires_grad=True))
    try:
        v.backward()  # the seed gradient of a vector is ambiguous
    except RuntimeError as e:
        print(f"backward() on a vector refuses: {e}")


def main():
    params = scalar_expression()
    accumulation(*params)
    reuse_in_one_expression()
    vectors_and_matrices()
    stopping_the_graph()


if __name__ == "__main__":
    main()
