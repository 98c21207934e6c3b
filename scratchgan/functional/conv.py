"""2-D convolution as im2col + one matrix product, and its transpose.

Feature maps live in (C, H, W, N) memory behind the usual (N, C, H, W) view, for two reasons:
- a convolution's matrix product reads and writes channel rows (C, H·W·N) directly, so BLAS
  gets its operands without a transposed copy;
- every im2col gather and col2im add then moves runs of N numbers (the batch, contiguous),
  where (C, N, H, W) memory would move runs of W = 7 to 28 numbers at a time.
Element-wise ops keep the layout (NumPy and CuPy allocate results in their input's order), so
it holds from one convolution to the next. Every op accepts any strides: this is a matter of
speed, never of correctness.

conv2d's input gradient is conv_transpose2d and the reverse; both weight gradients are
conv2d_weight. Three Functions, each the other's derivative.
"""
import math
import threading

from scratchgan import backend as B
from scratchgan.tensor import Function

_workspaces = threading.local()
WORKSPACE_LIMIT = 128 * 2 ** 20  # bytes; a bigger temporary (inference on a huge batch) is not kept


def _workspace(xp, shape, dtype, use="columns"):
    """Scratch memory for a temporary that dies inside one op (im2col columns, col2im's taps).

    A fresh array of tens of MB costs thousands of page faults, each page zero-filled by the
    kernel: a tenth of a DCGAN step on a CPU. One buffer per use and thread, grown to the largest
    request and reused, avoids it. Safe because ops run one at a time and never return this memory.
    """
    size, key = math.prod(shape), (xp, dtype, use)
    if size * dtype.itemsize > WORKSPACE_LIMIT:
        return xp.empty(shape, dtype=dtype)
    buffer = _workspaces.__dict__.get(key)
    if buffer is None or buffer.size < size:
        _workspaces.__dict__[key] = None  # let the old one go before asking for the new one
        buffer = _workspaces.__dict__[key] = xp.empty(size, dtype=dtype)
    return buffer[:size].reshape(shape)


def _batch_last(x, padding, scratch=False):
    """(N, C, H, W) -> contiguous (C, H + 2p, W + 2p, N), zero-padded; free if x already is that.

    With ``scratch`` the padded copy is made in a workspace, valid until the next op's.
    """
    N, C, H, W = x.shape
    xt = x.transpose(1, 2, 3, 0)
    xp, p = B.xp_of(x), padding
    if p == 0:
        return xp.ascontiguousarray(xt)
    shape = (C, H + 2 * p, W + 2 * p, N)
    if not scratch:
        out = xp.zeros(shape, dtype=x.dtype)
    else:  # zero only the border: the inside is overwritten next
        out = _workspace(xp, shape, x.dtype, "padded")
        out[:, :p] = out[:, -p:] = out[:, :, :p] = out[:, :, -p:] = 0
    _copy(out[:, p:p + H, p:p + W], xt)
    return out


def _windows(x, kh, kw, stride, padding, scratch=False):
    """Every patch as one strided view (C, kh, kw, OH, OW, N): [c, i, j, oh, ow, n] = x[n, c, oh·s + i, ow·s + j]."""
    xc = _batch_last(x, padding, scratch)
    C, Hp, Wp, N = xc.shape
    OH, OW = (Hp - kh) // stride + 1, (Wp - kw) // stride + 1
    sC, sH, sW, sN = xc.strides
    return B.as_strided(xc, (C, kh, kw, OH, OW, N), (sC, sH, sW, sH * stride, sW * stride, sN))


def _columns(x, kh, kw, stride, padding):
    """The engine's im2col: cols (C*kh*kw, OH*OW*N) in the workspace, columns in (C, H, W, N) order.

    Valid until the next op asks for the workspace.
    """
    windows = _windows(x, kh, kw, stride, padding, scratch=True)
    C, _, _, OH, OW, N = windows.shape
    cols = _workspace(B.xp_of(x), (C * kh * kw, OH * OW * N), x.dtype)
    _copy(cols.reshape(windows.shape), windows)  # the one copy, in runs of N
    return cols, OH, OW


