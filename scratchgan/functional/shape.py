"""Reductions and shape ops. Their gradients only move numbers around."""
from scratchgan import backend as B
from scratchgan.tensor import Function, Tensor


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


class Sum(Function):
    # y = Σ_axis x;  dx = gy broadcast back over the summed axes
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        (x,) = self.inputs
        if not self.keepdims:
            kept = list(x.shape)
            for a in _axes(self.axis, x.ndim):
                kept[a] = 1
            gy = reshape(gy, tuple(kept))
        return broadcast_to(gy, x.shape)


class Reshape(Function):
    # y = x viewed as `shape`;  dx = gy viewed as x's shape
    def __init__(self, shape, layout_of=None):
        self.shape, self.layout_of = shape, layout_of

    def forward(self, x):
        y = x.reshape(self.shape)
        like = self.layout_of
        if like is None or _memory_order(y) == _memory_order(like):
            return y
        # like's layout, so later element-wise ops see one layout
        out = B.xp_of(like).empty_like(like)
        out[...] = y
        return out

    def backward(self, gy):
        x = self.inputs[0]
        return Reshape(x.shape, layout_of=x.array)(gy)  # a gradient is laid out as its tensor


def _memory_order(a):
    """Axes from outermost to innermost in memory; size-1 axes, whose stride means nothing,
    left out."""
    return tuple(sorted((i for i in range(a.ndim) if a.shape[i] > 1), key=lambda i: -a.strides[i]))


class Transpose(Function):
    # y = x with axes permuted;  dx = gy with the inverse permutation
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__))
        return transpose(gy, inverse)


class BroadcastTo(Function):
    # y = x repeated to `shape`;  dx = gy summed back to x's shape
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return B.xp_of(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    # y = x summed down to `shape` (undoing a broadcast);  dx = gy broadcast back
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(self.shape)
                                          if n == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape)

    def backward(self, gy):
        return broadcast_to(gy, self.inputs[0].shape)


def _plain_index(index):
    """Tensors inside an index become arrays; ints, slices and arrays pass through."""
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Tensor) else i for i in index)
    return index.array if isinstance(index, Tensor) else index


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(hasattr(i, "shape") or isinstance(i, list) for i in parts)


class GetItem(Function):
    # y = x[index];  dx = zeros with gy written (added, for repeated indices) at index
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        return GetItemGrad(self.index, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    # y = zeros(shape) with gy added at index;  dgy = ggy[index]
    def __init__(self, index, shape):
        self.index, self.shape = index, shape

    def forward(self, gy):
        out = B.xp_of(gy).zeros(self.shape, dtype=gy.dtype)
        if _is_advanced(self.index):
            B.scatter_add(out, self.index, gy)
        else:
            out[self.index] = gy
        return out

    def backward(self, ggx):
        return getitem(ggx, self.index)


class Concat(Function):
    # y = [x1, x2, ...] joined on axis;  dxi = the slice of gy that xi filled
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return B.xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        axis = self.axis % gy.ndim
        for x in self.inputs:
            index = (slice(None),) * axis + (slice(start, start + x.shape[axis]),)
            grads.append(getitem(gy, index))
            start += x.shape[axis]
        return tuple(grads)


def sum(x, axis=None, keepdims=False):  # noqa: A001  (torch.sum's name)
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    x = x if isinstance(x, Tensor) else Tensor(x)
    count = 1
    for a in _axes(axis, x.ndim):
        count *= x.shape[a]
    return Sum(axis, keepdims)(x) * (1.0 / count)


def reshape(x, *shape):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    x = x if isinstance(x, Tensor) else Tensor(x)
    shape = tuple(shape)
    if shape == x.shape:
        return x
    return Reshape(shape)(x)


def flatten(x, start_dim=1):
    return reshape(x, x.shape[:start_dim] + (-1,))


def transpose(x, *axes):
    x = x if isinstance(x, Tensor) else Tensor(x)
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    axes = tuple(axes) if axes else tuple(reversed(range(x.ndim)))
    return Transpose(axes)(x)


def swapaxes(x, a, b):
    axes = list(range(x.ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, axes)


def broadcast_to(x, shape):
    x = x if isinstance(x, Tensor) else Tensor(x)
    return x if x.shape == tuple(shape) else BroadcastTo(tuple(shape))(x)


def sum_to(x, shape):
    return x if x.shape == tuple(shape) else SumTo(tuple(shape))(x)


def getitem(x, index):
    return GetItem(_plain_index(index))(x)


def concat(xs, axis=0):
    return Concat(axis)(*xs)


def embedding(input, weight):  # noqa: A002  (torch's names)
    """Rows of weight at integer indices of any shape; a repeated index adds up its gradients."""
    index = input.array if isinstance(input, Tensor) else B.xp_of(weight.array).asarray(input)
    if index.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    if index.size and (int(index.min()) < 0 or int(index.max()) >= weight.shape[0]):
        raise IndexError(f"embedding: index out of range: indices must be in [0, "
                         f"{weight.shape[0]}), got {int(index.min())}..{int(index.max())}")
    return GetItem(index)(weight)


def interpolate(input, size=None, scale_factor=None, mode="nearest"):  # noqa: A002
    """Nearest-neighbour resizing of (N, C, *spatial) by whole factors: each value repeated into
    a block (reshape, broadcast, reshape), so its gradient is the sum over its block."""
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    spatial, lead = input.shape[2:], input.shape[:2]
    given = scale_factor if size is None else size
    given = tuple(given) if isinstance(given, (tuple, list)) else (given,) * len(spatial)
    factors = given if size is None else tuple(n / m for n, m in zip(given, spatial))
    if (mode != "nearest" or not 0 < len(factors) == len(spatial)
            or any(f % 1 or f < 1 for f in factors)):
        raise NotImplementedError(f"interpolate: scratchgan has mode='nearest' by whole factors "
                                  f"only; got mode={mode!r} for input {input.shape}, "
                                  f"size={size}, scale_factor={scale_factor}")
    ones = lead + tuple(d for n in spatial for d in (n, 1))
    blocks = lead + tuple(d for n, f in zip(spatial, factors) for d in (n, int(f)))
    return reshape(broadcast_to(reshape(input, ones), blocks),
                   lead + tuple(n * int(f) for n, f in zip(spatial, factors)))
