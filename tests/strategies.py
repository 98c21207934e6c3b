"""Hypothesis strategies for the engine's tests: tiny shapes, values away from kinks, strided
and transposed views, broadcasting pairs and convolution geometries.

Shapes stay tiny on purpose: a gradient check costs two evaluations per input element.
"""
import math
from dataclasses import dataclass

import numpy
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchgan.tensor import Tensor


def floats(lo=-2.0, hi=2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, width=64)


def away_from(points, margin=0.05, lo=-2.0, hi=2.0):
    """Floats in [lo, hi] at least ``margin`` from every point (the kinks of relu, clamp...)."""
    return floats(lo, hi).filter(lambda v: all(abs(v - p) >= margin for p in points))


def arrays(shape, elements=None):
    """A float64 array with every element drawn (no fill value), so each one can differ."""
    return hnp.arrays(numpy.float64, shape, elements=floats() if elements is None else elements,
                      fill=st.nothing())


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


@st.composite
def broadcasting_to(draw, target):
    """A shape that broadcasts to ``target``: leading axes dropped, some axes set to 1."""
    drop = draw(st.integers(0, len(target)))
    kept = target[drop:]
    ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
    return tuple(1 if one else n for n, one in zip(kept, ones))


def broadcast_pairs(max_dims=3, max_side=3):
    """Two shapes that broadcast together (either may be the smaller one)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=max_dims,
                                             min_side=1, max_side=max_side)


@dataclass(frozen=True)
class View:
    """How an op's input is laid out in memory: a slice with steps, then an axis permutation.

    The test draws a contiguous ``base_shape`` array, and ``view(base)`` (on a Tensor, through
    the differentiable getitem and transpose) hands the op a non-contiguous input of ``shape``.
    """
    shape: tuple
    steps: tuple
    offsets: tuple
    perm: tuple
    padding: tuple

    @property
    def sliced_shape(self):
        sliced = [0] * len(self.shape)
        for i, axis in enumerate(self.perm):
            sliced[axis] = self.shape[i]
        return tuple(sliced)

    @property
    def base_shape(self):
        return tuple(o + s * (n - 1) + 1 + p for n, s, o, p in
                     zip(self.sliced_shape, self.steps, self.offsets, self.padding))

    @property
    def index(self):
        return tuple(slice(o, o + s * (n - 1) + 1, s) for n, s, o in
                     zip(self.sliced_shape, self.steps, self.offsets))

    @property
    def is_identity(self):
        return self.base_shape == self.shape and self.perm == tuple(range(len(self.shape)))

    def __call__(self, base):
        if self.is_identity:
            return base
        x = base[self.index]
        if self.perm != tuple(range(len(self.shape))):
            x = x.transpose(self.perm)
        return x


@st.composite
def views(draw, shape, contiguous=True):
    """A View producing ``shape``; often strided and/or transposed (contiguous only if allowed)."""
    ndim = len(shape)
    kind = draw(st.sampled_from(["contiguous", "strided", "transposed", "both"] if contiguous
                                else ["strided", "transposed", "both"]))
    if kind == "transposed" and ndim < 2:
        kind = "strided"
    identity = tuple(range(ndim))
    perm = tuple(draw(st.permutations(identity))) if kind in ("transposed", "both") else identity
    if kind in ("transposed", "both") and perm == identity and ndim >= 2:
        perm = identity[::-1]
    if kind in ("strided", "both"):
        steps = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
        if all(s == 1 for s in steps) and ndim:
            steps = (2,) + steps[1:]
        offsets = tuple(draw(st.lists(st.integers(0, 1), min_size=ndim, max_size=ndim)))
        padding = tuple(draw(st.lists(st.integers(0, 1), min_size=ndim, max_size=ndim)))
    else:
        steps, offsets, padding = (1,) * ndim, (0,) * ndim, (0,) * ndim
    return View(tuple(shape), steps, offsets, perm, padding)


@st.composite
def viewed_array(draw, shape, elements=None, contiguous=True):
    """(view, base array): the op under test sees ``view(Tensor(base))``, of shape ``shape``."""
    view = draw(views(shape, contiguous))
    return view, draw(arrays(view.base_shape, elements))


@dataclass(frozen=True)
class ConvGeometry:
    """One convolution: input (N, C_in, H, W), kernel k x k, and the output size it gives."""
    N: int
    C_in: int
    C_out: int
    H: int
    W: int
    k: int
    stride: int
    padding: int
    output_padding: int = 0

    @property
    def conv_out(self):
        return ((self.H + 2 * self.padding - self.k) // self.stride + 1,
                (self.W + 2 * self.padding - self.k) // self.stride + 1)

    @property
    def transpose_out(self):
        return tuple((n - 1) * self.stride - 2 * self.padding + self.k + self.output_padding
                     for n in (self.H, self.W))


@st.composite
def conv_geometries(draw, max_side=5, max_channels=2):
    """A conv2d that fits: stride 1-3, padding 0-2, kernel 1-3, batch 1-2, odd sizes included."""
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, min(2, k)))
    lo = max(1, k - 2 * padding)
    H = draw(st.integers(lo, max(lo, max_side)))
    W = draw(st.integers(lo, max(lo, max_side)))
    return ConvGeometry(N=draw(st.integers(1, 2)), C_in=draw(st.integers(1, max_channels)),
                        C_out=draw(st.integers(1, max_channels)), H=H, W=W, k=k, stride=stride,
                        padding=padding)


@st.composite
def conv_transpose_geometries(draw, max_side=4, max_channels=2):
    """A conv_transpose2d with output_padding < stride and a non-empty output."""
    k = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    output_padding = draw(st.integers(0, stride - 1))
    # The output side (n - 1)·s − 2p + k + op must be positive.
    lo = max(1, math.ceil((2 * padding - k - output_padding + 1) / stride) + 1)
    H = draw(st.integers(lo, max(lo, max_side)))
    W = draw(st.integers(lo, max(lo, max_side)))
    return ConvGeometry(N=draw(st.integers(1, 2)), C_in=draw(st.integers(1, max_channels)),
                        C_out=draw(st.integers(1, max_channels)), H=H, W=W, k=k, stride=stride,
                        padding=padding, output_padding=output_padding)


def tensors(*arrays_):
    """float64 Tensors of the drawn arrays (gradcheck makes its own requires-grad copies)."""
    return [Tensor(a) for a in arrays_]
