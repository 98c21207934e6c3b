"""batch_norm: forward against per-channel loops, PyTorch's running-statistics rule, evaluation
with the running statistics, and first and second derivatives in training and evaluation."""
import numpy
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scratchgan import functional as F
from scratchgan import gradcheck, gradgradcheck, nn
from scratchgan.tensor import Tensor
from strategies import arrays, floats, viewed_array

EPS = 1e-5


def channel_statistics(x):
    """Per-channel mean and biased variance by explicit loops over n (and h, w)."""
    N, C = x.shape[:2]
    mean, var = numpy.zeros(C), numpy.zeros(C)
    for c in range(C):
        values = [x[n, c] if x.ndim == 2 else x[n, c, h, w]
                  for n in range(N)
                  for h in range(1 if x.ndim == 2 else x.shape[2])
                  for w in range(1 if x.ndim == 2 else x.shape[3])]
        mean[c] = sum(values) / len(values)
        var[c] = sum((v - mean[c]) ** 2 for v in values) / len(values)
    return mean, var, len(values)


def batch_norm_reference(x, mean, var, gamma, beta, eps=EPS):
    y = numpy.empty_like(x)
    for c in range(x.shape[1]):
        y[:, c] = (x[:, c] - mean[c]) / numpy.sqrt(var[c] + eps) * gamma[c] + beta[c]
    return y


@st.composite
def bn_inputs(draw, spatial):
    """(shape, view, base) with every channel spread out (a constant channel is tested apart)."""
    C = draw(st.integers(1, 3))
    if spatial:
        shape = (draw(st.integers(1, 2)), C, draw(st.integers(1, 3)), draw(st.integers(2, 3)))
    else:
        shape = (draw(st.integers(2, 5)), C)
    view, base = draw(viewed_array(shape))
    assume(channel_statistics(view(base))[1].min() > 0.05)
    return shape, view, base


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data())
def test_training_forward_matches_loops(spatial, data):
    shape, view, base = data.draw(bn_inputs(spatial))
    C = shape[1]
    gamma, beta = data.draw(arrays((C,))), data.draw(arrays((C,)))
    x = view(base)
    mean, var, _ = channel_statistics(x)
    got = F.batch_norm(Tensor(x), None, None, Tensor(gamma), Tensor(beta), training=True)
    numpy.testing.assert_allclose(got.numpy(), batch_norm_reference(x, mean, var, gamma, beta),
                                  rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data(), momentum=st.sampled_from([0.1, 0.3]))
def test_running_statistics_follow_pytorch(spatial, data, momentum):
    """running = (1 − momentum)·running + momentum·batch, with the unbiased batch variance."""
    shape = data.draw(bn_inputs(spatial))[0]
    C = shape[1]
    layer = (nn.BatchNorm2d if spatial else nn.BatchNorm1d)(C, momentum=momentum)
    running_mean, running_var = numpy.zeros(C), numpy.ones(C)
    for _ in range(3):
        x = data.draw(arrays(shape)).astype(numpy.float32)
        layer(Tensor(x))
        mean, var, count = channel_statistics(x.astype(numpy.float64))
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * var * count / (count - 1)
    numpy.testing.assert_allclose(layer.running_mean.numpy(), running_mean, rtol=1e-5, atol=1e-6)
    numpy.testing.assert_allclose(layer.running_var.numpy(), running_var, rtol=1e-5, atol=1e-6)
    assert layer.num_batches_tracked.item() == 3
    assert layer.running_mean.dtype == layer.running_var.dtype == numpy.float32


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data())
def test_eval_uses_running_statistics(spatial, data):
    shape = data.draw(bn_inputs(spatial))[0]
    C = shape[1]
    layer = nn.BatchNorm2d(C) if spatial else nn.BatchNorm1d(C)
    layer.weight.array[...] = data.draw(arrays((C,)))
    layer.bias.array[...] = data.draw(arrays((C,)))
    # one training step moves the stats
    layer(Tensor(data.draw(arrays(shape)).astype(numpy.float32)))
    rm, rv = layer.running_mean.numpy().copy(), layer.running_var.numpy().copy()
    layer.eval()
    x = data.draw(arrays(shape)).astype(numpy.float32)
    y = layer(Tensor(x))
    expected = batch_norm_reference(x.astype(numpy.float64), rm, rv, layer.weight.numpy(),
                                    layer.bias.numpy())
    numpy.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)
    numpy.testing.assert_array_equal(layer.running_mean.numpy(), rm)  # evaluation leaves them alone
    numpy.testing.assert_array_equal(layer.running_var.numpy(), rv)
    assert layer.num_batches_tracked.item() == 1


def test_constant_channel_stays_finite():
    x = Tensor(numpy.full((4, 2, 2, 2), 3.0, dtype=numpy.float32), requires_grad=True)
    y = nn.BatchNorm2d(2)(x)
    (y * y).sum().backward()
    assert numpy.isfinite(y.numpy()).all() and numpy.isfinite(x.grad.numpy()).all()
    numpy.testing.assert_allclose(y.numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data())
def test_gradcheck_training(spatial, data):
    shape, view, base = data.draw(bn_inputs(spatial))
    C = shape[1]
    gamma, beta = data.draw(arrays((C,), floats(0.5, 2.0))), data.draw(arrays((C,)))
    assert gradcheck(lambda x, g, b: F.batch_norm(view(x), None, None, g, b, training=True),
                     [Tensor(base), Tensor(gamma), Tensor(beta)])


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data())
def test_gradcheck_eval(spatial, data):
    shape, view, base = data.draw(bn_inputs(spatial))
    C = shape[1]
    running_mean, running_var = data.draw(arrays((C,))), data.draw(arrays((C,), floats(0.2, 2.0)))
    gamma, beta = data.draw(arrays((C,))), data.draw(arrays((C,)))
    assert gradcheck(lambda x, g, b: F.batch_norm(view(x), running_mean, running_var, g, b,
                                                  training=False),
                     [Tensor(base), Tensor(gamma), Tensor(beta)])


@pytest.mark.parametrize("spatial", [False, True], ids=["NC", "NCHW"])
@given(data=st.data())
def test_gradgradcheck_training(spatial, data):
    shape, view, base = data.draw(bn_inputs(spatial))
    C = shape[1]
    gamma, beta = data.draw(arrays((C,), floats(0.5, 2.0))), data.draw(arrays((C,)))
    assert gradgradcheck(lambda x, g, b: F.batch_norm(view(x), None, None, g, b, training=True),
                         [Tensor(base), Tensor(gamma), Tensor(beta)])


@pytest.mark.parametrize("layer_type, spatial", [(nn.BatchNorm1d, False), (nn.BatchNorm2d, True),
                                                 (nn.BatchNorm, False), (nn.BatchNorm, True)])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@given(data=st.data())
def test_layer_gradcheck(layer_type, spatial, training, data):
    """The layers, parameters included, in both modes; then their second derivatives."""
    shape, view, base = data.draw(bn_inputs(spatial))
    layer = layer_type(shape[1])
    layer.weight.array[...] = data.draw(arrays((shape[1],), floats(0.5, 2.0)))
    layer.running_var.array[...] = data.draw(arrays((shape[1],), floats(0.2, 2.0)))
    layer.train(training)
    assert gradcheck(layer, [Tensor(view(base))])
    assert gradgradcheck(layer, [Tensor(view(base))])
    # gradcheck restored float32
    assert layer.weight.dtype == layer.running_mean.dtype == numpy.float32