def _copy(target, source):
    """target[...] = source, a piece per CPU thread, cut along the longest leading axis."""
    axis = max(range(target.ndim - 1), key=lambda a: target.shape[a])
    B.in_pieces(_assign, target, source, axis=axis)


def _assign(target, source):
    target[...] = source


def im2col(x, kh, kw, stride, padding):
    """(N, C, H, W) -> cols (C*kh*kw, N*OH*OW): column (n, oh, ow) is the patch output (oh, ow) sees."""
    windows = _windows(x, kh, kw, stride, padding)
    C, _, _, OH, OW, N = windows.shape
    return windows.transpose(0, 1, 2, 5, 3, 4).reshape(C * kh * kw, N * OH * OW), OH, OW


def col2im(cols, stride, padding, OH, OW):
    """cols (C, kh, kw, H, W, N) -> (N, C, OH, OW): every kernel tap adds its strided slice.

    Tap (i, j) of input pixel (h, w) lands on output pixel (h·s + i − p, w·s + j − p); what
    falls into the padding is never computed.
    """
    C, kh, kw, H, W, N = cols.shape
    out = B.empty((C, OH, OW, N), cols.dtype, like=cols)
    rows = [_tap_overlap(i, H, OH, stride, padding) for i in range(kh)]
    columns = [_tap_overlap(j, W, OW, stride, padding) for j in range(kw)]

    def add_taps(first, last):  # output channels first:last
        for c in range(first, last, 16):  # 16 channels of output stay in cache through all the taps
            channels = slice(c, min(c + 16, last))
            out[channels] = 0
            for i, (rows_in, rows_out) in enumerate(rows):
                for j, (cols_in, cols_out) in enumerate(columns):
                    out[channels, rows_out, cols_out] += cols[channels, i, j, rows_in, cols_in]
    B.in_parts(add_taps, C, like=cols, grain=16)  # a part of the channels per CPU thread
    return out.transpose(3, 0, 1, 2)


