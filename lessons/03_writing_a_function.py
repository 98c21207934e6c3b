"""Lesson 03: writing your own differentiable op.

An op is a subclass of ``scratchgan.Function`` with two methods:

  forward(self, *arrays)  - raw backend arrays in, one raw array out. Fast: no graph, no Tensors.
                            Ask the array for its module (``B.xp_of(x)``) instead of importing
                            numpy, and the same op runs on CuPy (lesson 06 shows why it must).
  backward(self, gy)      - gy is a Tensor (the gradient of the loss w.r.t. the output); return one
                            gradient Tensor per input. ``self.inputs`` are the input Tensors and
                            ``self.output`` the output Tensor.

Why is backward written with Tensor ops rather than arrays? Because then the backward pass is
itself a computation autograd can record. Under ``grad(..., create_graph=True)`` it builds a
graph, and differentiating that graph gives second derivatives for free. A backward that drops
to raw arrays gives the right first derivative and a silently wrong second one: autograd sees no
path from the gradient back to x, so the second derivative comes out as nothing at all. The
lesson catches exactly that with gradgradcheck, and the figure shows it.

We build Swish, y = x·σ(x), whose derivatives are
    y'  = σ + x·σ(1 - σ)
    y'' = σ(1 - σ)·(2 + x(1 - 2σ))

Builds on: lessons 01 (graphs, backward, sg.grad) and 02 (gradcheck, gradgradcheck).

Run:  python lessons/03_writing_a_function.py [--out /tmp/scratchgan_lessons/03]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 03: writing a differentiable op")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/03", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="the same lesson (it takes seconds)")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick  # nothing here is slow: quick mode runs the whole lesson
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The op
# forward on arrays through xp; backward with Tensor ops, so that it can be differentiated again.
# A Function object remembers its inputs, so each call needs a fresh one: wrap it in a function.

# %%


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
    return Swish()(x)


def swish_array_backward(x):
    return SwishArrayBackward()(x)


def by_hand(x):
    """Swish's first and second derivatives, from the formulas in the docstring."""
    s = 1 / (1 + np.exp(-x))
    return s + x * s * (1 - s), s * (1 - s) * (2 + x * (1 - 2 * s))


# %% [markdown]
# ## First derivative
# Autograd calls our backward; the result must match the hand formula.

# %%
x = sg.tensor([-2.0, -0.5, 0.0, 1.0, 3.0], requires_grad=True)
y = swish(x)
y.sum().backward()
print(f"x      = {x.numpy()}\nswish  = {np.round(y.numpy(), 4)}")
print(f"swish' = {np.round(x.grad.numpy(), 4)}  (autograd through our backward)")
np.testing.assert_allclose(x.grad.numpy(), by_hand(x.numpy())[0], rtol=1e-5)

# The same function composed from library ops needs no backward of its own at all. A fused op is
# one graph node instead of two: fewer intermediate arrays kept for backward. (Read the graph
# before backward(): backward frees it, as PyTorch's does.)
x2 = sg.tensor(x.numpy(), requires_grad=True)
composed = x2 * F.sigmoid(x2)
fused_nodes = [type(y.creator).__name__]
composed_nodes = [type(composed.creator).__name__,
                  type(composed.creator.inputs[1].creator).__name__]
print(f"graph nodes: fused -> {fused_nodes}; composed -> {composed_nodes}")
assert fused_nodes == ["Swish"] and len(composed_nodes) == 2
composed.sum().backward()
print(f"x*sigmoid(x) from library ops gives the same gradient: max difference "
      f"{np.abs(x2.grad.numpy() - x.grad.numpy()).max():.1e}")
np.testing.assert_allclose(x2.grad.numpy(), x.grad.numpy(), atol=1e-6)

# %% [markdown]
# ## Second derivative
# create_graph=True records the backward pass, so its result can be differentiated again.

# %%
(dy,) = sg.grad(swish(x).sum(), x, create_graph=True)
(d2y,) = sg.grad(dy.sum(), x)
print(f"swish'' = {np.round(d2y.numpy(), 4)}  (grad of grad)")
print(f"by hand = {np.round(by_hand(x.numpy())[1], 4)}")
np.testing.assert_allclose(d2y.numpy(), by_hand(x.numpy())[1], rtol=1e-4, atol=1e-6)

