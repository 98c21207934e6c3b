"""Mistakes get one clear error that names the layer (or key) and says what was expected."""
import numpy
import pytest

from scratchgan import functional as F
from scratchgan import nn
from scratchgan.tensor import Tensor


def zeros(*shape):
    return Tensor(numpy.zeros(shape, dtype=numpy.float32))


def test_conv2d_on_flat_mnist_batch():
    """The classic: feeding (128, 784) images to a conv layer."""
    with pytest.raises(ValueError) as info:
        nn.Conv2d(1, 64, 5)(zeros(128, 784))
    message = str(info.value)
    assert "Conv2d" in message and "4-D" in message and "(N, 1, H, W)" in message
    assert "(128, 784)" in message


def test_conv2d_wrong_channels_and_too_small():
    with pytest.raises(ValueError, match=r"Conv2d.*\(N, 3, H, W\).*\(2, 1, 8, 8\)"):
        nn.Conv2d(3, 4, 3)(zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"Conv2d.*smaller than the kernel"):
        nn.Conv2d(1, 4, 5)(zeros(2, 1, 3, 3))
    with pytest.raises(ValueError, match="conv2d.*channels"):
        F.conv2d(zeros(1, 2, 4, 4), zeros(3, 1, 3, 3))


def test_conv_transpose2d_wrong_input():
    with pytest.raises(ValueError, match=r"ConvTranspose2d.*\(N, 4, H, W\)"):
        nn.ConvTranspose2d(4, 2, 3)(zeros(2, 3, 5, 5))


def test_linear_wrong_features():
    with pytest.raises(ValueError) as info:
        nn.Linear(784, 10)(zeros(8, 28, 27))
    message = str(info.value)
    assert "Linear" in message and "784" in message and "(8, 28, 27)" in message


def test_batchnorm2d_wrong_channels():
    with pytest.raises(ValueError) as info:
        nn.BatchNorm2d(64)(zeros(4, 32, 7, 7))
    message = str(info.value)
    assert "BatchNorm2d" in message and "(N, 64, H, W)" in message and "(4, 32, 7, 7)" in message
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(N, 16\)"):
        nn.BatchNorm1d(16)(zeros(4, 8))
    with pytest.raises(ValueError, match=r"BatchNorm2d"):
        nn.BatchNorm2d(3)(zeros(4, 3))  # a dense batch given to the convolutional layer


def test_shape_errors_are_value_errors():
    assert issubclass(nn.ShapeError, ValueError)
    with pytest.raises(nn.ShapeError):
        nn.Linear(3, 1)(zeros(2, 4))


def test_reshape_layer_wrong_size():
    with pytest.raises(ValueError, match=r"Reshape.*\(2, 10\).*\(N, 1, 7, 7\)"):
        nn.Reshape(1, 7, 7)(zeros(2, 10))


def test_backward_on_non_scalar_names_the_shape():
    x = Tensor(numpy.ones((3, 5), dtype=numpy.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\(3, 5\)"):
        (x * 2.0).backward()


def test_batchnorm_training_needs_two_values_per_channel():
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(zeros(1, 3))


def model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))


def test_load_state_dict_missing_key():
    state = model().state_dict()
    del state["2.bias"]
    with pytest.raises(KeyError, match=r"2\.bias"):
        model().load_state_dict(state)


def test_load_state_dict_extra_key():
    state = model().state_dict()
    state["3.weight"] = numpy.zeros((1, 1), dtype=numpy.float32)
    with pytest.raises(KeyError, match=r"3\.weight"):
        model().load_state_dict(state)


def test_load_state_dict_wrong_shape():
    state = model().state_dict()
    state["0.weight"] = numpy.zeros((4, 5), dtype=numpy.float32)
    with pytest.raises(ValueError, match=r"0\.weight.*\(4, 5\).*\(4, 3\)"):
        model().load_state_dict(state)


def test_load_state_dict_wrong_buffer_shape():
    target = model()
    state = model().state_dict()
    state["1.running_var"] = numpy.zeros(7, dtype=numpy.float32)
    with pytest.raises(ValueError, match="running_var"):
        target.load_state_dict(state)


def test_output_padding_must_be_smaller_than_stride():
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=1, output_padding=1)
    with pytest.raises(ValueError, match="ConvTranspose2d.*output_padding"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=3)


def test_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse_loss.*\(4, 1\).*\(4,\)"):
        F.mse_loss(zeros(4, 1), numpy.zeros(4))
    with pytest.raises(ValueError, match="binary_cross_entropy.*probabilities"):
        F.binary_cross_entropy(Tensor(numpy.array([1.5], dtype=numpy.float32)), [1.0])
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(zeros(4, 10), numpy.zeros(3, dtype=int))


def test_matmul_shapes():
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        zeros(2, 3) @ zeros(4, 5)


def test_bad_hyper_parameters():
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.0)
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), padding=-1)
    from scratchgan import optim
    with pytest.raises(ValueError, match="empty"):
        optim.Adam([])
