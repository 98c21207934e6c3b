"""Lesson 03: writing your own differentiable op.

An op is a subclass of ``scratchgan.Function`` with two methods:

  forward(self, *arrays)  - raw backend arrays in, one raw array out. Fast: no graph, no Tensors.
                            Ask the array for its module (``B.xp_of(x)``) instead of importing
                            numpy, and the same op runs on CuPy.
  backward(self, gy)      - gy is a Tensor (the gradient of the loss w.r.t. the output); return one
                            gradient Tensor per input. ``self.inputs`` are the input Tensors and
                            ``self.output`` the output Tensor.

Why is backward written with Tensor ops rather than arrays? Because then the backward pass is
itself a computation autograd can record. Under ``grad(..., create_graph=True)`` it builds a
graph, and differentiating that graph gives second derivatives for free. A backward that drops
to raw arrays gives the right first derivative and a silently wrong second one - the lesson ends
by catching exactly that with gradgradcheck.

We build Swish, y = x·σ(x), whose derivatives are
    y'  = σ + x·σ(1 - σ)
    y'' = σ(1 - σ)·(2 + x(1 - 2σ))

Run:  python lessons/03_writing_a_function.py
"""
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F


class Swish(sg.Function):
    def forward(self, x):
        xp = B.xp_of(x)  # numpy or cupy, whichever owns x
        return x / (1.0 + xp.exp(-x))

    def backward(self, gy):
        (x,) = self.inputs
        s = F.sigmoid(x)  # recomputed as a Tensor so that it stays a function of x
        return gy * (s + x * s * (1.0 - s))


class SwishArrayBackward(sg.Function):
    """Same forward; backward on raw arrays. First derivative right, second derivative lost."""

    def forward(self, x):
        return x / (1.0 + B.xp_of(x).exp(-x))

    def backward(self, gy):
        x = self.inputs[0].array
        s = 1.0 / (1.0 + B.xp_of(x).exp(-x))
        return gy * sg.Tensor(s + x * s * (1.0 - s))  # a constant: autograd cannot see x in it


def swish(x):
    return Swish()(x)  # a Function object remembers its inputs: use a fresh one per call


def first_derivative():
    x = sg.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], requires_grad=True)
    y = swish(x)
    y.sum().backward()
    s = 1 / (1 + np.exp(-x.numpy()))
    expected = s + x.numpy() * s * (1 - s)
    print(f"x      = {x.numpy()}\nswish  = {np.round(y.numpy(), 4)}")
    print(f"swish' = {np.round(x.grad.numpy(), 4)}  (autograd through our backward)")
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)

    # The same function composed from library ops needs no backward of its own at all.
    x2 = sg.tensor(x.numpy(), requires_grad=True)
    composed = x2 * F.sigmoid(x2)
    # A fused op is one graph node instead of two: fewer intermediate arrays kept for backward.
    # (Read the graph before backward(): backward frees it, as PyTorch's does.)
    print(f"graph nodes: fused -> {type(y.creator).__name__}(x); composed -> "
          f"{type(composed.creator).__name__}(x, "
          f"{type(composed.creator.inputs[1].creator).__name__}(x))")
    composed.sum().backward()
    print(f"x*sigmoid(x) from library ops gives the same gradient: "
          f"{np.allclose(x2.grad.numpy(), x.grad.numpy(), atol=1e-6)}")


def second_derivative():
    x = sg.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], requires_grad=True)
    # create_graph=True records the backward pass, so its result can be differentiated again.
    (dy,) = sg.grad(swish(x).sum(), x, create_graph=True)
    (d2y,) = sg.grad(dy.sum(), x)
    s = 1 / (1 + np.exp(-x.numpy()))
    expected = s * (1 - s) * (2 + x.numpy() * (1 - 2 * s))
    print(f"\nswish'' = {np.round(d2y.numpy(), 4)}  (grad of grad)")
    print(f"by hand = {np.round(expected, 4)}")
    np.testing.assert_allclose(d2y.numpy(), expected, rtol=1e-4, atol=1e-6)


def checking_it():
    x = sg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    print(f"\ngradcheck(Swish) -> {sg.gradcheck(swish, [x])}")
    print(f"gradgradcheck(Swish) -> {sg.gradgradcheck(swish, [x])}")

    array_backward = lambda t: SwishArrayBackward()(t)  # noqa: E731
    print(f"gradcheck(SwishArrayBackward) -> {sg.gradcheck(array_backward, [x])}  "
          "(first order is fine)")
    try:
        sg.gradgradcheck(array_backward, [x])
        raise AssertionError("gradgradcheck should reject a backward written on raw arrays")
    except sg.GradcheckError as e:
        print(f"gradgradcheck(SwishArrayBackward) -> GradcheckError:\n  {e}")


def main():
    first_derivative()
    second_derivative()
    checking_it()


if __name__ == "__main__":
    main()
