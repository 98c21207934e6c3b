"""Element-wise arithmetic and activations, each forward beside its derivative."""
from scratchgan import backend as B
from scratchgan.functional.shape import sum_to
from scratchgan.tensor import Function, Tensor, as_tensor


def _constant(array):
    """A Tensor that needs no gradient (masks, slopes): second derivatives through it are 0."""
    return Tensor._wrap(array)


class Add(Function):
    # y = a + b;  da = gy, db = gy (each summed back to its own shape)
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    # y = a - b;  da = gy, db = -gy
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Mul(Function):
    # y = a * b;  da = gy * b, db = gy * a
    def forward(self, a, b):
        return B.multiply(a, b)

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    # y = a / b;  da = gy / b, db = -gy * a / b²
    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    # y = -x;  dx = -gy
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    # y = x^c (c a constant);  dx = gy * c * x^(c-1)
    def __init__(self, c):
        self.c = c

    def forward(self, x):
        return x ** self.c

    def backward(self, gy):
        (x,) = self.inputs
        return gy * self.c * x ** (self.c - 1)


class Exp(Function):
    # y = eˣ;  dx = gy * y
    def forward(self, x):
        return B.xp_of(x).exp(x)

    def backward(self, gy):
        return gy * self.output


class Log(Function):
    # y = ln x;  dx = gy / x
    def forward(self, x):
        return B.xp_of(x).log(x)

    def backward(self, gy):
        return gy / self.inputs[0]


class Sqrt(Function):
    # y = √x;  dx = gy / (2y)
    def forward(self, x):
        return B.xp_of(x).sqrt(x)

    def backward(self, gy):
        return gy * 0.5 / self.output


class Tanh(Function):
    # y = tanh x;  dx = gy * (1 - y²)
    def forward(self, x):
        return B.xp_of(x).tanh(x)

    def backward(self, gy):
        y = self.output
        return gy * (1.0 - y * y)


class Sigmoid(Function):
    # y = 1 / (1 + e⁻ˣ), as e/(1 + e), e = e^-|x|, where x < 0: no overflow, and a tiny y keeps its
    # precision (BCELoss after Sigmoid needs it: y = 0 would stop G's gradient);  dx = gy·y(1 − y)
    def forward(self, x):
        xp = B.xp_of(x)
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def backward(self, gy):
        y = self.output
        return gy * (y * (1.0 - y))


class ReLU(Function):
    # y = max(x, 0);  dx = gy where x > 0, else 0
    def forward(self, x):
        return B.xp_of(x).maximum(x, 0)

    def backward(self, gy):
        return LeakyReLUGrad(0.0)(gy, self.inputs[0])


class LeakyReLU(Function):
    # y = x where x > 0, else slope·x;  dx = gy where x > 0, else slope·gy
    def __init__(self, slope):
        self.slope = slope

    def forward(self, x):
        return B.leaky_relu(x, self.slope)

    def backward(self, gy):
        return LeakyReLUGrad(self.slope)(gy, self.inputs[0])


class LeakyReLUGrad(Function):
    # y = gy where x > 0, else slope·gy: linear in gy, flat in x;  dgy = the same of ggy, dx = 0
    def __init__(self, slope):
        self.slope = slope

    def forward(self, gy, x):
        return B.leaky_relu_grad(gy, x, self.slope)

    def backward(self, ggy):
        return LeakyReLUGrad(self.slope)(ggy, self.inputs[1]), None


class Softplus(Function):
    # y = ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|), finite for any x;  dx = gy * sigmoid(x)
    def forward(self, x):
        xp = B.xp_of(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * sigmoid(self.inputs[0])


class Clamp(Function):
    # y = min(max(x, lo), hi);  dx = gy where lo <= x <= hi, else 0
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return B.xp_of(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        x = self.inputs[0].array
        inside = x == x  # all True; narrowed by the bounds that exist
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return gy * _constant(inside.astype(x.dtype))


def _binary(op):
    """add(a, b) = Add()(a, b), a number taking the other operand's dtype and backend."""
    def binary(a, b):
        a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
        return op()(a, as_tensor(b, like=a))
    binary.__name__ = binary.__qualname__ = op.__name__.lower()
    return binary


def _unary(op):
    def unary(x):
        return op()(x)
    unary.__name__ = unary.__qualname__ = op.__name__.lower()
    return unary


add, sub, mul, div = map(_binary, (Add, Sub, Mul, Div))
neg, exp, log, sqrt, tanh, sigmoid, relu, softplus = map(_unary, (Neg, Exp, Log, Sqrt, Tanh,
                                                                  Sigmoid, ReLU, Softplus))


def pow(x, c):  # noqa: A001  (torch.pow's name)
    if isinstance(c, Tensor):
        raise TypeError("pow: the exponent must be a number; use exp(c * log(x)) for a tensor "
                        "exponent")
    return Pow(c)(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU(negative_slope)(x)


def log_sigmoid(x):
    # ln σ(x) = -softplus(-x)
    return -softplus(-x)


def clamp(x, min=None, max=None):  # noqa: A002  (torch.clamp's names)
    return Clamp(min, max)(x)


def dropout(x, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    return _dropout(x, p, training, x.shape)


def dropout2d(x, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) with probability p, scale the rest by 1/(1-p)."""
    return _dropout(x, p, training, x.shape[:2] + (1,) * (x.ndim - 2))


def _dropout(x, p, training, mask_shape):
    # inplace= is accepted as in PyTorch; the result is computed out of place (the same values)
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    like = x.array if mask_shape == x.shape else B.xp_of(x.array).empty(mask_shape, x.dtype)
    return x * _constant(B.dropout_mask(like, p))
