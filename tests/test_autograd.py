"""Autograd semantics that PyTorch users rely on: accumulation, grad(), no_grad, shared inputs,
deep graphs, higher-order derivatives and float32 preservation."""
import sys

import numpy
import pytest
from hypothesis import given

from scratchgan import functional as F
from scratchgan import nn
from scratchgan.tensor import Tensor, enable_grad, grad, is_grad_enabled, no_grad
from strategies import arrays, floats, shapes


def leaf(values, dtype=numpy.float32):
    return Tensor(numpy.asarray(values, dtype=dtype), requires_grad=True)


def test_gradients_accumulate_until_zero_grad():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_module_and_optimizer_zero_grad_clear():
    from scratchgan import optim
    layer = nn.Linear(2, 2)
    layer(Tensor(numpy.ones((1, 2), dtype=numpy.float32))).sum().backward()
    first = layer.weight.grad.numpy().copy()
    layer(Tensor(numpy.ones((1, 2), dtype=numpy.float32))).sum().backward()
    numpy.testing.assert_allclose(layer.weight.grad.numpy(), 2 * first)
    optim.SGD(layer.parameters(), lr=0.1).zero_grad()
    assert all(p.grad is None for p in layer.parameters())


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    x.grad = Tensor(numpy.array([10.0, 10.0], dtype=numpy.float32))
    result = grad((x * y).sum(), [x, y])
    assert isinstance(result, tuple) and len(result) == 2
    numpy.testing.assert_allclose(result[0].numpy(), [3.0, 4.0])
    numpy.testing.assert_allclose(result[1].numpy(), [1.0, 2.0])
    numpy.testing.assert_allclose(x.grad.numpy(), [10.0, 10.0])
    assert y.grad is None
    single = grad((x * x).sum(), x)
    assert isinstance(single, tuple) and len(single) == 1
    assert not result[0].requires_grad  # no create_graph: plain values


def test_grad_of_unused_input():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="not used"):
        grad((x * 2.0).sum(), [x, unused])
    gx, gu = grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_no_grad_records_nothing():
    x = leaf([1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = F.tanh(x * 2.0 + 1.0).sum()
        with enable_grad():
            z = (x * 2.0).sum()
    assert is_grad_enabled()
    assert y.requires_grad is False and y.creator is None
    assert z.requires_grad and z.creator is not None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()

    @no_grad()
    def inference(t):
        return t * 3.0
    out = inference(x)
    assert out.creator is None and not out.requires_grad and is_grad_enabled()


def test_detach_cuts_the_graph():
    x = leaf([2.0])
    y = x * x
    d = y.detach()
    assert d.creator is None and not d.requires_grad and d.array is y.array
    (d * x).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [4.0])  # d counted as a constant


@given(x=arrays((3,), floats(-2, 2)))
def test_diamond_graph_sums_both_paths(x):
    """f = a·b with a = 2x and b = x²: df/dx = 2x² + 2x·2x = 6x², one path each way."""
    t = Tensor(x, requires_grad=True)
    a, b = t * 2.0, t * t
    (a * b).sum().backward()
    numpy.testing.assert_allclose(t.grad.numpy(), 6 * x ** 2, rtol=1e-12, atol=1e-12)


def test_same_tensor_twice_in_one_op():
    x = leaf([3.0])
    (x * x).backward(Tensor(numpy.ones(1, dtype=numpy.float32)))
    assert x.grad.item() == 6.0
    y = leaf([1.0, 2.0])
    (y + y + y).sum().backward()
    numpy.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])


def test_deep_chain_does_not_recurse():
    depth = 2000
    x = leaf([1.0])
    h = x
    for _ in range(depth):
        h = h * 1.0001 + 0.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(200, depth // 4))  # backward must not need a frame per op
    try:
        h.sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    numpy.testing.assert_allclose(x.grad.numpy(), [1.0001 ** depth], rtol=1e-3)


@given(x=arrays((4,), floats(-2, 2)))
def test_second_derivative_of_cube(x):
    """d/dx x³ = 3x², d²/dx² = 6x, each through grad(create_graph=True)."""
    t = Tensor(x, requires_grad=True)
    (first,) = grad((t ** 3).sum(), t, create_graph=True)
    assert first.requires_grad
    numpy.testing.assert_allclose(first.numpy(), 3 * x ** 2, rtol=1e-12)
    (second,) = grad(first.sum(), t, create_graph=True)
    numpy.testing.assert_allclose(second.numpy(), 6 * x, rtol=1e-12, atol=1e-12)
    (third,) = grad(second.sum(), t)
    numpy.testing.assert_allclose(third.numpy(), 6.0)


def test_backward_with_create_graph_builds_differentiable_grads():
    x = leaf([2.0], dtype=numpy.float64)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (g2,) = grad(x.grad.sum(), x)
    assert g2.item() == pytest.approx(12.0)


def test_backward_with_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x * 2.0).backward(Tensor(numpy.array([[1.0, 0.0], [0.5, 2.0]], dtype=numpy.float32)))
    numpy.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [1.0, 4.0]])
    with pytest.raises(RuntimeError, match=r"\(3,\)"):
        (x * 2.0).backward(Tensor(numpy.ones(3, dtype=numpy.float32)))


