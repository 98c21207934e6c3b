"""Every functional op against central differences (scratchgan.gradcheck), on hypothesis-drawn
shapes, values and memory layouts; second derivatives for the ops WGAN-GP differentiates twice.

Inputs come in as a contiguous base array that the checked function first slices with steps
and/or transposes (strategies.View), so each op also sees non-contiguous arrays.
"""
import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import gradcheck, gradgradcheck
from scratchgan.tensor import Tensor
from strategies import (View, arrays, away_from, broadcast_pairs, broadcasting_to, conv_geometries,
                        conv_transpose_geometries, floats, shapes, tensors, viewed_array)

POSITIVE = floats(0.2, 3.0)

def test_views_hand_ops_non_contiguous_arrays():
    """The layouts the strategies draw really are non-contiguous by the time the op sees them."""
    base = Tensor(numpy.arange(24.0).reshape(4, 6))
    strided = View((2, 3), steps=(2, 2), offsets=(1, 0), perm=(0, 1), padding=(0, 0))
    transposed = View((6, 4), steps=(1, 1), offsets=(0, 0), perm=(1, 0), padding=(0, 0))
    assert strided.base_shape == (4, 5) and transposed.base_shape == (4, 6)
    seen = strided(Tensor(numpy.arange(20.0).reshape(4, 5)))
    numpy.testing.assert_array_equal(seen.numpy(), [[5.0, 7.0, 9.0], [15.0, 17.0, 19.0]])
    assert not seen.array.flags.c_contiguous
    assert not transposed(base).array.flags.c_contiguous and transposed(base).shape == (6, 4)


UNARY = {
    "neg": (F.neg, floats()),
    "exp": (F.exp, floats()),
    "log": (F.log, POSITIVE),
    "sqrt": (F.sqrt, POSITIVE),
    "tanh": (F.tanh, floats(-3, 3)),
    "sigmoid": (F.sigmoid, floats(-4, 4)),
    "softplus": (F.softplus, floats(-4, 4)),
    "log_sigmoid": (F.log_sigmoid, floats(-4, 4)),
    "relu": (F.relu, away_from([0.0])),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), away_from([0.0])),
    # slope > 1: the where() path
    "leaky_relu_steep": (lambda x: F.leaky_relu(x, 1.5), away_from([0.0])),
    "clamp": (lambda x: F.clamp(x, -0.5, 0.5), away_from([-0.5, 0.5])),
    "clamp_min": (lambda x: F.clamp(x, min=0.3), away_from([0.3])),
    "clamp_max": (lambda x: F.clamp(x, max=-0.3), away_from([-0.3])),
    "pow2": (lambda x: F.pow(x, 2), floats()),
    "pow3": (lambda x: x ** 3, floats()),
    "pow_neg": (lambda x: x ** -1.5, POSITIVE),
    "pow_half": (lambda x: x ** 0.5, POSITIVE),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_ops(name, data):
    op, elements = UNARY[name]
    view, base = data.draw(viewed_array(data.draw(shapes()), elements))
    assert gradcheck(lambda b: op(view(b)), tensors(base))


@given(data=st.data(), p=st.sampled_from([0.2, 0.5]))
def test_dropout(data, p):
    view, base = data.draw(viewed_array(data.draw(shapes())))

    def fn(b):
        B.seed(0)  # both finite-difference evaluations must draw the same mask
        return F.dropout(view(b), p)
    assert gradcheck(fn, tensors(base))


BINARY = {"add": F.add, "sub": F.sub, "mul": F.mul, "div": F.div,
          "add_op": lambda a, b: a + b, "rsub_op": lambda a, b: b - a, "mul_op": lambda a, b: a * b,
          "truediv_op": lambda a, b: a / b}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_ops_broadcast(name, data):
    shape_a, shape_b = data.draw(broadcast_pairs()).input_shapes
    denominator = away_from([0.0], margin=0.5)  # b is a divisor in div
    view_a, a = data.draw(viewed_array(shape_a))
    view_b, b = data.draw(viewed_array(shape_b, denominator))
    assert gradcheck(lambda x, y: BINARY[name](view_a(x), view_b(y)), tensors(a, b))


SCALAR = {"x+2": lambda x: x + 2.0, "2+x": lambda x: 2.0 + x, "x-3": lambda x: x - 3,
          "3-x": lambda x: 3 - x, "x*1.5": lambda x: x * 1.5, "-2*x": lambda x: -2.0 * x,
          "x/4": lambda x: x / 4.0, "4/x": lambda x: 4.0 / x}


