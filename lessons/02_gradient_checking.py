"""Lesson 02: checking gradients against finite differences.

Every backward formula in the library is a claim; ``scratchgan.gradcheck`` tests it. For each
input element x_i it nudges x_i by ±h and measures the change of a scalar objective:

    (f(x + h·e_i) - f(x - h·e_i)) / (2·h)   ≈   ∂f/∂x_i

Two errors pull h in opposite directions. The formula itself is off by O(h²) (the truncation
error), so h should be small; but f is computed with rounding error about ε·|f| (ε the machine
epsilon: 1.2e-7 in float32, 2.2e-16 in float64), and dividing by 2h magnifies it to about ε/h,
so h must not be too small. The best h is near ε^(1/3): in float64 about 1e-5, with some 10
good digits; in float32 about 5e-3, with only 4 or 5. That is why the check makes float64
copies of everything and uses h = 1e-6: enough digits to catch any wrong formula, however small
its slip. The figure's left panel measures that V shape for both precisions.

The objective is NOT sum(f(x)). It is sum(c * f(x)) with a random c, because the plain sum can
have a gradient that is zero whatever the code gets wrong. Batch norm is the classic case: its
output has zero mean per channel for every input, so sum(y) is constant and d sum(y)/dx = 0.
A backward that forgets a whole term still returns zero for that particular seed - and passes.
The right panel shows it. ``gradgradcheck`` does the same for the gradient itself (second
derivatives, what WGAN-GP needs).

Builds on: lesson 01 (backward, .grad, Function graphs).

Run:  python lessons/02_gradient_checking.py [--out /tmp/scratchgan_lessons/02]
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
from scratchgan import nn

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 02: checking gradients")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/02", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="the same lesson (it takes seconds)")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick  # nothing here is slow: quick mode runs the whole lesson
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)


def numeric_gradient(f, x, h=1e-6):
    """Central differences of the scalar f at every element of the array x (its dtype kept)."""
    g = np.zeros(x.shape)
    for i in np.ndindex(*x.shape):
        old = x[i]
        x[i] = old + h
        plus = f(x)
        x[i] = old - h
        minus = f(x)
        x[i] = old
        g[i] = (float(plus) - float(minus)) / (2 * h)
    return g


# %% [markdown]
# ## The idea, by hand
# Differentiate sum(tanh(x)) both ways; this is all gradcheck does, element by element.

# %%
x = np.random.default_rng(0).standard_normal(5)
xt = sg.tensor(x, requires_grad=True)  # a float64 array stays float64
F.tanh(xt).sum().backward()
numeric = numeric_gradient(lambda a: np.tanh(a).sum(), x)
print(f"tanh: autograd {np.round(xt.grad.numpy(), 6)}\n      numeric  {np.round(numeric, 6)}")
assert np.allclose(xt.grad.numpy(), numeric, atol=1e-8)

# %% [markdown]
# ## How small should h be, and why float64?
# The same central difference of F.tanh (the library's forward) for h from 1 down to 1e-12, in
# float32 and in float64, against the exact derivative 1 - tanh². The weights c make it
# gradcheck's objective sum(c * tanh(x)).

# %%
steps = np.logspace(0, -12, 37)
c = np.random.default_rng(1).standard_normal(5)
exact = c * (1 - np.tanh(x) ** 2)
errors = {}
for dtype in (np.float32, np.float64):
    weights = c.astype(dtype)

    def objective(a, weights=weights):
        return (weights * F.tanh(sg.tensor(a)).numpy()).sum()

    errors[dtype.__name__] = np.array([
        np.abs(numeric_gradient(objective, x.astype(dtype), h) - exact).max() for h in steps])
for name, err in errors.items():
    best = err.argmin()
    at_gradcheck = err[np.argmin(np.abs(steps - 1e-6))]
    print(f"{name}: best h {steps[best]:.0e} with error {err[best]:.1e}; "
          f"at h = 1e-6 the error is {at_gradcheck:.1e}")
err32, err64 = errors["float32"], errors["float64"]
at_1e6 = np.argmin(np.abs(steps - 1e-6))
assert err64[at_1e6] < 1e-8, "float64 at h=1e-6 should give about 10 good digits"
assert err32[at_1e6] > 1e-3, "float32 at h=1e-6 drowns in rounding error"
assert err32.min() > 100 * err64.min(), "float32's best is far worse than float64's"
assert 1e-4 < steps[err32.argmin()] and steps[err64.argmin()] < steps[err32.argmin()]
# The V: going from the best h to a 100 times larger one, the truncation error grows ~h².
best64 = err64.argmin()
assert err64[best64 - 6] > 100 * err64[best64]  # 6 steps of the grid = a factor 100 in h

# %% [markdown]
# ## gradcheck catches a wrong backward
# σ(x) with a classic slip in backward: dσ/dx = σ(1 - σ), not σ.

# %%


class WrongSigmoid(sg.Function):
    def forward(self, x):
        return 1.0 / (1.0 + B.xp_of(x).exp(-x))

    def backward(self, gy):
        return gy * self.output  # should be gy * y * (1 - y)


def raises(error_type, fn, *fn_args):
    """The error fn(*fn_args) raised (must be an error_type), or an AssertionError if none."""
    try:
        fn(*fn_args)
    except error_type as error:
        return error
    raise AssertionError(f"{fn} should have raised {error_type.__name__}")


x34 = sg.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
print(f"gradcheck(F.sigmoid) -> {sg.gradcheck(F.sigmoid, [x34])}")
error = raises(sg.GradcheckError, sg.gradcheck, lambda t: WrongSigmoid()(t), [x34])
print(f"gradcheck(WrongSigmoid) raised GradcheckError:\n  {error}")

# %% [markdown]
# ## Why a random weighting
# x̂ = (x - mean) / std per column, with a backward that drops the x̂·mean(gy·x̂) term. The right
# formula is dx = (gy - mean(gy) - x̂·mean(gy·x̂)) / std. The forgotten term vanishes when gy is
# constant - exactly the seed that sum(y).backward() uses.

# %%


class BatchNormForgetfulBackward(sg.Function):
    def forward(self, x):
        xp = B.xp_of(x)
        centred = x - x.mean(axis=0, keepdims=True)
        self.invstd = 1.0 / xp.sqrt((centred ** 2).mean(axis=0, keepdims=True) + 1e-5)
        return centred * self.invstd

    def backward(self, gy):
        invstd = sg.Tensor(self.invstd)
        return (gy - gy.mean(0, keepdims=True)) * invstd


def correct(t):
    return F.batch_norm(t, None, None, training=True)


def forgetful(t):
    return BatchNormForgetfulBackward()(t)  # a fresh Function object per call


rng = np.random.default_rng(2)
xbn = rng.standard_normal((6, 3))
cbn = rng.standard_normal((6, 3))
bars = {}  # (objective, backward) -> max |autograd - finite differences|
for objective, weights in (("sum(y)", np.ones((6, 3))), ("sum(c * y)", cbn)):
    numeric = numeric_gradient(lambda a, w=weights: (w * correct(sg.tensor(a)).numpy()).sum(),
                               xbn.copy())
    for name, fn in (("correct", correct), ("forgetful", forgetful)):
        xt = sg.tensor(xbn.copy(), requires_grad=True)
        (fn(xt) * sg.tensor(weights)).sum().backward()
        bars[objective, name] = np.abs(xt.grad.numpy() - numeric).max()
        print(f"objective {objective:10s} {name:9s} backward: "
              f"max |autograd - numeric| = {bars[objective, name]:.1e}")
assert bars["sum(y)", "correct"] < 1e-6 and bars["sum(y)", "forgetful"] < 1e-6  # bug invisible
assert bars["sum(c * y)", "correct"] < 1e-6 and bars["sum(c * y)", "forgetful"] > 1e-2  # caught

# gradcheck draws its own random c, so it sees the bug:
xt = sg.tensor(xbn, requires_grad=True)
print(f"gradcheck(correct batch norm) -> {sg.gradcheck(correct, [xt])}")
error = raises(sg.GradcheckError, sg.gradcheck, forgetful, [xt])
print(f"gradcheck(forgetful batch norm) -> GradcheckError: {error}")

# %% [markdown]
# ## Modules, and second derivatives
# A Module's parameters are checked too (gradcheck runs it in float64 and restores it after).
# gradgradcheck checks the gradient of the gradient: WGAN-GP (lesson 12) depends on it.

# %%
sg.seed(0)
mlp = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
x23 = sg.tensor(np.random.default_rng(3).standard_normal((2, 3)), requires_grad=True)
print(f"gradcheck(mlp): input and {len(mlp.parameters())} parameter tensors -> "
      f"{sg.gradcheck(mlp, [x23])}")
print(f"gradgradcheck(mlp) -> {sg.gradgradcheck(mlp, [x23])}")
print(f"gradgradcheck(F.sigmoid) -> {sg.gradgradcheck(F.sigmoid, [x23])}")
assert mlp[0].weight.dtype == np.float32  # the module is back in float32 afterwards

# %% [markdown]
# ## The figure
# Left: the error of the central difference against h, in both precisions; gradcheck's h = 1e-6
# marked. Right: the two batch norm backwards under the two objectives (log scale: a bar at 1e-10
# is "exact", a bar above 1e-2 a caught bug).

# %%
fig, (ax_h, ax_bn) = plt.subplots(1, 2, figsize=(12, 4.3))
ax_h.loglog(steps, err32, "o-", ms=3, label="float32")
ax_h.loglog(steps, err64, "s-", ms=3, label="float64")
ax_h.axvline(1e-6, color="grey", ls=":", label="gradcheck's h = 1e-6")
ax_h.set_xlabel("step h")
ax_h.set_ylabel("max |central difference - exact|")
ax_h.set_title("Finite differences: truncation (right) vs rounding (left)")
ax_h.legend()
labels = [f"{objective}\n{name}" for objective, name in bars]
heights = [max(v, 1e-16) for v in bars.values()]
colours = ["tab:green" if name == "correct" else "tab:red" for _, name in bars]
ax_bn.bar(labels, heights, color=colours)
ax_bn.set_yscale("log")
ax_bn.set_ylabel("max |autograd - finite differences|")
ax_bn.set_title("Batch norm with a forgotten backward term:\ninvisible to sum(y), "
                "caught by sum(c * y)")
fig.tight_layout()
figure = OUT / "gradient_checking.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Call `sg.gradcheck(F.sigmoid, [x34], eps=1e-2)`: does it still pass? With the figure's left
#    panel, predict the size of the error (about h²/6 times the third derivative) and compare it
#    with gradcheck's tolerance (atol=1e-5, rtol=1e-3).
# 2. Make x34 float32 (`.astype(np.float32)` before sg.tensor) and run gradcheck again: it still
#    passes, because it makes float64 copies. Then run `numeric_gradient` on float32 input with
#    h=1e-6 and compare with autograd yourself.
# 3. Give WrongSigmoid a smaller slip: `gy * self.output * (1 - self.output) * 1.001`. Does
#    gradcheck catch a 0.1 % error? Which of atol/rtol decides?
