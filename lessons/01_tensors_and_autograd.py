"""Lesson 01: tensors and reverse-mode autograd.

A Tensor is an array plus two things autograd needs: ``requires_grad`` (should gradients flow to
me?) and ``creator`` (the Function that produced me). Every op on tensors that require grad
records itself, so a computation leaves behind a graph. ``loss.backward()`` walks that graph from
the loss back to the leaves, applying the chain rule once per node, and *adds* each leaf's
gradient into its ``.grad``.

Three habits follow from "adds":
  * calling backward twice without clearing doubles the gradient;
  * an optimizer loop must clear gradients (``zero_grad``) before every backward;
  * a tensor used twice in one expression gets the sum of both contributions - which is exactly
    the multivariable chain rule.

``detach()`` and ``no_grad()`` cut the graph: what they produce is a constant to autograd. The
GAN training loop of lesson 08 relies on both: the discriminator's step must not reach the
generator, and sampling needs no graph at all.

The figure draws the graph of L = (a·b + c)·f with every node's value and its gradient dL/dnode,
read from the graph the code built, and a.grad growing by one gradient per backward call unless
it is cleared.

Builds on: lesson 00 (a GAN trained end to end; this lesson opens the engine under it).

Run:  python lessons/01_tensors_and_autograd.py [--out /tmp/scratchgan_lessons/01]
"""
# %%
import argparse
import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import functional as F

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 01: tensors and reverse-mode autograd")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/01", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="the same lesson (it takes seconds)")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick  # nothing here is slow: quick mode runs the whole lesson
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## A graph you can differentiate on paper
# micrograd's example: L = (a·b + c)·f. Each op returns a tensor whose ``creator`` remembers the
# op and its inputs; following ``creator.inputs`` from L finds every node. That chain of
# references *is* the graph backward walks.

# %%
a = sg.tensor(2.0, requires_grad=True)
b = sg.tensor(-3.0, requires_grad=True)
c = sg.tensor(10.0, requires_grad=True)
f = sg.tensor(-2.0, requires_grad=True)
e = a * b          # -6
d = e + c          # 4
L = d * f          # -8
names = {id(t): n for n, t in dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L).items()}

edges = []  # (input name, op name, output name), found by walking the graph from L
stack = [L]
while stack:
    node = stack.pop()
    if node.creator is not None:
        for parent in node.creator.inputs:
            edges.append((names[id(parent)], type(node.creator).__name__, names[id(node)]))
            stack.append(parent)
print(f"L = (a*b + c) * f = {L.item()}")
for parent, op, child in edges:
    print(f"  {parent} --{op}--> {child}")
assert sorted(edges) == sorted([("d", "Mul", "L"), ("f", "Mul", "L"), ("e", "Add", "d"),
                                ("c", "Add", "d"), ("a", "Mul", "e"), ("b", "Mul", "e")])
assert a.is_leaf and not L.is_leaf

# %% [markdown]
# ## Backward, against the hand derivatives
# By hand: dL/dd = f and dL/df = d; + passes its gradient on unchanged; * hands each operand the
# other one. ``backward()`` fills ``.grad`` of the leaves only; ``sg.grad`` asks for any node's
# gradient without touching ``.grad`` (retain_graph keeps the graph for the backward after it).

# %%
dL_de, dL_dd = sg.grad(L, [e, d], retain_graph=True)
L.backward()
by_hand = {"a": f.item() * b.item(), "b": f.item() * a.item(), "c": f.item(), "f": d.item(),
           "e": f.item(), "d": f.item()}
autograd = {"a": a.grad.item(), "b": b.grad.item(), "c": c.grad.item(), "f": f.grad.item(),
            "e": dL_de.item(), "d": dL_dd.item()}
for name in "abcfed":
    print(f"  dL/d{name}: autograd {autograd[name]:+.1f}   by hand {by_hand[name]:+.1f}")
    assert autograd[name] == by_hand[name]
grads = dict(autograd, L=1.0)  # dL/dL = 1: the seed backward starts from
values = {n: t.item() for n, t in dict(a=a, b=b, c=c, f=f, e=e, d=d, L=L).items()}

# %% [markdown]
# ## Gradients accumulate
# Run the same expression again: the new gradient is ADDED to .grad, not written over it. That
# is what lets a tensor used in several places collect all its contributions - and why every
# training step starts with zero_grad().

# %%
accumulated = []
for _ in range(4):
    ((a * b + c) * f).backward()
    accumulated.append(a.grad.item())
print(f"a.grad after 1 + 4 backward calls without clearing: {[6.0] + accumulated}")
assert accumulated == [12.0, 18.0, 24.0, 30.0]  # one more +6 per call

cleared = []
for _ in range(5):
    for t in (a, b, c, f):
        t.zero_grad()  # what optimizer.zero_grad() does for every parameter
    ((a * b + c) * f).backward()
    cleared.append(a.grad.item())
print(f"a.grad with zero_grad before each of 5 backward calls: {cleared}")
assert cleared == [6.0] * 5

# %% [markdown]
# ## A tensor used twice
# y = x·x uses x twice; its gradient is the sum over both uses: x + x = 2x.

# %%
x = sg.tensor([1.0, -2.0, 3.0], requires_grad=True)
(x * x).sum().backward()
print(f"d/dx sum(x*x) at x={x.numpy()} is {x.grad.numpy()} (= 2x)")
np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())

