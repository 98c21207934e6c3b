"""The fully connected GAN: the smallest model that learns MNIST digits.

G: z (latent_dim) -> 256 -> 512 -> 1024 -> 784 -> tanh, reshaped to (N, 1, 28, 28).
D: (N, 1, 28, 28) flattened -> 512 -> 256 -> 1 logit. LeakyReLU(0.2) between the layers.
"""
from scratchgan import nn

IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 28 * 28


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim=100, hidden=(256, 512, 1024), negative_slope=0.2,
                 batch_norm=False):
        super().__init__()
        self.latent_dim = latent_dim
        layers, width = [], latent_dim
        for i, h in enumerate(hidden):
            layers.append(nn.Dense(width, h))
            if batch_norm and i > 0:  # not on the first layer, as PyTorch-GAN's gan.py
                layers.append(nn.BatchNorm(h))
            layers.append(nn.LeakyReLU(negative_slope))
            width = h
        layers += [nn.Dense(width, IMAGE_SIZE), nn.Tanh(), nn.Reshape(*IMAGE_SHAPE)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N, 1); the sigmoid lives in the loss."""

    def __init__(self, hidden=(512, 256), negative_slope=0.2, inputs=IMAGE_SIZE, dropout=0.0):
        super().__init__()
        layers, width = [nn.Flatten()], inputs
        for h in hidden:
            layers += [nn.Dense(width, h), nn.LeakyReLU(negative_slope)]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Dense(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def build(latent_dim=100, g_hidden=(256, 512, 1024), d_hidden=(512, 256), negative_slope=0.2,
          n_classes=0, g_batch_norm=False, d_dropout=0.0):
    """(generator, discriminator) with PyTorch's default initialisation; conditional on
    ``n_classes`` classes when it is not 0 (the "cgan" model, scratchgan.models.conditional)."""
    if n_classes:
        from scratchgan.models.conditional import (ConditionalMLPDiscriminator,
                                                   ConditionalMLPGenerator)
        return (ConditionalMLPGenerator(latent_dim, n_classes, tuple(g_hidden), negative_slope,
                                        g_batch_norm),
                ConditionalMLPDiscriminator(n_classes, tuple(d_hidden), negative_slope, d_dropout))
    return (MLPGenerator(latent_dim, tuple(g_hidden), negative_slope, g_batch_norm),
            MLPDiscriminator(tuple(d_hidden), negative_slope, dropout=d_dropout))
