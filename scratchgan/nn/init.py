"""Weight initialisation helpers (in place, as torch.nn.init)."""
from scratchgan import backend as B
from scratchgan.nn.layers import ConvTranspose2d, Conv2d, Linear, _BatchNorm


def normal_(tensor, mean=0.0, std=1.0):
    owner = B.backend_of(tensor.array)
    tensor.array[...] = owner.normal(tensor.shape, dtype=tensor.dtype) * std + mean
    return tensor


def zeros_(tensor):
    tensor.array[...] = 0
    return tensor


def dcgan_init(module):
    """The DCGAN paper's init: conv and dense weights N(0, 0.02); BatchNorm weight N(1, 0.02),
    bias 0."""
    for m in module.modules():
        if isinstance(m, (Conv2d, ConvTranspose2d, Linear)):
            normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                zeros_(m.bias)
        elif isinstance(m, _BatchNorm) and m.weight is not None:
            normal_(m.weight, 1.0, 0.02)
            zeros_(m.bias)
    return module
