"""Each fast kernel of the NumPy backend (backend/cpu.py) equals its plain formula
(backend/plain.py).

``Backend.kernel(numpy_backend, ...)`` runs the formula itself on NumPy arrays; the NumPy backend's
own method is the fast path the ops take on a CPU. Shapes are drawn small (every branch of the
geometry) and also large enough that the work is cut into parts on two threads. The engine's
``fast_backward`` of an op must equal its ``backward``, written with Tensor ops.
"""
import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.backend import threads
from scratchgan.backend.plain import Backend, in_memory_order
from scratchgan.tensor import Function, Tensor, grad
from strategies import conv_geometries, conv_transpose_geometries

FAST = B.get_backend("numpy")
CLOSE = dict(rtol=2e-5, atol=2e-6)


@pytest.fixture(autouse=True)
def two_threads_by_scratchgan():
    before = (threads.get_num_threads(), threads.threads_run_by())
    threads.set_num_threads(2, by="scratchgan")
    yield
    threads.set_num_threads(before[0], by=before[1])


def data(*shape, seed=0, offset=0.0):
    return (numpy.random.default_rng(seed).standard_normal(shape) + offset).astype(numpy.float32)


def batch_last(*shape, seed=0):
    """An (N, C, H, W) view of (C, H, W, N) memory, the layout conv feature maps have."""
    return (numpy.ascontiguousarray(data(*shape, seed=seed).transpose(1, 2, 3, 0))
            .transpose(3, 0, 1, 2))


def assert_same(fast, plain, **tolerance):
    fast = fast if isinstance(fast, tuple) else (fast,)
    plain = plain if isinstance(plain, tuple) else (plain,)
    assert len(fast) == len(plain)
    for f, p in zip(fast, plain):
        assert f.shape == p.shape and f.dtype == p.dtype
        numpy.testing.assert_allclose(f, p, **(tolerance or CLOSE))


BIG_MAPS = [lambda: data(64, 64, 14, 14), lambda: batch_last(64, 64, 14, 14), lambda: data(3, 5)]


@pytest.mark.parametrize("shapes", [((3200, 256), (256, 6272)), ((12544, 100), (100, 128)),
                                    ((6272, 1), (1, 128)), ((7, 3), (3, 5))])
