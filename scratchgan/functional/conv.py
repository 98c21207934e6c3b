"""2-D convolution as im2col + one matrix product, and its transpose.

conv2d's input gradient is conv_transpose2d and the reverse; both weight gradients are
conv2d_weight. Three Functions, each the other's derivative.

The engine's memory layout, explained here once. Feature maps live in (C, H, W, N) memory behind
the usual (N, C, H, W) view, and Dense activations in (features, N) memory behind (N, features):
- a convolution's matrix product reads and writes channel rows (C, H·W·N) directly, so BLAS
  gets its operands without a transposed copy;
- every im2col gather and col2im add then moves runs of N numbers (the batch, contiguous),
  where (C, N, H, W) memory would move runs of W = 7 to 28 numbers at a time.
Element-wise ops keep their input's layout (NumPy and CuPy allocate results in their input's
order), so it holds from one layer to the next. Three rules keep it across the other ops:
``linear`` computes x·Wᵀ as (W·xᵀ)ᵀ, so a Dense output reshaped into maps is already in this
layout; a reshape's gradient and a leaf's ``.grad`` are laid out as their tensor (shape.py,
tensor.py). Every op accepts any strides: the layout is a matter of speed, never of correctness.
"""
from scratchgan import backend as B
from scratchgan.tensor import Function


def _channel_rows(y):
    """(N, C, H, W) -> (C, H·W·N): free when y lives in (C, H, W, N) memory, as conv outputs do."""
    return y.transpose(1, 2, 3, 0).reshape(y.shape[1], -1)


def _maps(rows, N, OH, OW):
    """(C, OH·OW·N) channel rows -> their (N, C, OH, OW) view, without a copy."""
    return rows.reshape(-1, OH, OW, N).transpose(3, 0, 1, 2)


def _size(n, k, stride, padding):
    """Output size of a convolution along one axis."""
    return (n + 2 * padding - k) // stride + 1


def _output_paddings(x, y, k, stride, padding):
    """The output_padding that makes conv_transpose2d give back x's size from y's."""
    return tuple(a - ((b - 1) * stride - 2 * padding + n) for a, b, n in zip(x[2:], y[2:], k))


class Conv2d(Function):
    # y = W ⋆ x + b (cross-correlation), as y = W·im2col(x) + b;
    # dx = conv_transpose2d(gy, W),  dW = conv2d_weight(x, gy),  db = Σ gy
    def __init__(self, stride, padding):
        self.stride, self.padding = stride, padding

    def forward(self, x, w, b=None):
        O, C, kh, kw = w.shape
        OH, OW = (_size(n, k, self.stride, self.padding) for n, k in zip(x.shape[2:], (kh, kw)))
        y = B.matmul(w.reshape(O, -1), B.im2col(x, kh, kw, self.stride, self.padding))
        if b is not None:
            y += b.reshape(O, 1)  # in the product's fresh output: no array of its own
        return _maps(y, x.shape[0], OH, OW)

    def backward(self, gy):
        x, w = self.inputs[:2]
        s, p, k = self.stride, self.padding, w.shape[2:]
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gx = ConvTranspose2d(s, p, _output_paddings(x.shape, gy.shape, k, s, p))(gy, w)
        if self.needs_input_grad[1]:
            gw = Conv2dWeight(k, s, p)(x, gy)
        if len(self.inputs) == 3 and self.needs_input_grad[2]:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb


class ConvTranspose2d(Function):
    # y = Wᵀ ⋆ x: each input pixel stamps W, scaled, into the output, as y = col2im(Wᵀ·x);
    # dx = conv2d(gy, W),  dW = conv2d_weight(gy, x)
    def __init__(self, stride, padding, output_padding):
        self.stride, self.padding = stride, padding
        self.output_padding = (output_padding if isinstance(output_padding, tuple)
                               else (output_padding,) * 2)

    def forward(self, x, w):
        s, p = self.stride, self.padding
        size = tuple((n - 1) * s - 2 * p + k + extra
                     for n, k, extra in zip(x.shape[2:], w.shape[2:], self.output_padding))
        return _transposed(w, _channel_rows(x), x.shape, s, p, size)

    def backward(self, gy):
        x, w = self.inputs
        s, p, k = self.stride, self.padding, w.shape[2:]
        gx = Conv2d(s, p)(gy, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeight(k, s, p)(gy, x) if self.needs_input_grad[1] else None
        return gx, gw

    def fast_backward(self, gy):  # backward's two products on arrays, sharing one im2col of gy
        (x, w), needs = (t.array for t in self.inputs), self.needs_input_grad
        cols = B.im2col(gy, *w.shape[2:], self.stride, self.padding)
        rows = w.reshape(w.shape[0], -1)
        gx = _maps(B.matmul(rows, cols), x.shape[0], *x.shape[2:]) if needs[0] else None
        gw = B.matmul(_channel_rows(x), cols.T).reshape(w.shape) if needs[1] else None
        return gx, gw


def _transposed(w, rows, shape, s, p, size):  # col2im(Wᵀ·rows): rows of `shape` maps -> `size`
    taps = B.matmul(w.reshape(w.shape[0], -1).T, rows)  # (C_out·kh·kw, H·W·N)
    return B.col2im(taps.reshape(w.shape[1], *w.shape[2:], *shape[2:], shape[0]), s, p, size)


class Conv2dWeight(Function):
    # dW = gy ⋆ x: each output map correlated with the patches it saw, as gy·im2col(x)ᵀ;
    # its own gradients: d(x) = conv_transpose2d(gy, ggW),  d(gy) = conv2d(x, ggW)
    def __init__(self, kernel_size, stride, padding):
        self.kernel_size, self.stride, self.padding = tuple(kernel_size), stride, padding

    def forward(self, x, gy):
        (kh, kw), s, p = self.kernel_size, self.stride, self.padding
        OH, OW = (_size(n, k, s, p) for n, k in zip(x.shape[2:], (kh, kw)))
        gw = B.matmul(_channel_rows(gy[:, :, :OH, :OW]), B.im2col(x, kh, kw, s, p).T)
        return gw.reshape(gy.shape[1], x.shape[1], kh, kw)

    def backward(self, ggw):
        x, gy = self.inputs
        s, p, (kh, kw) = self.stride, self.padding, self.kernel_size
        extra = _output_paddings(x.shape, gy.shape, (kh, kw), s, p)
        gx = ConvTranspose2d(s, p, extra)(gy, ggw) if self.needs_input_grad[0] else None
        ggy = Conv2d(s, p)(x, ggw) if self.needs_input_grad[1] else None
        return gx, ggy


def _pair_check(name, value):
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def _check(op, x, w, in_axis):
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {w.shape}")
    if x.shape[1] != w.shape[in_axis]:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but the weight {w.shape} "
                         f"expects {w.shape[in_axis]}")


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """Cross-correlation of x (N, C, H, W) with weight (out, C, kh, kw), as torch's conv2d."""
    _check("conv2d", x, weight, 1)
    _pair_check("padding", padding)
    if stride < 1:
        raise ValueError(f"conv2d: stride must be >= 1, got {stride}")
    kh, kw = weight.shape[2:]
    if x.shape[2] + 2 * padding < kh or x.shape[3] + 2 * padding < kw:
        raise ValueError(f"conv2d: input {x.shape} with padding {padding} is smaller than the "
                         f"{kh}x{kw} kernel")
    if bias is None:
        return Conv2d(stride, padding)(x, weight)
    if tuple(bias.shape) != weight.shape[:1]:
        raise ValueError(f"conv2d: bias of shape {tuple(bias.shape)} for {weight.shape[0]} "
                         "output channels")
    return Conv2d(stride, padding)(x, weight, bias)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    """Transposed convolution of x (N, C, H, W) with weight (C, out, kh, kw), as torch's."""
    _check("conv_transpose2d", x, weight, 0)
    _pair_check("padding", padding)
    _pair_check("output_padding", output_padding)
    if output_padding >= stride:
        raise ValueError(f"conv_transpose2d: output_padding ({output_padding}) must be smaller "
                         f"than stride ({stride})")
    y = ConvTranspose2d(stride, padding, output_padding)(x, weight)
    if y.shape[2] <= 0 or y.shape[3] <= 0:
        raise ValueError(f"conv_transpose2d: padding {padding} leaves no output for input "
                         f"{x.shape}")
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def conv2d_weight(x, grad_output, kernel_size, stride=1, padding=0):
    """The gradient of conv2d with respect to its weight (differentiable in x and grad_output)."""
    return Conv2dWeight(kernel_size, stride, padding)(x, grad_output)


def im2col(x, kh, kw, stride=1, padding=0):
    """An (N, C, H, W) array -> (columns (C·kh·kw, N·OH·OW), OH, OW): column (n, oh, ow) is the
    patch that output pixel (oh, ow) of image n sees. Lesson 04's view; the engine's own
    ``backend.im2col`` orders its columns (oh, ow, n), to match (C, H, W, N) memory."""
    OH, OW = (_size(n, k, stride, padding) for n, k in zip(x.shape[2:], (kh, kw)))
    cols = B.im2col(x, kh, kw, stride, padding).reshape(-1, OH, OW, x.shape[0])
    return cols.transpose(0, 3, 1, 2).reshape(cols.shape[0], -1), OH, OW
