"""torch.nn.init: each writes into a tensor's storage (a Parameter, or its .data), recording no
graph, from the backend's generator (seeded by scratchgan.manual_seed); each returns it."""
import math

from scratchgan import backend as B
from scratchgan.nn.layers import ConvTranspose2d, Conv2d, Linear, _BatchNorm


def _draw(tensor, kind, scale, shift):
    owner = B.backend_of(tensor.array)
    tensor.array[...] = getattr(owner, kind)(tensor.shape, tensor.dtype) * scale + shift
    return tensor


def normal_(tensor, mean=0.0, std=1.0):
    return _draw(tensor, "normal", std, mean)


def uniform_(tensor, a=0.0, b=1.0):
    return _draw(tensor, "uniform", b - a, a)


def constant_(tensor, val):
    tensor.array[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def _calculate_fan_in_and_fan_out(tensor):
    """size(1) and size(0), each times the receptive field (the product of the other sizes)."""
    if tensor.ndim < 2:
        raise ValueError(f"fans need a tensor of 2 or more dimensions, got {tuple(tensor.shape)}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    slope = 0.01 if param is None else param
    gains = dict(linear=1, sigmoid=1, tanh=5.0 / 3, relu=math.sqrt(2.0), selu=3.0 / 4,
                 leaky_relu=math.sqrt(2.0 / (1 + slope ** 2)))
    gains.update((f"conv{t}{d}d", 1) for t in ("", "_transpose") for d in (1, 2, 3))
    if nonlinearity not in gains:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return gains[nonlinearity]


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan = _calculate_fan_in_and_fan_out(tensor)[mode == "fan_out"]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def dcgan_init(module):
    """The DCGAN paper's init: conv and dense weights N(0, 0.02); BatchNorm's N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d, Linear)):
            normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                zeros_(m.bias)
        elif isinstance(m, _BatchNorm) and m.weight is not None:
            normal_(m.weight, 1.0, 0.02)
            zeros_(m.bias)
    return module
