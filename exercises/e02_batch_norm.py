"""Exercise 02: batch normalisation's forward and backward, as one op (after lesson 05).

In training mode a batch norm layer normalises each channel c with the statistics of the batch,
taken over every axis but the channel one: (N,) for vectors (N, C), (N, H, W) for images
(N, C, H, W). With m values per channel (m = N, or N·H·W):

  μ = mean(x),  var = mean((x − μ)²)  (biased: divide by m),  σ = √(var + eps)
  x̂ = (x − μ) / σ,   y = γ·x̂ + β                     γ, β: one number per channel (C,)

and its backward, for gy the gradient of the loss with respect to y (x's shape):

  dβ = Σ gy,   dγ = Σ gy·x̂                              sums over the statistics' axes: (C,)
  dx = γ/σ · (gy − mean(gy) − x̂ · mean(gy·x̂))          means over the same axes: x's shape

The two subtracted terms are there because every x moves μ and σ, and so every x̂ of its
channel. They are exactly what a check against Σ y would miss: y's channel sum is m·β whatever x
is, so the true dx of Σ y is zero, and so is a backward that forgets them. The grader uses
random weights (lesson 02) and two identities that hold for any gy: dx sums to zero over a
channel (y does not change when a channel is shifted), and Σ dx·x̂ = 0 (nor when it is scaled).

Write ``forward`` on raw arrays (``xp = B.xp_of(x)``, as lesson 03), ``backward`` with Tensor
ops (``.mean(axes, keepdims=True)``, ``.sum(...)``, ``**``, ``.reshape``), recomputing x̂ from
``self.inputs``: a backward built on arrays saved by ``forward`` would lose the second
derivatives (the last test).

Grade it:  pytest exercises/test_e02_batch_norm.py
"""
import scratchgan as sg
from scratchgan import backend as B  # noqa: F401 (for your code)


def stat_axes(ndim):
    """The axes the statistics are taken over: every axis but the channels (axis 1)."""
    return (0, *range(2, ndim))


def channel_shape(ndim, C):
    """The shape that lines (C,) up with the channel axis of an ndim input: (1, C, 1, 1)."""
    return (1, C) + (1,) * (ndim - 2)


class BatchNorm(sg.Function):
    def __init__(self, eps=1e-5):
        self.eps = eps

    def forward(self, x, gamma, beta):
        """x: raw array (N, C) or (N, C, H, W); gamma, beta: (C,). Returns y, x's shape:
        y = γ·(x − μ)/√(var + eps) + β with the batch's μ and biased var per channel."""
        raise NotImplementedError("write BatchNorm.forward: see lesson 05")

    def backward(self, gy):
        """gy: Tensor, x's shape. Returns (dx, dγ, dβ): x's shape, (C,), (C,), from
        dβ = Σ gy, dγ = Σ gy·x̂, dx = γ/σ · (gy − mean(gy) − x̂·mean(gy·x̂))."""
        raise NotImplementedError("write BatchNorm.backward: see lessons 05 and 02")


def batch_norm(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm of x (N, C) or (N, C, H, W) with γ, β (C,): y, x's shape."""
    return BatchNorm(eps)(x, gamma, beta)
