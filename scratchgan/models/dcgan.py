"""The TensorFlow DCGAN tutorial's convolutional GAN (tensorflow.org/tutorials/generative/dcgan).

G: Dense(latent -> 7·7·256, no bias) + BatchNorm + LeakyReLU -> Reshape(256, 7, 7)
   -> ConvTranspose 5x5 stride 1 -> 128 x 7x7   (+ BatchNorm + LeakyReLU)
   -> ConvTranspose 5x5 stride 2 -> 64 x 14x14  (+ BatchNorm + LeakyReLU)
   -> ConvTranspose 5x5 stride 2 -> 1 x 28x28 -> tanh
D: Conv 5x5 stride 2 -> 64 x 14x14 + LeakyReLU + Dropout(0.3)
   -> Conv 5x5 stride 2 -> 128 x 7x7 + LeakyReLU + Dropout(0.3) -> Flatten -> Dense(6272 -> 1)

``build(d_batch_norm=True)`` adds the DCGAN paper's batch norm after D's convolutions but the first,
and ``build(d_convs=3)`` a third convolution (-> 4w x 4x4; the DCGAN paper's D goes on halving
the image and doubling the channels, mirroring G): the dense read-out then sees features of the
whole digit's shape, not of 13x13 patches. ``python -m scratchgan.mnist --model dcgan`` trains
both (README, "Time and quality").

Keras' padding="same" is padding 2 for a 5x5 kernel; a stride-2 transposed convolution also
needs output_padding 1 to reach exactly twice its input size. LeakyReLU keeps Keras' default
slope of 0.3 (PyTorch's DCGAN example uses 0.2). Weights start from the DCGAN paper's N(0, 0.02).
"""
from scratchgan import nn


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100, channels=(256, 128, 64), negative_slope=0.3):
        super().__init__()
        self.latent_dim = latent_dim
        c0, c1, c2 = channels
        self.net = nn.Sequential(
            nn.Dense(latent_dim, 7 * 7 * c0, bias=False), nn.BatchNorm(7 * 7 * c0),
            nn.LeakyReLU(negative_slope),
            nn.Reshape(c0, 7, 7),
            nn.ConvTranspose2d(c0, c1, 5, stride=1, padding=2, bias=False), nn.BatchNorm(c1),
            nn.LeakyReLU(negative_slope),
            nn.ConvTranspose2d(c1, c2, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm(c2),
            nn.LeakyReLU(negative_slope),
            nn.ConvTranspose2d(c2, 1, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N, 1); the sigmoid lives in the loss."""

    def __init__(self, channels=(64, 128), negative_slope=0.3, dropout=0.3, batch_norm=False):
        super().__init__()
        layers, size = [], 28
        for i, (c_in, c_out) in enumerate(zip((1, *channels), channels)):
            # batch_norm: the DCGAN paper's D, normalised after every convolution but the first
            norm = batch_norm and i > 0
            layers += [nn.Conv2d(c_in, c_out, 5, stride=2, padding=2, bias=not norm),
                       *([nn.BatchNorm(c_out)] if norm else []),
                       nn.LeakyReLU(negative_slope), nn.Dropout(dropout)]
            size = (size + 1) // 2  # 28 -> 14 -> 7 -> 4
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Dense(channels[-1] * size * size, 1))

    def forward(self, x):
        return self.net(x)


def build(latent_dim=100, g_channels=(256, 128, 64), d_channels=(64, 128), negative_slope=0.3,
          dropout=0.3, width=None, d_batch_norm=False, d_convs=None):
    """(generator, discriminator), initialised as in the DCGAN paper. ``width`` w sets both pairs
    of channels at once: G (4w, 2w, w), D (w, 2w) or, with ``d_convs=3``, (w, 2w, 4w); the
    tutorial's networks are w = 64 with two convolutions in D."""
    if width is not None:
        g_channels = (4 * width, 2 * width, width)
        d_channels = tuple(width * 2 ** i for i in range(2 if d_convs is None else d_convs))
    if d_convs is not None and len(d_channels) != d_convs:
        raise ValueError(f"dcgan: d_channels {tuple(d_channels)} are {len(d_channels)} "
                         f"convolutions, not d_convs={d_convs}")
    generator = DCGANGenerator(latent_dim, tuple(g_channels), negative_slope)
    discriminator = DCGANDiscriminator(tuple(d_channels), negative_slope, dropout, d_batch_norm)
    return nn.dcgan_init(generator), nn.dcgan_init(discriminator)
