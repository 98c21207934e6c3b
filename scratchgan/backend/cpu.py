"""The NumPy backend: plain.py's kernels again, fast on a multicore CPU.

NumPy runs each call on one core and allocates every result afresh. Here the big calls are cut
into parts that run at once on the CPU's threads (threads.py: cutting never changes a number),
written into memory from a pool (memory.py), and fused where NumPy would make temporary arrays.
Each kernel computes what its namesake in plain.py computes; tests/test_kernels.py checks that.
"""
import numpy

from scratchgan.backend import threads
from scratchgan.backend.memory import MemoryPool
from scratchgan.backend.plain import (DTYPE, Backend, channel_shape, in_memory_order, stat_axes,
                                      tap_overlap)

RANDOM_PIECE = 2 ** 18  # numbers per generator when a big random array is drawn in parallel
CHANNEL_BLOCK = 16  # col2im: output channels that stay in cache through all the kernel taps
ADAM_BLOCK = 2 ** 16  # elements: Adam's dozen passes over five arrays run on a block in cache


class NumpyBackend(Backend):
    def __init__(self, seed=0):
        self.pool = MemoryPool()
        super().__init__("numpy", numpy, numpy.ndarray, seed)

    def empty(self, shape, dtype=DTYPE):
        return self.pool.empty(tuple(shape), dtype)

    def as_strided(self, a, shape, strides):
        return numpy.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)

    def uniform(self, shape, dtype=DTYPE):
        """A big array in pieces of fixed size, each from a generator seeded by this one, drawn
        on the threads at once: the same numbers for any number of threads."""
        size = int(numpy.prod(shape))
        if size < 2 * RANDOM_PIECE:
            return self.generator.random(shape, dtype=dtype)
        seeds = self.generator.integers(2 ** 63, size=-(-size // RANDOM_PIECE))
        out = self.empty(shape, dtype)
        flat = out.reshape(-1)

        def draw(first, last):
            for i in range(first, last):
                piece = flat[i * RANDOM_PIECE:(i + 1) * RANDOM_PIECE]
                numpy.random.Generator(numpy.random.PCG64(seeds[i])).random(dtype=dtype, out=piece)
        threads.parallel_range(draw, len(seeds))
        return out

    # -- kernels --
    def matmul(self, a, b):
        """Cut by rows of a or columns of b, a part per thread, when the product is big."""
        (m, k), n = a.shape, b.shape[1]
        if k == 1:  # an outer product: no sums to do, and BLAS is slow at it
            out = self.empty((m, n), numpy.result_type(a, b))
            threads.parallel_slices(lambda out, a: numpy.multiply(a, b, out=out), out, a, axis=0)
            return out
        if threads.threads_run_by() == "blas" or m * n * k < threads.SPLIT_MATMUL:
            return numpy.matmul(a, b)
        out = self.empty((m, n), numpy.result_type(a, b))
        # Parts of at least 2^21 multiply-adds: BLAS has kernels of its own for smaller products,
        # which could round differently from the whole product's.
        if n >= m:
            grain = max(64, -(-2 ** 21 // (m * k)))
            threads.parallel_range(lambda i, j: numpy.matmul(a, b[:, i:j], out=out[:, i:j]),
                                   n, grain)
        else:
            grain = max(64, -(-2 ** 21 // (n * k)))
            threads.parallel_range(lambda i, j: numpy.matmul(a[i:j], b, out=out[i:j]), m, grain)
        return out

    def multiply(self, a, b):
        if a.shape != b.shape or a.strides != b.strides:
            return a * b
        y = self.empty_like(a)
        threads.parallel_slices(lambda a, b, y: numpy.multiply(a, b, out=y), a, b, y)
        return y

    def leaky_relu(self, x, slope):
        if not 0 <= slope <= 1:
            return super().leaky_relu(x, slope)
        y = self.empty_like(x)

        def max_of_x_and_slope_x(x, y):  # no boolean mask, no second array
            numpy.multiply(x, x.dtype.type(slope), out=y)
            numpy.maximum(y, x, out=y)
        threads.parallel_slices(max_of_x_and_slope_x, x, y)
        return y

    def leaky_relu_grad(self, gy, x, slope):
        # The derivative by arithmetic on the mask, (1 − slope)·[x > 0] + slope, times gy in
        # place: where() on a random mask is several times slower.
        gx = self.empty_like(x)

        def fill(gy, x, gx):
            numpy.multiply(x > 0, x.dtype.type(1 - slope), out=gx)
            gx += x.dtype.type(slope)
            gx *= gy
        threads.parallel_slices(fill, gy, x, gx)
        return gx

    def dropout_mask(self, like, p):
        draws = in_memory_order(like, lambda shape: self.uniform(shape, like.dtype))
        scale = like.dtype.type(1 / (1 - p))
        threads.parallel_slices(lambda d: numpy.multiply(d >= p, scale, out=d), draws)
        return draws  # now the mask, in the draws' memory

    def im2col(self, x, kh, kw, stride, padding):
        N, C, H, W = x.shape
        p = padding
        padded = self.empty((C, H + 2 * p, W + 2 * p, N), x.dtype)
        if p:  # zero only the border: the inside is overwritten next
            padded[:, :p] = padded[:, -p:] = padded[:, :, :p] = padded[:, :, -p:] = 0
        _copy(padded[:, p:p + H, p:p + W], x.transpose(1, 2, 3, 0))
        windows = self.windows(padded, kh, kw, stride)
        cols = self.empty(windows.shape, x.dtype)
        _copy(cols, windows)  # the one copy, in runs of N
        return cols.reshape(C * kh * kw, -1)

    def col2im(self, taps, stride, padding, size):
        C, kh, kw, H, W, N = taps.shape
        if (H, W, stride, padding, tuple(size)) == (1, 1, 1, 0, (kh, kw)):
            return taps.reshape(C, kh, kw, N).transpose(3, 0, 1, 2)  # one stamp each: no sums
        out = self.empty((C, *size, N), taps.dtype)
        rows = [tap_overlap(i, H, size[0], stride, padding) for i in range(kh)]
        columns = [tap_overlap(j, W, size[1], stride, padding) for j in range(kw)]

        def add_taps(first, last):  # output channels first:last
            for c in range(first, last, CHANNEL_BLOCK):
                channels = slice(c, min(c + CHANNEL_BLOCK, last))
                out[channels] = 0
                for i, (rows_in, rows_out) in enumerate(rows):
                    for j, (cols_in, cols_out) in enumerate(columns):
                        out[channels, rows_out, cols_out] += taps[channels, i, j, rows_in, cols_in]
        threads.parallel_range(add_taps, C, grain=CHANNEL_BLOCK)
        return out.transpose(3, 0, 1, 2)

    def batch_norm(self, x, gamma, beta, eps):
        shape = channel_shape(x.ndim, x.shape[1])
        mean, var = numpy.empty(shape, x.dtype), numpy.empty(shape, x.dtype)
        y = self.empty_like(x)

        def normalize(x, y, mean, var, gamma, beta):  # one piece of the channels
            axes, count = stat_axes(x.ndim), x.size // x.shape[1]
            x.mean(axis=axes, keepdims=True, out=mean)
            numpy.subtract(x, mean, out=y)
            var[...] = _sum_of_products(y, y).reshape(var.shape) * (1.0 / count)
            y *= gamma / numpy.sqrt(var + eps)
            y += beta
        threads.parallel_slices(normalize, x, y, mean, var, gamma.reshape(shape),
                                beta.reshape(shape), axis=1)  # the channels are independent
        return y, mean.reshape(-1), var.reshape(-1)

    def batch_norm_grad(self, gy, x, gamma, mean, var, eps):
        shape = channel_shape(x.ndim, x.shape[1])
        gbeta, ggamma = numpy.empty(shape, gy.dtype), numpy.empty(shape, gy.dtype)
        gx = self.empty_like(gy)

        def gradients(gy, x, gx, gbeta, ggamma, gamma, mean, var):  # one piece of the channels
            count = gy.size // gy.shape[1]
            invstd = 1 / numpy.sqrt(var + eps)
            gy.sum(axis=stat_axes(gy.ndim), keepdims=True, out=gbeta)
            numpy.subtract(x, mean, out=gx)  # x − μ, so x̂ = gx·invstd is never stored
            ggamma[...] = _sum_of_products(gy, gx).reshape(ggamma.shape) * invstd  # Σ gy·x̂
            gx *= invstd * ggamma * (1.0 / count)  # x̂·mean(gy·x̂)
            gx -= gy
            gx += gbeta * (1.0 / count)  # now −(gy − mean(gy) − x̂·mean(gy·x̂))
            gx *= -(gamma * invstd)
        threads.parallel_slices(gradients, gy, x, gx, gbeta, ggamma, gamma.reshape(shape),
                                mean.reshape(shape), var.reshape(shape), axis=1)
        return gx, ggamma.reshape(-1), gbeta.reshape(-1)

    def adam(self, p, g, m, v, beta1, beta2, step_size, root_correction2, eps):
        """Block by block in cache, with one temporary per block and no new array per pass."""
        if p.ndim == 0:
            return super().adam(p, g, m, v, beta1, beta2, step_size, root_correction2, eps)
        rows = max(1, ADAM_BLOCK // max(1, p.size // p.shape[0]))
        for start in range(0, p.shape[0], rows):
            block = slice(start, start + rows)
            p_, g_, m_, v_ = p[block], g[block], m[block], v[block]
            work = numpy.multiply(g_, 1 - beta1)
            m_ *= beta1
            m_ += work
            numpy.multiply(g_, g_, out=work)
            work *= 1 - beta2
            v_ *= beta2
            v_ += work
            if step_size == 0:  # lr 0: the moments move, the parameters do not
                continue
            # step_size·m/(√v/c2 + eps) = m/(√v/(c2·step_size) + eps/step_size): one pass fewer
            numpy.sqrt(v_, out=work)
            work *= 1.0 / (root_correction2 * step_size)
            work += eps / step_size
            p_ -= numpy.divide(m_, work, out=work)


def _copy(target, source):
    """target[...] = source, a piece per CPU thread, cut along the longest leading axis."""
    axis = max(range(target.ndim - 1), key=lambda a: target.shape[a])
    threads.parallel_slices(_assign, target, source, axis=axis)


def _assign(target, source):
    target[...] = source


def _sum_of_products(a, b):
    """Σ a·b over every axis but the channels (axis 1), without the product array."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    return numpy.einsum(f"{letters},{letters}->{letters[1]}", a, b)
