"""Exercise 01: write an op's backward (after lesson 03, writing a function).

Two ops whose ``forward`` is written for you; you write their ``backward``:

  LogCosh   y = log(cosh x)           dy/dx = tanh x
  Hypot     y = √(a² + b²)            dy/da = a / y,   dy/db = b / y

The rules of lesson 03: ``backward(self, gy)`` receives gy, the gradient of the loss with
respect to the output (a Tensor of the output's shape), and returns the gradient with respect to
each input, in the order ``forward`` takes them (a tuple for two inputs). ``self.inputs`` holds
the input Tensors and ``self.output`` the output Tensor. Write the backward with Tensor ops
(``*``, ``/``, ``F.tanh``, ...), never on raw arrays (``.array``, numpy functions): then the
backward pass is itself a computation autograd records, and second derivatives (what WGAN-GP
needs, exercise 04) come for free. The grader checks both orders with gradcheck and
gradgradcheck (lesson 02).

Grade it:  pytest exercises/test_e01_op_backward.py
"""
import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F  # noqa: F401 (for your code)

LOG2 = 0.6931471805599453


class LogCosh(sg.Function):
    """y = log(cosh x), element-wise: a smooth |x| (close to x²/2 near 0, to |x| − log 2 far
    away), the loss of robust regression."""

    def forward(self, x):
        # log cosh x = |x| + log(1 + e^(−2|x|)) − log 2: cosh itself overflows for |x| > 710
        xp = B.xp_of(x)
        ax = xp.abs(x)
        return ax + xp.log1p(xp.exp(-2 * ax)) - LOG2

    def backward(self, gy):
        """gy: the output's gradient, x's shape. Returns dx = gy · tanh x (x's shape)."""
        raise NotImplementedError("write LogCosh.backward: see lesson 03")


class Hypot(sg.Function):
    """y = √(a² + b²), element-wise, for a and b of one shape: the length of the vector (a, b)."""

    def forward(self, a, b):
        if a.shape != b.shape:
            raise ValueError(f"Hypot: a and b must have one shape, got {a.shape} and {b.shape}")
        return B.xp_of(a).hypot(a, b)

    def backward(self, gy):
        """gy: the output's gradient (the shape of a and b). Returns (da, db) with
        da = gy · a / y and db = gy · b / y, each of a's shape."""
        raise NotImplementedError("write Hypot.backward: see lesson 03")


def logcosh(x):
    return LogCosh()(x)  # a fresh Function per call: it remembers its inputs


def hypot(a, b):
    return Hypot()(a, b)