@pytest.mark.parametrize("name", SCALAR)
@given(data=st.data())
def test_ops_with_python_scalars(name, data):
    view, base = data.draw(viewed_array(data.draw(shapes()), away_from([0.0], margin=0.5)))
    assert gradcheck(lambda x: SCALAR[name](view(x)), tensors(base))


@given(data=st.data())
def test_matmul(data):
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    view_a, a = data.draw(viewed_array((n, k)))
    view_b, b = data.draw(viewed_array((k, m)))
    assert gradcheck(lambda x, y: view_a(x) @ view_b(y), tensors(a, b))


@given(data=st.data())
def test_matmul_batched_broadcast(data):
    batch_a, batch_b = data.draw(broadcast_pairs(max_dims=2, max_side=2)).input_shapes
    n, k, m = (data.draw(st.integers(1, 3)) for _ in range(3))
    shape_a, shape_b = batch_a + (n, k), batch_b + (k, m)
    view_a, a = data.draw(viewed_array(shape_a))
    view_b, b = data.draw(viewed_array(shape_b))
    assert gradcheck(lambda x, y: F.matmul(view_a(x), view_b(y)), tensors(a, b))


@st.composite
def axes(draw, ndim):
    """None, one axis (negative too), or a tuple of distinct axes."""
    return draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1),
                          st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                   unique=True).map(tuple)))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(reduce, data, keepdims):
    shape = data.draw(shapes())
    axis = data.draw(axes(len(shape)))
    view, base = data.draw(viewed_array(shape))
    op = getattr(F, reduce)
    assert gradcheck(lambda x: op(view(x), axis, keepdims), tensors(base))


@given(data=st.data())
def test_reductions_match_numpy(data):
    shape = data.draw(shapes())
    axis = data.draw(axes(len(shape)))
    x = data.draw(arrays(shape))
    numpy.testing.assert_allclose(F.mean(Tensor(x), axis, True).numpy(),
                                  x.mean(axis, keepdims=True))
    numpy.testing.assert_allclose(F.sum(Tensor(x), axis).numpy(), x.sum(axis))


@given(data=st.data())
def test_reshape(data):
    shape = data.draw(shapes())
    size = int(numpy.prod(shape))
    target = data.draw(st.sampled_from([(-1,), (1, size), (size, 1), shape[::-1], (1,) + shape]))
    view, base = data.draw(viewed_array(shape))
    assert gradcheck(lambda x: F.reshape(view(x), target), tensors(base))


@given(data=st.data())
def test_transpose(data):
    shape = data.draw(shapes(min_dims=2))
    perm = data.draw(st.permutations(range(len(shape))))
    view, base = data.draw(viewed_array(shape))
    assert gradcheck(lambda x: F.transpose(view(x), perm), tensors(base))
    assert gradcheck(lambda x: view(x).T, tensors(base))


@given(data=st.data())
def test_broadcast_to(data):
    target = data.draw(shapes(max_side=3))
    small = data.draw(broadcasting_to(target))
    view, base = data.draw(viewed_array(small))
    assert F.broadcast_to(view(Tensor(base)), target).shape == target
    assert gradcheck(lambda x: F.broadcast_to(view(x), target), tensors(base))


@given(data=st.data())
def test_getitem_basic(data):
    shape = data.draw(shapes())
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    view, base = data.draw(viewed_array(shape))
    out = F.getitem(view(Tensor(base)), index)
    numpy.testing.assert_array_equal(out.numpy(), view(base)[index])
    assert gradcheck(lambda x: F.getitem(view(x), index), tensors(base))


@st.composite
def fancy_indices(draw, shape):
    """Integer-array indices with repeats: on the first axis, on the second, or paired."""
    def ints(n):
        return st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)
    form = draw(st.sampled_from(["list", "array", "tensor", "second_axis", "paired"]))
    if form == "second_axis" and len(shape) < 2 or form == "paired" and len(shape) < 2:
        form = "list"
    rows = draw(ints(shape[0]))
    if form == "list":
        return rows
    if form == "array":
        return numpy.array(rows)
    if form == "tensor":
        return Tensor(numpy.array(rows))
    cols = draw(ints(shape[1]))
    if form == "second_axis":
        return (slice(None), cols)
    cols = draw(st.lists(st.integers(0, shape[1] - 1), min_size=len(rows), max_size=len(rows)))
    return (numpy.array(rows), numpy.array(cols))


