"""The DCGAN of Radford et al. (2016) for colour images, as pytorch/examples' dcgan/main.py.

G: z -> ConvTranspose 4x4 (stride 1, no padding) to 4x4 maps, then ConvTranspose 4x4 stride 2
   padding 1 layers, each doubling the size and halving the width, BatchNorm + ReLU between,
   to (channels, size, size) through tanh.
D: the mirror: Conv 4x4 stride 2 padding 1 layers with LeakyReLU(0.2), BatchNorm on all but the
   first, down to 4x4, then one Conv 4x4 to a single logit.

``size`` may be any power of two from 8 on: the number of stride-2 layers is log2(size) - 2, and
the widest layer has ``width · size/8`` maps (512 for the paper's 64 pixels and width 64). Under
WGAN-GP the critic has no BatchNorm (``d_norm=None``): the penalty is taken per sample, and batch
norm would make each sample's score depend on the others.
"""
import math

from scratchgan import nn


def _stride2_layers(size):
    layers = math.log2(size) - 2 if size > 0 else -1
    if layers < 1 or layers != int(layers):
        raise ValueError(f"image-dcgan: image size must be a power of two from 8 on, got {size}")
    return int(layers)


class ImageGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, channels, size, size) in [-1, 1]."""

    def __init__(self, latent_dim=100, size=64, channels=3, width=64):
        super().__init__()
        self.latent_dim = latent_dim
        n = _stride2_layers(size)
        maps = [width * 2 ** i for i in reversed(range(n))]  # 512, 256, 128, 64 at size 64
        layers = [nn.ConvTranspose2d(latent_dim, maps[0], 4, 1, 0, bias=False),
                  nn.BatchNorm2d(maps[0]), nn.ReLU()]
        for wide, narrow in zip(maps, maps[1:]):
            layers += [nn.ConvTranspose2d(wide, narrow, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(narrow), nn.ReLU()]
        layers += [nn.ConvTranspose2d(maps[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


class ImageDiscriminator(nn.Module):
    """images (N, channels, size, size) -> logits or critic scores (N, 1)."""

    def __init__(self, size=64, channels=3, width=64, norm="batch"):
        super().__init__()
        if norm not in ("batch", None):
            raise ValueError(f"image-dcgan: d_norm must be 'batch' or None, got {norm!r}")
        n = _stride2_layers(size)
        maps = [width * 2 ** i for i in range(n)]  # 64, 128, 256, 512 at size 64
        layers = [nn.Conv2d(channels, maps[0], 4, 2, 1, bias=False), nn.LeakyReLU(0.2)]
        for narrow, wide in zip(maps, maps[1:]):
            layers.append(nn.Conv2d(narrow, wide, 4, 2, 1, bias=norm is None))
            layers += [nn.BatchNorm2d(wide)] if norm == "batch" else []
            layers.append(nn.LeakyReLU(0.2))
        layers += [nn.Conv2d(maps[-1], 1, 4, 1, 0, bias=False), nn.Flatten()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def build(latent_dim=100, size=64, channels=3, width=64, d_norm="batch", n_classes=0):
    """(generator, discriminator), initialised as in the DCGAN paper; conditional on
    ``n_classes`` classes when it is not 0 (scratchgan.models.conditional)."""
    if n_classes:
        from scratchgan.models.conditional import (ConditionalImageGenerator,
                                                   ProjectionImageDiscriminator)
        generator = ConditionalImageGenerator(latent_dim, n_classes, size, channels, width)
        discriminator = ProjectionImageDiscriminator(n_classes, size, channels, width, d_norm)
    else:
        generator = ImageGenerator(latent_dim, size, channels, width)
        discriminator = ImageDiscriminator(size, channels, width, d_norm)
    return nn.dcgan_init(generator), nn.dcgan_init(discriminator)
