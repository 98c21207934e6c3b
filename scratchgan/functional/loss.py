"""Losses, written to stay finite: log-sum-exp and softplus forms, never log(0)."""
from scratchgan import backend as B
from scratchgan.functional.elementwise import clamp, log, sigmoid
from scratchgan.tensor import Function, Tensor, as_tensor


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as_target(target, input):  # noqa: A002
    """A target given as data (list, NumPy array) takes the input's dtype: float64 labels must not
    turn a float32 loss, and the gradients flowing back from it, into float64."""
    if isinstance(target, Tensor):
        return target
    target = as_tensor(target, like=input)
    return target if target.dtype == input.dtype else Tensor._wrap(target.array.astype(input.dtype))


def _check_same_shape(name, a, b):
    if a.shape != b.shape:
        raise ValueError(f"{name}: input shape {a.shape} and target shape {b.shape} differ")


class BCEWithLogits(Function):
    # ℓ = softplus(z) − t·z = max(z, 0) − t·z + ln(1 + e^−|z|);  dz = gy·(σ(z) − t), dt = −gy·z
    def forward(self, z, t):
        xp = B.xp_of(z)
        return xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))

    def backward(self, gy):
        z, t = self.inputs
        gz = gy * (sigmoid(z) - t) if self.needs_input_grad[0] else None
        gt = -gy * z if self.needs_input_grad[1] else None
        return gz, gt


class BCE(Function):
    # ℓ = −(t·ln p + (1 − t)·ln(1 − p)), logs clamped at −100 as PyTorch;
    # dp = gy·(p − t)/(p(1 − p))
    def forward(self, p, t):
        xp = B.xp_of(p)
        # log(max(p, 1e-44)) is below -100 wherever log p is, without log(0)'s warning
        log_p = xp.maximum(xp.log(xp.maximum(p, 1e-44)), -100)
        log_q = xp.maximum(xp.log(xp.maximum(1 - p, 1e-44)), -100)
        return -(t * log_p + (1 - t) * log_q)

    def backward(self, gy):
        p, t = self.inputs
        gp = gt = None
        if self.needs_input_grad[0]:
            gp = gy * (p - t) / clamp(p * (1.0 - p), min=1e-12)
        if self.needs_input_grad[1]:
            gt = gy * (log(clamp(1.0 - p, min=1e-44)) - log(clamp(p, min=1e-44)))
        return gp, gt


class LogSoftmax(Function):
    # y = x − ln Σ eˣ (shifted by max x for stability);  dx = gy − eʸ·Σ gy
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = B.xp_of(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, gy):
        return gy - self.output.exp() * gy.sum(self.axis, keepdims=True)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):  # noqa: A002
    """BCE on logits; finite value and gradient for logits of any size."""
    target = _as_target(target, input)
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    return _reduce(BCEWithLogits()(input, target), reduction)


def binary_cross_entropy(input, target, reduction="mean"):  # noqa: A002
    """BCE on probabilities in [0, 1] (prefer the logits version: it cannot saturate)."""
    target = _as_target(target, input)
    _check_same_shape("binary_cross_entropy", input, target)
    data = input.array
    if data.size and bool(((data < 0) | (data > 1)).any()):
        raise ValueError("binary_cross_entropy: input must be probabilities in [0, 1]; "
                         "use binary_cross_entropy_with_logits for logits")
    return _reduce(BCE()(input, target), reduction)


def mse_loss(input, target, reduction="mean"):  # noqa: A002
    target = _as_target(target, input)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def log_softmax(x, dim=-1):
    return LogSoftmax(dim)(x)


def softmax(x, dim=-1):
    return log_softmax(x, dim).exp()


def cross_entropy(logits, target, reduction="mean"):
    """Cross entropy of (N, classes) logits against integer class labels (N,)."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits (N, classes), got shape {logits.shape}")
    labels = target.array if isinstance(target, Tensor) else target
    xp = B.xp_of(logits.array)
    labels = xp.asarray(labels)
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"cross_entropy: expected {logits.shape[0]} integer labels, got shape "
                         f"{labels.shape}")
    one_hot = Tensor._wrap(xp.eye(logits.shape[1], dtype=logits.dtype)[labels])
    return _reduce(-(log_softmax(logits, 1) * one_hot).sum(1), reduction)
