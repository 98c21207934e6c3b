"""Batch normalisation: one op, its formula fused into a backend kernel both ways."""
from scratchgan import backend as B
from scratchgan.tensor import Function, Tensor


def _stat_axes(ndim):
    return (0, *range(2, ndim))  # every axis but the channels


def _channel_shape(ndim, C):
    return (1, C) + (1,) * (ndim - 2)


class BatchNorm(Function):
    # y = γ·x̂ + β,  x̂ = (x − μ)/σ,  σ = √(var + eps), μ and var over every axis but the channels;
    # dx = γ/σ·(gy − mean(gy) − x̂·mean(gy·x̂)),  dγ = Σ gy·x̂,  dβ = Σ gy
    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        y, self.mean, self.var = B.batch_norm(x, gamma, beta, self.eps)
        return y

    def backward(self, gy):
        x, gamma, _ = self.inputs
        axes, shape = _stat_axes(x.ndim), _channel_shape(x.ndim, x.shape[1])
        centred = x - x.mean(axes, keepdims=True)  # x̂ from x again: dx must stay a function of x
        invstd = ((centred * centred).mean(axes, keepdims=True) + self.eps) ** -0.5
        xhat = centred * invstd
        gbeta = gy.sum(axes, keepdims=True)
        ggamma = (gy * xhat).sum(axes, keepdims=True)
        count = x.numel() // x.shape[1]
        gx = gamma.reshape(shape) * invstd * (gy - gbeta / count - xhat * (ggamma / count))
        return gx, ggamma.reshape(-1), gbeta.reshape(-1)

    def fast_backward(self, gy):
        x, gamma, _ = self.inputs
        return B.batch_norm_grad(gy, x.array, gamma.array, self.mean, self.var, self.eps)


def _array(t):
    return t.array if isinstance(t, Tensor) else t


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise (N, C) or (N, C, H, W) per channel, as torch.nn.functional.batch_norm.

    In training the batch statistics are used and the running ones updated in place
    (running_var with the unbiased variance); in evaluation the running ones are used.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    C = x.shape[1]
    xp = B.xp_of(x.array)
    if weight is None:
        weight = Tensor._wrap(xp.ones(C, dtype=x.dtype))
    if bias is None:
        bias = Tensor._wrap(xp.zeros(C, dtype=x.dtype))
    if training:
        count = x.numel() // C
        if count < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, "
                             f"got input {x.shape}")
        f = BatchNorm(eps)
        y = f(x, weight, bias)
        if running_mean is not None:
            rm, rv = _array(running_mean), _array(running_var)
            rm *= 1 - momentum
            rm += momentum * f.mean.astype(rm.dtype)
            rv *= 1 - momentum
            rv += (momentum * count / (count - 1)) * f.var.astype(rv.dtype)
        return y
    rm, rv = _array(running_mean), _array(running_var)
    shape = _channel_shape(x.ndim, C)
    invstd = Tensor._wrap((1.0 / xp.sqrt(rv + eps)).astype(x.dtype))
    scale = weight * invstd
    shift = bias - Tensor._wrap(rm.astype(x.dtype)) * scale
    return x * scale.reshape(shape) + shift.reshape(shape)