@given(data=st.data())
def test_getitem_fancy_repeated(data):
    shape = data.draw(shapes())
    index = data.draw(fancy_indices(shape))
    view, base = data.draw(viewed_array(shape))
    assert gradcheck(lambda x: F.getitem(view(x), index), tensors(base))


def test_getitem_repeated_index_accumulates():
    x = Tensor(numpy.arange(3.0), requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


@given(data=st.data(), n=st.integers(2, 3))
def test_concat(data, n):
    shape = data.draw(shapes())
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(n):
        part = list(shape)
        part[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(viewed_array(tuple(part))))
    views_ = [v for v, _ in parts]
    assert gradcheck(lambda *xs: F.concat([v(x) for v, x in zip(views_, xs)], axis),
                     tensors(*[b for _, b in parts]))


@given(data=st.data(), bias=st.booleans(), batch_dims=st.integers(1, 2))
def test_linear(data, bias, batch_dims):
    lead = tuple(data.draw(st.integers(1, 3)) for _ in range(batch_dims))
    n_in, n_out = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    view_x, x = data.draw(viewed_array(lead + (n_in,)))
    view_w, w = data.draw(viewed_array((n_out, n_in)))
    b = data.draw(arrays((n_out,)))
    if bias:
        assert gradcheck(lambda x_, w_, b_: F.linear(view_x(x_), view_w(w_), b_), tensors(x, w, b))
    else:
        assert gradcheck(lambda x_, w_: F.linear(view_x(x_), view_w(w_)), tensors(x, w))


@given(data=st.data(), bias=st.booleans())
def test_conv2d(data, bias):
    g = data.draw(conv_geometries())
    view, x = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_out, g.C_in, g.k, g.k)))
    b = data.draw(arrays((g.C_out,)))

    def fn(x_, w_, *b_):
        return F.conv2d(view(x_), w_, b_[0] if b_ else None, g.stride, g.padding)
    assert gradcheck(fn, tensors(x, w, *([b] if bias else [])))


@given(data=st.data(), bias=st.booleans())
def test_conv_transpose2d(data, bias):
    g = data.draw(conv_transpose_geometries())
    view, x = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_in, g.C_out, g.k, g.k)))
    b = data.draw(arrays((g.C_out,)))

    def fn(x_, w_, *b_):
        return F.conv_transpose2d(view(x_), w_, b_[0] if b_ else None, g.stride, g.padding,
                                  g.output_padding)
    assert gradcheck(fn, tensors(x, w, *([b] if bias else [])))


@given(data=st.data())
def test_conv2d_weight(data):
    g = data.draw(conv_geometries())
    view, x = data.draw(viewed_array((g.N, g.C_in, g.H, g.W)))
    gy_view, gy = data.draw(viewed_array((g.N, g.C_out) + g.conv_out))
    assert gradcheck(lambda x_, gy_: F.conv2d_weight(view(x_), gy_view(gy_), (g.k, g.k),
                                                     g.stride, g.padding),
                     tensors(x, gy))


@given(data=st.data())
def test_conv2d_weight_is_the_weight_gradient(data):
    g = data.draw(conv_geometries())
    x = Tensor(data.draw(arrays((g.N, g.C_in, g.H, g.W))))
    w = Tensor(data.draw(arrays((g.C_out, g.C_in, g.k, g.k))), requires_grad=True)
    gy = data.draw(arrays((g.N, g.C_out) + g.conv_out))
    F.conv2d(x, w, stride=g.stride, padding=g.padding).backward(gy)
    numpy.testing.assert_allclose(F.conv2d_weight(x, Tensor(gy), (g.k, g.k), g.stride,
                                                  g.padding).numpy(),
                                  w.grad.numpy(), rtol=1e-10, atol=1e-12)


