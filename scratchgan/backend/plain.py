"""A backend: an array module, a random generator, and the kernels that the ops call.

Every kernel here is its plain formula on the array module ``xp``, and runs unchanged on any of
them: CuPy's backend (gpu.py) is this class as it is. The NumPy backend (cpu.py) writes the same
kernels again, cut into parts on the CPU's threads; tests/test_kernels.py checks the two equal.
"""
import numpy

DTYPE = numpy.float32


class BackendError(RuntimeError):
    """A backend was asked for that this machine cannot give."""


def in_memory_order(a, make):
    """make(shape) for ``a``'s shape, laid out in memory as ``a`` is (any array module).

    A mask or an output for a (C, H, W, N) feature map must not be (N, C, H, W): an element-wise
    op over two layouts strides through one of them.
    """
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    inverse = sorted(range(a.ndim), key=order.__getitem__)
    return make(tuple(a.shape[i] for i in order)).transpose(inverse)


def stat_axes(ndim):
    """The axes batch norm averages over: every one but the channels (axis 1)."""
    return (0, *range(2, ndim))


def channel_shape(ndim, channels):
    """(1, C, 1, 1) for 4-D input: a per-channel value that broadcasts over the others."""
    return (1, channels) + (1,) * (ndim - 2)


def tap_overlap(i, n_in, n_out, stride, padding):
    """(input slice, output slice) along one axis: the inputs whose kernel tap i lands in the
    output.

    Tap i of input pixel h lands on output pixel h·s + i − p; what falls into the padding is
    never computed.
    """
    first = max(0, -((i - padding) // stride))  # the smallest h with h·s + i − p >= 0
    last = min(n_in - 1, (n_out - 1 + padding - i) // stride)
    if last < first:
        return slice(0, 0), slice(0, 0)
    start = first * stride + i - padding
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


class Backend:
    """An array module plus the handful of functions whose spelling differs between libraries."""

    def __init__(self, name, xp, array_type, seed=0):
        self.name, self.xp, self.array_type = name, xp, array_type
        self.seed(seed)

    def __repr__(self):
        return f"Backend({self.name!r})"

    # -- random numbers: one generator per backend, float32 unless asked otherwise --
    def seed(self, n):
        self.generator = numpy.random.default_rng(n)

    def normal(self, shape, dtype=DTYPE):
        return self.xp.asarray(self.generator.standard_normal(shape, dtype=dtype))

    def uniform(self, shape, dtype=DTYPE):
        """Uniform on [0, 1)."""
        return self.xp.asarray(self.generator.random(shape, dtype=dtype))

    def get_rng_state(self):
        return self.generator.bit_generator.state

    def set_rng_state(self, state):
        self.generator.bit_generator.state = state

    # -- arrays --
    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        return numpy.array(a, copy=True)

    def as_strided(self, a, shape, strides):
        return self.xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)

    def scatter_add(self, target, index, values):
        self.xp.add.at(target, index, values)

    def synchronize(self):
        pass

    def empty(self, shape, dtype=DTYPE):
        return self.xp.empty(shape, dtype=dtype)

    def empty_like(self, a):
        """An uninitialised array shaped as ``a`` and laid out in memory as it is."""
        return in_memory_order(a, lambda shape: self.empty(shape, a.dtype))

    # -- kernels: the few calls where the CPU needs a fast path, each here as its formula --
    def matmul(self, a, b):
        return self.xp.matmul(a, b)

    def multiply(self, a, b):
        return a * b

    def leaky_relu(self, x, slope):
        return self.xp.where(x > 0, x, x * slope)

    def leaky_relu_grad(self, gy, x, slope):
        return self.xp.where(x > 0, gy, gy * slope)

    def dropout_mask(self, like, p):
        """1/(1 − p) where a uniform draw is at least p, else 0; laid out in memory as ``like``."""
        draws = in_memory_order(like, lambda shape: self.uniform(shape, like.dtype))
        return (draws >= p).astype(like.dtype) * like.dtype.type(1 / (1 - p))

    def im2col(self, x, kh, kw, stride, padding):
        """(N, C, H, W) -> columns (C·kh·kw, OH·OW·N): column (oh, ow, n) is the patch of x[n]
        that output pixel (oh, ow) sees, rows in (c, i, j) order, so that a convolution is
        W.reshape(O, -1) @ columns."""
        N, C, H, W = x.shape
        p = padding
        padded = self.xp.zeros((C, H + 2 * p, W + 2 * p, N), dtype=x.dtype)
        padded[:, p:p + H, p:p + W] = x.transpose(1, 2, 3, 0)
        windows = self.windows(padded, kh, kw, stride)
        return self.xp.ascontiguousarray(windows).reshape(C * kh * kw, -1)

    def windows(self, padded, kh, kw, stride):
        """Every patch of a padded (C, H, W, N) map as one strided view (C, kh, kw, OH, OW, N)."""
        C, H, W, N = padded.shape
        OH, OW = (H - kh) // stride + 1, (W - kw) // stride + 1
        sC, sH, sW, sN = padded.strides
        return self.as_strided(padded, (C, kh, kw, OH, OW, N),
                               (sC, sH, sW, sH * stride, sW * stride, sN))

    def col2im(self, taps, stride, padding, size):
        """taps (C, kh, kw, H, W, N) -> (N, C, OH, OW), OH, OW = size: each input pixel's kernel
        taps added where they land, the sum im2col's transpose computes."""
        C, kh, kw, H, W, N = taps.shape
        out = self.xp.zeros((C, *size, N), dtype=taps.dtype)
        for i in range(kh):
            rows_in, rows_out = tap_overlap(i, H, size[0], stride, padding)
            for j in range(kw):
                cols_in, cols_out = tap_overlap(j, W, size[1], stride, padding)
                out[:, rows_out, cols_out] += taps[:, i, j, rows_in, cols_in]
        return out.transpose(3, 0, 1, 2)

    def batch_norm(self, x, gamma, beta, eps):
        """(y, mean, var): y = γ·(x − μ)/√(σ² + eps) + β, statistics per channel (biased σ²)."""
        axes, shape = stat_axes(x.ndim), channel_shape(x.ndim, x.shape[1])
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mean) / self.xp.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)
        return y, mean.reshape(-1), var.reshape(-1)

    def batch_norm_grad(self, gy, x, gamma, mean, var, eps):
        """(dx, dγ, dβ): dx = γ/σ·(gy − mean(gy) − x̂·mean(gy·x̂)), dγ = Σ gy·x̂, dβ = Σ gy."""
        axes, shape = stat_axes(x.ndim), channel_shape(x.ndim, x.shape[1])
        count = x.size // x.shape[1]
        invstd = 1 / self.xp.sqrt(var.reshape(shape) + eps)
        xhat = (x - mean.reshape(shape)) * invstd
        gbeta = gy.sum(axis=axes, keepdims=True)
        ggamma = (gy * xhat).sum(axis=axes, keepdims=True)
        gx = gamma.reshape(shape) * invstd * (gy - gbeta / count - xhat * (ggamma / count))
        return gx, ggamma.reshape(-1), gbeta.reshape(-1)

    def adam(self, p, g, m, v, beta1, beta2, step_size, root_correction2, eps):
        """One Adam update of p, m and v in place (see optim.Adam for the symbols)."""
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        p -= step_size * m / (self.xp.sqrt(v) / root_correction2 + eps)