# %% [markdown]
# ## Vectors and matrices
# The same machinery on arrays: a tiny linear layer and a squared error. Python numbers and lists
# become float32; a NumPy array keeps its dtype, so ask for float32.

# %%
rng = np.random.default_rng(0)
W = sg.tensor(rng.standard_normal((2, 3), dtype=np.float32), requires_grad=True)
xb = sg.tensor(rng.standard_normal((4, 3), dtype=np.float32))  # data: no gradient wanted
target = sg.tensor(rng.standard_normal((4, 2), dtype=np.float32))
loss = ((xb @ W.T - target) ** 2).mean()
loss.backward()
# d/dW mean((xWᵀ - t)²) = 2/n · (xWᵀ - t)ᵀ x, with n the number of elements.
residual = xb.numpy() @ W.numpy().T - target.numpy()
W_by_hand = 2 / residual.size * residual.T @ xb.numpy()
print(f"linear layer: autograd dW matches the hand formula: "
      f"max difference {np.abs(W.grad.numpy() - W_by_hand).max():.1e}")
np.testing.assert_allclose(W.grad.numpy(), W_by_hand, rtol=1e-5, atol=1e-6)
assert xb.grad is None  # xb did not require grad, so nothing was stored for it
print(f"dtypes: data {xb.dtype}, parameter {W.dtype}, gradient {W.grad.dtype}")
assert W.grad.dtype == np.float32

# %% [markdown]
# ## Stopping the graph
# detach() and no_grad() produce values that autograd treats as constants. And backward() needs a
# scalar to start from: the seed dL/dL = 1 has no meaning for a vector, so it refuses.

# %%
x = sg.tensor(3.0, requires_grad=True)
y = x * x.detach()            # the second factor is the constant 3
y.backward()
print(f"d/dx [x * detach(x)] = {x.grad.item()} (only one use of x is seen)")
assert x.grad.item() == 3.0

with sg.no_grad():            # e.g. sampling from a trained generator: no graph is recorded
    z = x * x
print(f"under no_grad: z.requires_grad = {z.requires_grad}, graph node: {z.creator}")
assert not z.requires_grad and z.creator is None

v = F.tanh(sg.tensor([0.5, 1.0], requires_grad=True))
refused = False
try:
    v.backward()
except RuntimeError as error:
    refused = True
    print(f"backward() on a vector refuses: {error}")
assert refused, "backward() on a 2-element tensor should have raised"
v.sum().backward()  # reduce to a scalar first (or pass backward(gradient=...) of v's shape)

# %% [markdown]
# ## The figure
# Left: the graph, each node with its value and dL/dnode, as computed above. Right: a.grad after
# each backward call, with and without zero_grad.

# %%
fig, (ax_graph, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.2),
                                       gridspec_kw=dict(width_ratios=[1.6, 1]))
where = {"a": (0, 3), "b": (0, 2), "c": (0, 1), "f": (0, 0), "e": (1, 2.5), "d": (2, 1.6),
         "L": (3, 0.8)}
for parent, op, child in edges:
    (x0, y0), (x1, y1) = where[parent], where[child]
    ax_graph.annotate("", (x1 - 0.22, y1), (x0 + 0.22, y0),
                      arrowprops=dict(arrowstyle="->", color="grey"))
    ax_graph.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, op, color="grey", ha="center", fontsize=8)
for name, (px, py) in where.items():
    colour = "#cfe2f3" if name in "abcf" else "#fce5cd"
    ax_graph.text(px, py, f"{name} = {values[name]:g}\ndL/d{name} = {grads[name]:+g}",
                  ha="center", va="center", fontsize=9,
                  bbox=dict(boxstyle="round", facecolor=colour, edgecolor="grey"))
ax_graph.set_xlim(-0.5, 3.5)
ax_graph.set_ylim(-0.6, 3.6)
ax_graph.axis("off")
ax_graph.set_title("L = (a·b + c)·f: forward values, and gradients from backward()\n"
                   "blue: leaves (their .grad is filled); orange: intermediate nodes")
calls = np.arange(1, 6)
ax_acc.plot(calls, [6.0] + accumulated, "o-", label="no zero_grad: gradients add up")
ax_acc.plot(calls, cleared, "s-", label="zero_grad before each backward")
ax_acc.axhline(6.0, color="grey", lw=0.8, ls=":")
ax_acc.set_xlabel("backward() calls on the same expression")
ax_acc.set_ylabel("a.grad")
ax_acc.set_xticks(calls)
ax_acc.set_title("a.grad (the true dL/da is +6)")
ax_acc.legend()
fig.tight_layout()
figure = OUT / "autograd_graph.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Replace `y = x * x.detach()` by `y = x * x` and predict x.grad before running (6.0: both uses
#    count now). Then put `x.detach() * x.detach()` and read the error backward() raises.
# 2. Add a node: L = ((a*b + c) * f) ** 2. Work out dL/da by hand (2·L_old·f·b = 2·(-8)·(-2)·(-3)
#    = -96), change `by_hand`, and let the assertion check you.
# 3. In the accumulation cell, call `a.zero_grad()` only (not b, c, f) and look at b.grad after the
#    loop: every parameter an optimizer holds needs clearing, which is why zero_grad() is a method
#    of the optimizer.