PROBABILITY, TARGET = floats(0.05, 0.95), floats(0.0, 1.0)
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_binary_cross_entropy(reduction, data):
    shape = data.draw(shapes(max_dims=2))
    view, p = data.draw(viewed_array(shape, PROBABILITY))
    t = data.draw(arrays(shape, TARGET))
    assert gradcheck(lambda p_, t_: F.binary_cross_entropy(view(p_), t_, reduction), tensors(p, t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_binary_cross_entropy_with_logits(reduction, data):
    shape = data.draw(shapes(max_dims=2))
    view, z = data.draw(viewed_array(shape, floats(-4, 4)))
    t = data.draw(arrays(shape, TARGET))
    assert gradcheck(lambda z_, t_: F.binary_cross_entropy_with_logits(view(z_), t_, reduction),
                     tensors(z, t))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_mse_loss(reduction, data):
    shape = data.draw(shapes(max_dims=2))
    view, x = data.draw(viewed_array(shape))
    t = data.draw(arrays(shape))
    assert gradcheck(lambda x_, t_: F.mse_loss(view(x_), t_, reduction), tensors(x, t))


@given(data=st.data())
def test_log_softmax(data):
    shape = data.draw(shapes(max_dims=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    view, x = data.draw(viewed_array(shape, floats(-3, 3)))
    assert gradcheck(lambda x_: F.log_softmax(view(x_), dim), tensors(x))
    assert gradcheck(lambda x_: F.softmax(view(x_), dim), tensors(x))
    probabilities = numpy.exp(F.log_softmax(Tensor(view(x)), dim).numpy())
    numpy.testing.assert_allclose(probabilities.sum(dim), 1.0, rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_cross_entropy(reduction, data):
    n, classes = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    labels = numpy.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    view, x = data.draw(viewed_array((n, classes), floats(-3, 3)))
    assert gradcheck(lambda x_: F.cross_entropy(view(x_), labels, reduction), tensors(x))
    logits = view(x)
    expected = -(logits
                 - numpy.log(numpy.exp(logits).sum(1, keepdims=True)))[numpy.arange(n), labels]
    got = F.cross_entropy(Tensor(logits), labels, "none").numpy()
    numpy.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# -- second derivatives --

SECOND_ORDER = {
    "tanh": (F.tanh, floats(-2, 2)),
    "sigmoid": (F.sigmoid, floats(-3, 3)),
    "softplus": (F.softplus, floats(-3, 3)),
    "log_sigmoid": (F.log_sigmoid, floats(-3, 3)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), away_from([0.0])),
    "exp": (F.exp, floats()),
    "log": (F.log, POSITIVE),
    "sqrt": (F.sqrt, POSITIVE),
    "pow3": (lambda x: x ** 3, floats()),
}


@pytest.mark.parametrize("name", SECOND_ORDER)
@given(data=st.data())
def test_gradgradcheck_unary(name, data):
    op, elements = SECOND_ORDER[name]
    view, base = data.draw(viewed_array(data.draw(shapes(max_side=3)), elements))
    assert gradgradcheck(lambda b: op(view(b)), tensors(base))


@given(data=st.data())
def test_gradgradcheck_binary(data):
    shape_a, shape_b = data.draw(broadcast_pairs(max_side=2)).input_shapes
    a = data.draw(arrays(shape_a))
    b = data.draw(arrays(shape_b, away_from([0.0], margin=0.5)))
    assert gradgradcheck(lambda x, y: x * y + x / y - y * y, tensors(a, b))


LOSSES = {
    "binary_cross_entropy": (F.binary_cross_entropy, PROBABILITY),
    "binary_cross_entropy_with_logits": (F.binary_cross_entropy_with_logits, floats(-3, 3)),
    "mse_loss": (F.mse_loss, floats()),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@given(data=st.data())
def test_gradgradcheck_losses(name, reduction, data):
    loss, elements = LOSSES[name]
    shape = data.draw(shapes(max_dims=2, max_side=3))
    x = data.draw(arrays(shape, elements))
    t = data.draw(arrays(shape, TARGET))
    assert gradgradcheck(lambda x_, t_: loss(x_, t_, reduction), tensors(x, t))


@given(data=st.data())
def test_gradgradcheck_cross_entropy_and_matmul(data):
    n, k, classes = (data.draw(st.integers(1, 3)) for _ in range(3))
    labels = numpy.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    x, w = data.draw(arrays((n, k))), data.draw(arrays((k, classes)))
    assert gradgradcheck(lambda x_, w_: F.cross_entropy(x_ @ w_, labels), tensors(x, w))


@given(data=st.data())
def test_gradgradcheck_conv(data):
    g = data.draw(conv_geometries(max_side=4))
    x = data.draw(arrays((g.N, g.C_in, g.H, g.W)))
    w = data.draw(arrays((g.C_out, g.C_in, g.k, g.k)))
    assume(g.N * g.C_in * g.H * g.W <= 32)
    assert gradgradcheck(lambda x_, w_: F.conv2d(x_, w_, None, g.stride, g.padding), tensors(x, w))