SCALAR_OPS = {
    "x+1": lambda x: x + 1.0, "1+x": lambda x: 1.0 + x,
    "x-1": lambda x: x - 1, "1-x": lambda x: 1 - x,
    "x*0.3": lambda x: x * 0.3, "0.3*x": lambda x: 0.3 * x, "x/3": lambda x: x / 3.0,
    "3/x": lambda x: 3.0 / x, "x**2": lambda x: x ** 2, "x**0.5": lambda x: x ** 0.5,
    "x**-1": lambda x: x ** -1, "-x": lambda x: -x, "mean": lambda x: x.mean(),
    "mean_axis": lambda x: x.mean(0), "sum": lambda x: x.sum(), "exp": F.exp, "log": F.log,
    "sqrt": F.sqrt, "sigmoid": F.sigmoid, "softplus": F.softplus, "log_sigmoid": F.log_sigmoid,
    "leaky_relu": F.leaky_relu, "clamp": lambda x: F.clamp(x, 0.5, 1.5),
    "mse_to_float64_array": lambda x: F.mse_loss(x, numpy.ones(x.shape)),
    "bce_logits_to_list": lambda x: F.binary_cross_entropy_with_logits(x, [[1.0, 0.0, 1.0]] * 2),
    "dropout": lambda x: F.dropout(x, 0.5),
}


@pytest.mark.parametrize("name", SCALAR_OPS)
def test_python_scalars_keep_float32(name):
    """Python floats (and float64 constants) must not upcast a float32 computation, values or
    grads."""
    x = Tensor(numpy.array([[0.5, 1.0, 2.0], [1.5, 0.7, 1.2]], dtype=numpy.float32),
               requires_grad=True)
    y = SCALAR_OPS[name](x)
    assert y.dtype == numpy.float32, f"{name} gave {y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == numpy.float32, f"{name} gave a {x.grad.dtype} gradient"


def test_float32_through_a_float32_model():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 1),
                          nn.Sigmoid())
    x = Tensor(numpy.ones((2, 3), dtype=numpy.float32)
               * numpy.arange(2, dtype=numpy.float32)[:, None])
    loss = F.binary_cross_entropy(model(x), numpy.ones((2, 1)))  # a float64 target
    assert loss.dtype == numpy.float32
    (g,) = grad(loss, model[0].weight, create_graph=True)
    penalty = (g * g).sum() * 10.0
    penalty.backward()
    assert all(p.grad.dtype == numpy.float32 for p in model.parameters() if p.grad is not None)


def test_tensor_basics():
    t = Tensor([[1, 2], [3, 4]])
    assert (t.dtype == numpy.float32 and t.shape == t.size() == (2, 2) and t.size(1) == 2
            and t.ndim == 2 and t.numel() == 4
            and len(t) == 2)
    assert t.device == "numpy" and t.is_leaf and not t.requires_grad
    labels = Tensor(numpy.array([1, 2]))
    assert labels.dtype.kind == "i"
    with pytest.raises(TypeError, match="floating"):
        Tensor(numpy.array([1, 2]), requires_grad=True)
    assert "requires_grad=True" in repr(leaf([1.0]))
    assert "grad_fn=Mul" in repr(leaf([1.0]) * 2.0)
    assert Tensor([3.0]).item() == 3.0
    with pytest.raises(ValueError, match="one element"):
        Tensor([1.0, 2.0]).item()


@given(shape=shapes(max_dims=2))
def test_backward_of_scalar_sum_is_ones(shape):
    x = Tensor(numpy.zeros(shape), requires_grad=True)
    x.sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), numpy.ones(shape))
    assert x.grad.dtype == numpy.float64


def test_dropout_mask_depends_on_seed():
    from scratchgan import backend as B
    x = Tensor(numpy.ones((50,), dtype=numpy.float32))
    B.seed(3)
    a = F.dropout(x, 0.5).numpy()
    B.seed(3)
    b = F.dropout(x, 0.5).numpy()
    c = F.dropout(x, 0.5).numpy()
    numpy.testing.assert_array_equal(a, b)
    assert not numpy.array_equal(b, c)
    numpy.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
