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


class _ConvNd(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, bias, weight_shape,
                 fan_in):
        super().__init__()
        if isinstance(kernel_size, tuple):
            if kernel_size[0] != kernel_size[1]:
                raise ValueError(f"{type(self).__name__}: only square kernels, got {kernel_size}")
            kernel_size = kernel_size[0]
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        bound = 1 / math.sqrt(fan_in * kernel_size * kernel_size)
        self.weight = Parameter(_uniform(weight_shape + (kernel_size, kernel_size), bound))
        self.bias = Parameter(_uniform((out_channels,), bound)) if bias else None

    def _check_input(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(f"{self!r}: expected a 4-D input (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}")

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        s += f", padding={self.padding}" if self.padding else ""
        s += f", output_padding={self.output_padding}" if getattr(self, "output_padding", 0) else ""
        return s + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D cross-correlation; weight (out_channels, in_channels, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (out_channels, in_channels), fan_in=in_channels)

    def forward(self, x):
        self._check_input(x)
        k, p = self.kernel_size, self.padding
        if x.shape[2] + 2 * p < k or x.shape[3] + 2 * p < k:
            raise ShapeError(f"{self!r}: input {tuple(x.shape)} is smaller than the kernel")
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the gradient of Conv2d); weight (in_channels, out_channels, k, k)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, bias=True):
        # PyTorch takes fan_in from dimension 1 of the weight, which here is out_channels.
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias,
                         (in_channels, out_channels), fan_in=out_channels)
        if output_padding >= stride:
            raise ValueError(f"ConvTranspose2d: output_padding ({output_padding}) must be smaller "
                             f"than stride ({stride})")
        self.output_padding = output_padding

    def forward(self, x):
        self._check_input(x)
        return F.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding)


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
                f"affine={self.affine}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs per feature."""
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs per channel."""
    expected_ndims = (4,)


class BatchNorm(_BatchNorm):
    """Batch normalisation for dense (N, C) or convolutional (N, C, H, W) inputs alike."""
    expected_ndims = (2, 4)


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Dropout(Module):
    """Zeroes elements with probability p in training; the identity in eval mode."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def __init__(self, start_dim=1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x):
        return F.flatten(x, self.start_dim)


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
