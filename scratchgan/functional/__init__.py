"""Differentiable ops, named and laid out as torch.nn.functional (import as ``F``).

Importing this package also gives Tensor its operators (``+``, ``@``, ``.sum()``...), so the
autograd core in ``scratchgan.tensor`` does not depend on the ops built on top of it.
"""
from scratchgan.functional.conv import conv2d, conv2d_weight, conv_transpose2d, im2col
from scratchgan.functional.elementwise import (add, clamp, div, dropout, dropout2d, exp,
                                               leaky_relu, log, log_sigmoid, mul, neg, pow, relu,
                                               sigmoid, softplus, sqrt, sub, tanh)
from scratchgan.functional.linear import linear, matmul
from scratchgan.functional.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                        cross_entropy, log_softmax, mse_loss, softmax)
from scratchgan.functional.norm import batch_norm
from scratchgan.functional.shape import (broadcast_to, concat, embedding, flatten, getitem,
                                         interpolate, mean, reshape, sum, sum_to, swapaxes,
                                         transpose)
from scratchgan.tensor import Tensor, as_tensor

cat = concat


def _install_operators():
    def reflected(op):
        return lambda self, other: op(as_tensor(other, like=self), self)

    def compare(name):
        def method(self, other):
            other = other.array if isinstance(other, Tensor) else other
            return getattr(self.array, name)(other)
        return method

    T = Tensor
    T.__add__, T.__radd__ = add, reflected(add)
    T.__sub__, T.__rsub__ = sub, reflected(sub)
    T.__mul__, T.__rmul__ = mul, reflected(mul)
    T.__truediv__, T.__rtruediv__ = div, reflected(div)
    T.__matmul__, T.__rmatmul__ = matmul, reflected(matmul)
    T.__neg__, T.__pow__, T.__getitem__ = neg, pow, getitem
    for name in ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"):
        setattr(T, name, compare(name))
    # tensors are graph nodes: identity, not value, makes them equal keys
    T.__hash__ = object.__hash__
    T.sum = lambda self, axis=None, keepdims=False: sum(self, axis, keepdims)
    T.mean = lambda self, axis=None, keepdims=False: mean(self, axis, keepdims)
    T.reshape, T.transpose, T.flatten = reshape, transpose, flatten
    T.T = property(lambda self: transpose(self))
    T.exp, T.log, T.sqrt, T.tanh, T.sigmoid, T.relu = exp, log, sqrt, tanh, sigmoid, relu
    T.clamp, T.broadcast_to, T.matmul = clamp, broadcast_to, matmul


_install_operators()

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "matmul", "sum", "mean", "reshape",
           "transpose", "swapaxes", "broadcast_to", "sum_to", "getitem", "concat", "cat", "flatten",
           "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "log_sigmoid",
           "clamp", "dropout", "dropout2d", "embedding", "interpolate", "linear", "conv2d",
           "conv_transpose2d", "conv2d_weight", "im2col", "batch_norm", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "mse_loss", "log_softmax", "softmax",
           "cross_entropy"]
