"""Batch normalisation, fused: one op forward, one formula backward."""
from scratchgan import backend as B
from scratchgan.tensor import Function, Tensor, is_grad_enabled


def _stat_axes(ndim):
    return (0,) + tuple(range(2, ndim))  # every axis but the channels


def _channel_shape(ndim, C):
    return (1, C) + (1,) * (ndim - 2)


def _normalize(x, eps):
    """x̂ and 1/σ written with differentiable ops, for a backward that must itself be differentiated."""
    axes = _stat_axes(x.ndim)
    centred = x - x.mean(axes, keepdims=True)
    invstd = ((centred * centred).mean(axes, keepdims=True) + eps) ** -0.5
    return centred * invstd, invstd


class BatchNormTrain(Function):
    # y = γ·x̂ + β,  x̂ = (x − μ)/√(σ² + eps) over all axes but channels;
    # dx = γ/σ · (gy − mean(gy) − x̂·mean(gy·x̂)),  dγ = Σ gy·x̂,  dβ = Σ gy
    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp, shape = B.xp_of(x), _channel_shape(x.ndim, x.shape[1])
        self.mean, self.var, self.invstd = (xp.empty(shape, dtype=x.dtype) for _ in range(3))
        self.xhat, y = B.empty_like(x), B.empty_like(x)
        B.in_pieces(self._normalize_piece, x, self.xhat, y, self.mean, self.var, self.invstd,
                    gamma.reshape(shape), beta.reshape(shape), axis=1)  # channels are independent
        return y

    def _normalize_piece(self, x, xhat, y, mean, var, invstd, gamma, beta):
        """The forward on one piece of the channels."""
        xp, count = B.xp_of(x), x.size // x.shape[1]
        x.mean(axis=_stat_axes(x.ndim), keepdims=True, out=mean)
        xp.subtract(x, mean, out=xhat)
        var[...] = _channel_sum_of_products(xhat, xhat).reshape(var.shape) * (1.0 / count)
        xp.sqrt(var + self.eps, out=invstd)
        xp.divide(1.0, invstd, out=invstd)
        xhat *= invstd
        xp.multiply(xhat, gamma, out=y)
        y += beta

    def backward(self, gy):
        if not is_grad_enabled():
            return self._backward_on_arrays(gy.data)
        x, gamma, _ = self.inputs
        xhat, invstd = _normalize(x, self.eps)  # create_graph: x̂ must stay a function of x
        axes = _stat_axes(gy.ndim)
        count = gy.size // gy.shape[1]
        gy_sum = gy.sum(axes, keepdims=True)
        gy_xhat_sum = (gy * xhat).sum(axes, keepdims=True)
        gx = None
        if self.needs_input_grad[0]:
            scale = gamma.reshape(_channel_shape(gy.ndim, gy.shape[1])) * invstd
            gx = scale * (gy - gy_sum * (1.0 / count) - xhat * (gy_xhat_sum * (1.0 / count)))
        return gx, gy_xhat_sum.reshape(-1), gy_sum.reshape(-1)

    def _backward_on_arrays(self, gy):
        """The same formulas on arrays, with one new array: the usual first-order case."""
        xp, C = B.xp_of(gy), gy.shape[1]
        shape = _channel_shape(gy.ndim, C)
        gy_sum, gy_xhat_sum = xp.empty(shape, dtype=gy.dtype), xp.empty(shape, dtype=gy.dtype)
        gx = B.empty_like(gy)
        B.in_pieces(self._gradients_piece, gy, self.xhat, gx, gy_sum, gy_xhat_sum,
                    self.inputs[1].data.reshape(shape), self.invstd, axis=1)
        gx = Tensor._wrap(gx) if self.needs_input_grad[0] else None
        return gx, Tensor._wrap(gy_xhat_sum.reshape(C)), Tensor._wrap(gy_sum.reshape(C))

    @staticmethod
    def _gradients_piece(gy, xhat, gx, gy_sum, gy_xhat_sum, gamma, invstd):
        """The backward on one piece of the channels."""
        count = gy.size // gy.shape[1]
        gy.sum(axis=_stat_axes(gy.ndim), keepdims=True, out=gy_sum)
        gy_xhat_sum[...] = _channel_sum_of_products(gy, xhat).reshape(gy_xhat_sum.shape)
        B.xp_of(gy).multiply(xhat, gy_xhat_sum * (1.0 / count), out=gx)
        gx -= gy
        gx += gy_sum * (1.0 / count)  # now −(gy − mean(gy) − x̂·mean(gy·x̂))
        gx *= -(gamma * invstd)


def _channel_sum_of_products(a, b):
    """Σ a·b over every axis but the channels (axis 1), without the product array."""
    letters = "abcdefghijklmnopqrstuvwxyz"[:a.ndim]
    return B.xp_of(a).einsum(f"{letters},{letters}->{letters[1]}", a, b)


def _array(t):
    return t.data if isinstance(t, Tensor) else t


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalise (N, C) or (N, C, H, W) per channel, as torch.nn.functional.batch_norm.

    In training the batch statistics are used and the running ones updated in place
    (running_var with the unbiased variance); in evaluation the running ones are used.
    """
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input (N, C) or (N, C, H, W), got shape {x.shape}")
    C = x.shape[1]
    xp = B.xp_of(x.data)
    if weight is None:
        weight = Tensor._wrap(xp.ones(C, dtype=x.dtype))
    if bias is None:
        bias = Tensor._wrap(xp.zeros(C, dtype=x.dtype))
    if training:
        count = x.size // C
        if count < 2:
            raise ValueError(f"batch_norm: training needs more than one value per channel, got input {x.shape}")
        f = BatchNormTrain(eps)
        y = f(x, weight, bias)
        if running_mean is not None:
            rm, rv = _array(running_mean), _array(running_var)
            rm *= 1 - momentum
            rm += momentum * f.mean.reshape(C).astype(rm.dtype)
            rv *= 1 - momentum
            rv += (momentum * count / (count - 1)) * f.var.reshape(C).astype(rv.dtype)
        return y
    rm, rv = _array(running_mean), _array(running_var)
    shape = _channel_shape(x.ndim, C)
    invstd = Tensor._wrap((1.0 / xp.sqrt(rv + eps)).astype(x.dtype))
    scale = weight * invstd
    shift = bias - Tensor._wrap(rm.astype(x.dtype)) * scale
    return x * scale.reshape(shape) + shift.reshape(shape)
