"""Layers: each holds its parameters and calls one op from scratchgan.functional."""
import math

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.nn.module import Module, Parameter
from scratchgan.tensor import Tensor


def _uniform(shape, bound):
    """U(-bound, bound) on the active backend: PyTorch's default for weights and biases."""
    return (B.uniform(shape) * (2 * bound) - bound).astype(B.DTYPE)


class ShapeError(ValueError):
    """A layer got an input of the wrong shape."""


class Linear(Module):
    """y = x Wᵀ + b, W of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = Parameter(_uniform((out_features, in_features), bound))
        self.bias = Parameter(_uniform((out_features,), bound)) if bias else None

    def forward(self, x):
        if x.ndim < 2 or x.shape[-1] != self.in_features:
            raise ShapeError(f"{self!r}: expected input of shape (N, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _pair(layer, value):
    """PyTorch's (v, v) for an int v; scratchgan's convolutions take equal pairs only."""
    a, b = value if isinstance(value, (tuple, list)) else (value, value)
    if a != b:
        raise ValueError(f"{type(layer).__name__}: only square kernels, strides and paddings, "
                         f"got {value}")
    return (a, b)


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, bias, weight_shape,
                 fan_in):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (_pair(self, v) for v in
                                                       (kernel_size, stride, padding))
        k = self.kernel_size[0]
        bound = 1 / math.sqrt(fan_in * k * k)
        self.weight = Parameter(_uniform(weight_shape + (k, k), bound))
        self.bias = Parameter(_uniform((out_channels,), bound)) if bias else None

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{self!r}: expected a 4-D input (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        s += f", padding={self.padding}" if any(self.padding) else ""
        extra = getattr(self, "output_padding", (0, 0))
        s += f", output_padding={extra}" if any(extra) else ""
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D cross-correlation; weight (out_channels, in_channels, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (out_channels, in_channels), fan_in=in_channels)

    def forward(self, x):
        self._check_input(x)
        k, p = self.kernel_size[0], self.padding[0]
        if x.shape[2] + 2 * p < k or x.shape[3] + 2 * p < k:
            raise ShapeError(f"{self!r}: input {tuple(x.shape)} is smaller than the kernel")
        return F.conv2d(x, self.weight, self.bias, self.stride[0], p)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the gradient of Conv2d); weight (in_channels, out_channels, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        # PyTorch takes fan_in from dimension 1 of the weight, which here is out_channels.
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (in_channels, out_channels), fan_in=out_channels)
        self.output_padding = _pair(self, output_padding)
        if self.output_padding[0] >= self.stride[0]:
            raise ValueError(f"ConvTranspose2d: output_padding ({output_padding}) must be smaller "
                             f"than stride ({stride})")

    def forward(self, x):
        self._check_input(x)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride[0], self.padding[0],
                                  self.output_padding[0])


class _BatchNorm(Module):
    expected_ndims = (2, 4)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        xp = B.xp
        self.weight = Parameter(xp.ones(num_features, dtype=B.DTYPE)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=B.DTYPE)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=B.DTYPE)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=B.DTYPE)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype="int64")))
        else:
            self.running_mean = self.running_var = None

    def forward(self, x):
        if x.ndim not in self.expected_ndims or x.shape[1] != self.num_features:
            shapes = " or ".join({2: "(N, {C})", 3: "(N, {C}, L)", 4: "(N, {C}, H, W)"}[n]
                                 for n in self.expected_ndims).format(C=self.num_features)
            raise ShapeError(f"{self!r}: expected input {shapes}, got {tuple(x.shape)}")
        use_batch = self.training or not self.track_running_stats
        y = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                         use_batch, self.momentum, self.eps)
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
        return y

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs per feature."""
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs per channel."""
    expected_ndims = (4,)


class BatchNorm(_BatchNorm):
    """Batch normalisation for dense (N, C) or convolutional (N, C, H, W) inputs alike."""
    expected_ndims = (2, 4)


# inplace= is accepted as in PyTorch; the result is computed out of place, which gives the same
# values (the programs that pass inplace=True never read the input again).
class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Dropout(Module):
    """Zeroes elements with probability p in training; the identity in eval mode."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1), got {p}")
        self.p, self.inplace = p, inplace  # computed out of place, as the activations

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) with probability p in training."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)


class Embedding(Module):
    """Row i of weight (num_embeddings, embedding_dim), N(0, 1) as PyTorch's, for index i."""

    def __init__(self, num_embeddings, embedding_dim):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(B.normal((num_embeddings, embedding_dim)))

    def forward(self, indices):
        return F.embedding(indices, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


class Upsample(Module):
    """Nearest-neighbour upsampling by whole factors (F.interpolate)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest"):
        super().__init__()
        self.size, self.mode = size, mode
        many = isinstance(scale_factor, (tuple, list))
        self.scale_factor = (tuple(map(float, scale_factor)) if many else
                             float(scale_factor) if scale_factor else None)

    def forward(self, x):
        return F.interpolate(x, self.size, self.scale_factor, self.mode)

    def extra_repr(self):
        scale = self.scale_factor
        return (f"size={self.size!r}" if scale is None else f"scale_factor={scale!r}") + \
            f", mode={self.mode!r}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...): dimensions start_dim to end_dim become one."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        return F.reshape(x, x.shape[:start] + (-1,) + x.shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Reshape(Module):
    """(N, ...) -> (N, *shape): Reshape(256, 7, 7) turns a Dense output into feature maps."""

    def __init__(self, *shape):
        super().__init__()
        self.shape = (tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list))
                      else shape)

    def forward(self, x):
        per_sample = math.prod(x.shape[1:])
        if per_sample != math.prod(self.shape):
            raise ShapeError(f"{self!r}: cannot reshape input {tuple(x.shape)} to "
                             f"(N, {', '.join(map(str, self.shape))})")
        return F.reshape(x, (x.shape[0],) + self.shape)

    def extra_repr(self):
        return ", ".join(map(str, self.shape))


class Sequential(Module):
    """Modules applied in order; indexable and iterable like PyTorch's."""

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        return list(self._modules.values())[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


# The design's names for the same layers.
Dense = Linear
Conv2D = Conv2d