def test_matmul(shapes):
    a, b = data(*shapes[0]), data(*shapes[1], seed=1)
    assert_same(FAST.matmul(a, b), Backend.matmul(FAST, a, b), rtol=1e-4, atol=1e-4)
    assert_same(FAST.matmul(a, numpy.asfortranarray(b)), Backend.matmul(FAST, a, b),
                rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make", BIG_MAPS)
def test_multiply(make):
    a, b = make(), make() * 0.5
    assert_same(FAST.multiply(a, b), Backend.multiply(FAST, a, b), rtol=0, atol=0)
    column = a[:, :1] if a.ndim == 2 else a[:1]
    assert_same(FAST.multiply(a, column), Backend.multiply(FAST, a, column), rtol=0, atol=0)


@pytest.mark.parametrize("slope", [0.2, 0.0, 1.0, 1.5, -0.1])
@pytest.mark.parametrize("make", BIG_MAPS)
def test_leaky_relu_and_its_gradient(make, slope):
    x, gy = make(), make() * 0.5
    y = FAST.leaky_relu(x, slope)
    assert_same(y, Backend.leaky_relu(FAST, x, slope), rtol=0, atol=0)
    assert y.strides == x.strides  # the layout is kept
    assert_same(FAST.leaky_relu_grad(gy, x, slope), Backend.leaky_relu_grad(FAST, gy, x, slope),
                rtol=0, atol=0)


@pytest.mark.parametrize("p", [0.3, 0.9])
@pytest.mark.parametrize("make", BIG_MAPS)
def test_dropout_mask(make, p):
    like = make()
    FAST.seed(5)
    mask = FAST.dropout_mask(like, p)
    FAST.seed(5)
    assert_same(mask, Backend.dropout_mask(FAST, like, p), rtol=0, atol=0)
    assert (mask.strides == like.strides
            and set(numpy.unique(mask)) == {0, numpy.float32(1 / (1 - p))})


@given(conv_geometries(max_side=7, max_channels=3))
def test_im2col_and_col2im_small(g):
    x = data(g.N, g.C_in, g.H, g.W)
    cols = FAST.im2col(x, g.k, g.k, g.stride, g.padding)
    assert_same(cols, Backend.im2col(FAST, x, g.k, g.k, g.stride, g.padding), rtol=0, atol=0)
    OH, OW = ((n + 2 * g.padding - g.k) // g.stride + 1 for n in (g.H, g.W))
    taps = data(g.C_in, g.k, g.k, OH, OW, g.N, seed=1)
    assert_same(FAST.col2im(taps, g.stride, g.padding, (g.H, g.W)),
                Backend.col2im(FAST, taps, g.stride, g.padding, (g.H, g.W)))


@pytest.mark.parametrize("make", [lambda: data(128, 64, 14, 14),
                                  lambda: batch_last(128, 64, 14, 14)])
def test_im2col_and_col2im_at_dcgan_sizes(make):
    x = make()
    assert_same(FAST.im2col(x, 5, 5, 2, 2), Backend.im2col(FAST, x, 5, 5, 2, 2), rtol=0, atol=0)
    taps = data(64, 5, 5, 7, 7, 128, seed=1)
    assert_same(FAST.col2im(taps, 2, 2, (14, 14)), Backend.col2im(FAST, taps, 2, 2, (14, 14)))


@pytest.mark.parametrize("offset", [0.0, 50.0])
@pytest.mark.parametrize("make", [lambda o: data(64, 64, 14, 14, offset=o),
                                  lambda o: data(128, 12544, offset=o),
                                  lambda o: data(5, 3, offset=o),
                                  lambda o: data(4, 3, 2, 2, offset=o)])
def test_batch_norm_and_its_gradient(make, offset):
    x = make(offset)
    C = x.shape[1]
    gamma, beta, gy = data(C, seed=1), data(C, seed=2), data(*x.shape, seed=3)
    fast = FAST.batch_norm(x, gamma, beta, 1e-5)
    assert_same(fast, Backend.batch_norm(FAST, x, gamma, beta, 1e-5), rtol=1e-4, atol=1e-4)
    mean, var = fast[1:]
    assert_same(FAST.batch_norm_grad(gy, x, gamma, mean, var, 1e-5),
                Backend.batch_norm_grad(FAST, gy, x, gamma, mean, var, 1e-5), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("lr", [1e-3, 0.0])
@pytest.mark.parametrize("shape", [(300, 700), (5,), ()])
def test_adam(shape, lr):
    p, g = data(*shape), data(*shape, seed=1)
    m, v = data(*shape, seed=2), abs(data(*shape, seed=3))
    fast, plain = [numpy.array(a) for a in (p, m, v)], [numpy.array(a) for a in (p, m, v)]
    for t in range(1, 4):
        step_size, c2 = lr / (1 - 0.9 ** t), (1 - 0.999 ** t) ** 0.5
        FAST.adam(fast[0], g, fast[1], fast[2], 0.9, 0.999, step_size, c2, 1e-8)
        Backend.adam(FAST, plain[0], g, plain[1], plain[2], 0.9, 0.999, step_size, c2, 1e-8)
    assert_same(tuple(fast), tuple(plain), rtol=1e-5, atol=1e-6)
    if lr == 0:
        numpy.testing.assert_array_equal(fast[0], p)


def test_in_memory_order_keeps_any_layout():
    a = numpy.zeros((4, 3, 5, 2), numpy.float32).transpose(2, 0, 3, 1)
    made = in_memory_order(a, lambda shape: numpy.empty(shape, numpy.float32))
    assert made.shape == a.shape and made.strides == a.strides


# -- fast_backward against backward --

def _ops_with_a_fast_backward():
    found, stack = set(), [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if "fast_backward" in vars(cls):
            found.add(cls.__name__)
    return found


FAST_BACKWARD_CASES = {
    "BatchNorm": lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
}


CONV_FAST_BACKWARDS = ("ConvTranspose2d",)  # checked by test_conv_fast_backward_...


def test_every_fast_backward_is_checked():
    assert _ops_with_a_fast_backward() == set(FAST_BACKWARD_CASES) | set(CONV_FAST_BACKWARDS)


@pytest.mark.parametrize("name", sorted(FAST_BACKWARD_CASES))
@pytest.mark.parametrize("shape", [(64, 64, 14, 14), (16, 6), (3, 2, 3, 3)])
@given(seed=st.integers(0, 2 ** 16))
def test_fast_backward_equals_backward(name, shape, seed):
    op = FAST_BACKWARD_CASES[name]
    x = Tensor(data(*shape, seed=seed, offset=3.0), requires_grad=True)
    w = Tensor(data(shape[1], seed=seed + 1), requires_grad=True)
    b = Tensor(data(shape[1], seed=seed + 2), requires_grad=True)
    gy = Tensor(data(*shape, seed=seed + 3))
    fast = grad(op(x, w, b), [x, w, b], gy)  # create_graph=False: the engine takes fast_backward
    written = grad(op(x, w, b), [x, w, b], gy, create_graph=True)  # backward, in Tensor ops
    for f, s in zip(fast, written):
        numpy.testing.assert_allclose(f.array, s.array, rtol=1e-4, atol=1e-4)


def _conv_case(transposed, g, seed, with_bias):
    x = Tensor(data(g.N, g.C_in, g.H, g.W, seed=seed), requires_grad=True)
    shape = (g.C_in, g.C_out, g.k, g.k) if transposed else (g.C_out, g.C_in, g.k, g.k)
    w = Tensor(data(*shape, seed=seed + 1), requires_grad=True)
    if transposed:
        return (lambda x, w: F.conv_transpose2d(x, w, None, g.stride, g.padding,
                                                g.output_padding)), [x, w]
    b = Tensor(data(g.C_out, seed=seed + 2), requires_grad=True)
    inputs = [x, w, b] if with_bias else [x, w]
    return (lambda *t: F.conv2d(*t, stride=g.stride, padding=g.padding)), inputs


@pytest.mark.parametrize("transposed", [False, True])
@given(data_=st.data(), seed=st.integers(0, 2 ** 16), with_bias=st.booleans(),
       needed=st.sampled_from([(0,), (1,), (0, 1)]))
def test_conv_fast_backward_equals_backward(transposed, data_, seed, with_bias, needed):
    """conv_transpose2d's fast_backward (one im2col of gy for both gradients) against backward's
    Conv2d and Conv2dWeight ops, for any subset of the inputs asked for; conv2d alongside."""
    g = data_.draw(conv_transpose_geometries() if transposed else conv_geometries())
    op, inputs = _conv_case(transposed, g, seed, with_bias)
    asked = [inputs[i] for i in needed] + inputs[2:]
    out = op(*inputs)
    gy = Tensor(data(*out.shape, seed=seed + 3))
    fast = grad(op(*inputs), asked, gy)
    written = grad(op(*inputs), asked, gy, create_graph=True)
    for f, s in zip(fast, written):
        numpy.testing.assert_allclose(f.array, s.array, rtol=1e-4, atol=1e-4)


def test_a_stamp_per_tap_col2im_is_a_reshape():
    """G's first layer: 1x1 maps through a 4x4 kernel, stride 1, no padding."""
    taps = data(5, 4, 4, 1, 1, 3, seed=0)
    fast = B.get_backend("numpy").col2im(taps, 1, 0, (4, 4))
    numpy.testing.assert_array_equal(fast, Backend("plain", numpy, numpy.ndarray).col2im(
        taps, 1, 0, (4, 4)))
