"""The GANs, by name: ``G, D = models.build("dcgan", latent_dim=100)``.

Every generator maps z (N, latent_dim) to images (N, C, H, W) in [-1, 1]; every discriminator
maps such images to logits or critic scores (N, 1). "mlp" and "dcgan" draw MNIST's 28x28 digits;
"image-dcgan" draws colour (or grey) images of any power-of-two size. "cgan", and "image-dcgan"
with ``n_classes``, are conditional: G(z, labels) and D(x, labels) (models.conditional).
"""
from scratchgan.models import conditional, dcgan, image_dcgan, mlp
from scratchgan.models.conditional import (ConditionalImageGenerator, ConditionalMLPDiscriminator,
                                           ConditionalMLPGenerator, LabelEmbedding,
                                           ProjectionImageDiscriminator, one_hot)
from scratchgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from scratchgan.models.image_dcgan import ImageDiscriminator, ImageGenerator
from scratchgan.models.mlp import MLPDiscriminator, MLPGenerator



def _cgan(latent_dim=100, n_classes=10, **options):
    """MNIST's conditional GAN: the MLP pair, told the digit (PyTorch-GAN's cgan)."""
    return mlp.build(latent_dim, n_classes=n_classes, **options)


BUILDERS = {"mlp": mlp.build, "dcgan": dcgan.build, "cgan": _cgan,
            "image-dcgan": image_dcgan.build}
NAMES = tuple(BUILDERS)


def build(name, latent_dim=100, **options):
    """(generator, discriminator) of the model called ``name``, on the active backend.

    ``options`` are the builder's keyword arguments (widths, slopes), e.g.
    ``build("mlp", g_hidden=(32, 64), d_hidden=(64, 32))``.
    """
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(NAMES)}")
    return BUILDERS[name](latent_dim, **options)


__all__ = ["build", "NAMES", "MLPGenerator", "MLPDiscriminator", "DCGANGenerator",
           "DCGANDiscriminator", "ImageGenerator", "ImageDiscriminator", "ConditionalMLPGenerator",
           "ConditionalMLPDiscriminator", "ConditionalImageGenerator",
           "ProjectionImageDiscriminator", "LabelEmbedding", "is_conditional", "one_hot",
           "conditional"]


def is_conditional(generator):
    """Whether ``generator`` draws a requested class: G(z, labels)."""
    return getattr(generator, "n_classes", 0) > 0
