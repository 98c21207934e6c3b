"""Matrix products: matmul and the fully connected layer's op."""
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
        return a @ b

    def backward(self, gy):
        a, b = self.inputs
        ga = sum_to(matmul(gy, swapaxes(b, -1, -2)), a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(matmul(swapaxes(a, -1, -2), gy), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


def matmul(a, b):
    return MatMul()(a, b)


def linear(x, weight, bias=None):
    """y = x @ Wᵀ + b with W of shape (out_features, in_features), as torch.nn.functional.linear."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    y = matmul(x, swapaxes(weight, 0, 1))
    return y if bias is None else y + bias
