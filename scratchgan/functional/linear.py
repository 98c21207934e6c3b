"""Matrix products: matmul and the fully connected layer's op."""
from scratchgan import backend as B
from scratchgan.functional.shape import sum_to, swapaxes
from scratchgan.tensor import Function, Tensor


class MatMul(Function):
    # y = a @ b;  da = gy @ bᵀ, db = aᵀ @ gy (batch dims summed back where they were broadcast)
    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2:
            raise ValueError(f"matmul needs operands with at least 2 dimensions, got shapes "
                             f"{a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not fit "
                             f"({a.shape[-1]} != {b.shape[-2]})")
        return B.matmul(a, b) if a.ndim == b.ndim == 2 else a @ b

    def backward(self, gy):
        # Each gradient is made in its operand's memory order (BLAS writes either for free), so
        # no transposing copy follows: the optimizer reads weight gradients laid out as weights.
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = _T(matmul(b, _T(gy))) if _column_major(a) else matmul(gy, _T(b))
            ga = sum_to(ga, a.shape)
        if self.needs_input_grad[1]:
            gb = _T(matmul(_T(gy), a)) if _column_major(b) else matmul(_T(a), gy)
            gb = sum_to(gb, b.shape)
        return ga, gb


def _T(t):
    return swapaxes(t, -1, -2)


def _column_major(t):
    """A 2-D operand stored transposed, as xᵀ in W @ xᵀ."""
    flags = t.array.flags
    return t.ndim == 2 and flags.f_contiguous and not flags.c_contiguous


def matmul(a, b):
    return MatMul()(a, b)


def linear(x, weight, bias=None):
    """y = x @ Wᵀ + b with W of shape (out_features, in_features), as torch.nn.functional.linear."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim == 2:
        # (W·xᵀ)ᵀ: y in (features, N) memory, the engine's layout (see conv.py's docstring)
        y = swapaxes(matmul(weight, swapaxes(x, 0, 1)), 0, 1)
    else:
        y = matmul(x, swapaxes(weight, 0, 1))
    return y if bias is None else y + bias