# Through the array backward, the first gradient has no graph back to x: nothing to differentiate.
(dy_array,) = sg.grad(swish_array_backward(x).sum(), x, create_graph=True)
print(f"array backward: first derivative {np.round(dy_array.numpy(), 4)} (right), "
      f"requires_grad={dy_array.requires_grad} (no second derivative)")
np.testing.assert_allclose(dy_array.numpy(), by_hand(x.numpy())[0], rtol=1e-5)
assert not dy_array.requires_grad

# %% [markdown]
# ## Checking it
# gradcheck passes for both versions; only gradgradcheck tells them apart. In a bigger graph the
# array version does not raise: the missing term silently counts as zero (with weights on the
# output, as in a WGAN-GP penalty, the gradient still requires grad through them).

# %%
x34 = sg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
print(f"gradcheck(Swish) -> {sg.gradcheck(swish, [x34])}")
print(f"gradgradcheck(Swish) -> {sg.gradgradcheck(swish, [x34])}")
print(f"gradcheck(SwishArrayBackward) -> {sg.gradcheck(swish_array_backward, [x34])}  "
      "(first order is fine)")
caught = None
try:
    sg.gradgradcheck(swish_array_backward, [x34])
except sg.GradcheckError as error:
    caught = error
    print(f"gradgradcheck(SwishArrayBackward) -> GradcheckError:\n  {error}")
assert caught is not None, "gradgradcheck should reject a backward written on raw arrays"

# %% [markdown]
# ## The figure
# Swish and its two derivatives on a fine grid: lines are the hand formulas, markers what autograd
# computes (through our backward, and through our backward's own graph). The array backward's
# second derivative is what a WGAN-GP would silently use: zero.

# %%
grid = sg.tensor(np.linspace(-6, 6, 49), requires_grad=True)
(d1,) = sg.grad(swish(grid).sum(), grid, create_graph=True)
(d2,) = sg.grad(d1.sum(), grid)
g = grid.numpy()
hand1, hand2 = by_hand(g)
np.testing.assert_allclose(d1.numpy(), hand1, rtol=1e-5, atol=1e-7)
np.testing.assert_allclose(d2.numpy(), hand2, rtol=1e-4, atol=1e-7)
# The array backward, with weights w on the output as a penalty would have: the first gradient
# now requires grad (through w), but it has no path back to x, so d/dx of it is None (zero).
w = sg.tensor(np.ones(49), requires_grad=True)
(d1_array,) = sg.grad((swish_array_backward(grid) * w).sum(), grid, create_graph=True)
(d2_array,) = sg.grad(d1_array.sum(), grid, allow_unused=True)
assert d1_array.requires_grad and d2_array is None
lost = np.zeros_like(g)  # what a sum of gradients silently uses for the missing term
fine = np.linspace(-6, 6, 400)
fine1, fine2 = by_hand(fine)
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(fine, fine / (1 + np.exp(-fine)), color="k", label="swish(x) = x·σ(x)")
ax.plot(fine, fine1, color="tab:blue", label="swish' by hand")
ax.plot(g[::2], d1.numpy()[::2], "o", color="tab:blue", mfc="none", label="swish' autograd")
ax.plot(fine, fine2, color="tab:orange", label="swish'' by hand")
ax.plot(g[::2], d2.numpy()[::2], "s", color="tab:orange", mfc="none",
        label="swish'' autograd (grad of grad)")
ax.plot(g, lost, "--", color="tab:red",
        label="swish'' through the array backward: lost (0)")
ax.set_ylim(-0.5, 2.0)
ax.set_xlabel("x")
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="upper left")
ax.set_title("A Function's backward written with Tensor ops is differentiable again")
fig.tight_layout()
figure = OUT / "swish.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Put a slip into Swish.backward (drop the `x * s * (1.0 - s)` term) and predict which of the
#    assertions and checks fails first, and what gradcheck names as the worst element.
# 2. Write Softplus, y = log(1 + exp(x)), as a Function: y' = σ(x), y'' = σ(1 - σ). Check it
#    with gradcheck and gradgradcheck. Then make its forward stable for x = 100 (hint:
#    xp.logaddexp(0, x)) and watch the naive log(1 + exp(100)) overflow to inf in float32.
# 3. In Swish.backward, replace `F.sigmoid(x)` by `sg.Tensor(1 / (1 + np.exp(-x.array)))` (σ as
#    a constant) and keep the rest. Predict: is swish'' now right, zero, or partly wrong? (Partly:
#    the explicit x terms still carry x, σ's own derivative is lost.) Check with gradgradcheck.