def _tap_overlap(i, n_in, n_out, stride, padding):
    """(input slice, output slice) along one axis: the inputs whose tap i lands in the output."""
    first = max(0, -((i - padding) // stride))  # the smallest h with h·s + i − p >= 0
    last = min(n_in - 1, (n_out - 1 + padding - i) // stride)
    if last < first:
        return slice(0, 0), slice(0, 0)
    start = first * stride + i - padding
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


def _channel_rows(y):
    """(N, C, H, W) -> (C, H*W*N); free when y is already in (C, H, W, N) memory."""
    return y.transpose(1, 2, 3, 0).reshape(y.shape[1], -1)


def _size(n, k, stride, padding):
    """Output size of a convolution along one axis."""
    return (n + 2 * padding - k) // stride + 1


def _output_padding(in_size, out_size, k, stride, padding):
    """The output_padding that makes conv_transpose2d give back `in_size` from `out_size`."""
    return in_size - ((out_size - 1) * stride - 2 * padding + k)


class Conv2d(Function):
    # y = W ⋆ x + b (cross-correlation);  dx = conv_transpose2d(gy, W), dW = conv2d_weight(x, gy), db = Σ gy
    def __init__(self, stride, padding, columns=None):
        self.stride, self.padding = stride, padding
        self.columns = columns  # im2col(x) when the caller has it already

    def forward(self, x, w, b=None):
        O, C, kh, kw = w.shape
        cols, self.columns = self.columns, None
        if cols is None:
            cols = _columns(x, kh, kw, self.stride, self.padding)[0]
        OH, OW = (_size(n, k, self.stride, self.padding) for n, k in zip(x.shape[2:], (kh, kw)))
        y = B.matmul(w.reshape(O, C * kh * kw), cols)
        if b is not None:
            y += b.reshape(O, 1)  # in the product's fresh output: no array of its own
        return y.reshape(O, OH, OW, x.shape[0]).transpose(3, 0, 1, 2)

    def backward(self, gy):
        x, w = self.inputs[:2]
        s, p, k = self.stride, self.padding, w.shape[2:]
        gx = gw = None
        if self.needs_input_grad[0]:
            extra = (_output_padding(x.shape[2], gy.shape[2], k[0], s, p),
                     _output_padding(x.shape[3], gy.shape[3], k[1], s, p))
            gx = ConvTranspose2d(s, p, extra)(gy, w)
        if self.needs_input_grad[1]:
            gw = Conv2dWeight(k, s, p)(x, gy)
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, gy.sum((0, 2, 3)) if self.needs_input_grad[2] else None


class ConvTranspose2d(Function):
    # y = Wᵀ ⋆ x (each input pixel stamps W, scaled, into the output);  dx = conv2d(gy, W), dW = conv2d_weight(gy, x)
    def __init__(self, stride, padding, output_padding):
        self.stride, self.padding = stride, padding
        self.output_padding = output_padding if isinstance(output_padding, tuple) else (output_padding,) * 2

    def forward(self, x, w):
        N, C_in, H, W = x.shape
        _, C_out, kh, kw = w.shape
        s, p = self.stride, self.padding
        OH = (H - 1) * s - 2 * p + kh + self.output_padding[0]
        OW = (W - 1) * s - 2 * p + kw + self.output_padding[1]
        taps = _workspace(B.xp_of(x), (C_out * kh * kw, H * W * N), x.dtype)
        B.matmul(w.reshape(C_in, C_out * kh * kw).T, _channel_rows(x), out=taps)
        return col2im(taps.reshape(C_out, kh, kw, H, W, N), s, p, OH, OW)

    def backward(self, gy):
        x, w = self.inputs
        s, p, k = self.stride, self.padding, w.shape[2:]
        # Both gradients correlate gy's patches with something: gather those patches once.
        cols = _columns(gy.data, *k, s, p)[0] if all(self.needs_input_grad) else None
        gx = Conv2d(s, p, cols)(gy, w) if self.needs_input_grad[0] else None
        gw = Conv2dWeight(k, s, p, cols)(gy, x) if self.needs_input_grad[1] else None
        return gx, gw


class Conv2dWeight(Function):
    # dW = gy ⋆ x (each output map correlated with the patches it saw);  d(x) = conv_transpose2d(gy, ggW), d(gy) = conv2d(x, ggW)
    def __init__(self, kernel_size, stride, padding, columns=None):
        self.kernel_size, self.stride, self.padding = tuple(kernel_size), stride, padding
        self.columns = columns  # im2col(x) when the caller has it already

    def forward(self, x, gy):
        kh, kw = self.kernel_size
        cols, self.columns = self.columns, None
        if cols is None:
            cols = _columns(x, kh, kw, self.stride, self.padding)[0]
        OH, OW = (_size(n, k, self.stride, self.padding) for n, k in zip(x.shape[2:], (kh, kw)))
        gw = B.matmul(_channel_rows(gy[:, :, :OH, :OW]), cols.T)
        return gw.reshape(gy.shape[1], x.shape[1], kh, kw)

    def backward(self, ggw):
        x, gy = self.inputs
        s, p, (kh, kw) = self.stride, self.padding, self.kernel_size
        gx = ggy = None
        if self.needs_input_grad[0]:
            extra = (_output_padding(x.shape[2], gy.shape[2], kh, s, p),
                     _output_padding(x.shape[3], gy.shape[3], kw, s, p))
            gx = ConvTranspose2d(s, p, extra)(gy, ggw)
        if self.needs_input_grad[1]:
            ggy = Conv2d(s, p)(x, ggw)
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
        raise ValueError(f"conv2d: bias of shape {tuple(bias.shape)} for {weight.shape[0]} output channels")
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
        raise ValueError(f"conv_transpose2d: padding {padding} leaves no output for input {x.shape}")
    return y if bias is None else y + bias.reshape(1, -1, 1, 1)


def conv2d_weight(x, grad_output, kernel_size, stride=1, padding=0):
    """The gradient of conv2d with respect to its weight (differentiable in x and grad_output)."""
    return Conv2dWeight(kernel_size, stride, padding)(x, grad_output)
