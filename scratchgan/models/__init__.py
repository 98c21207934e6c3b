"""The GANs, by name: ``G, D = models.build("dcgan", latent_dim=100)``.

Every generator maps z (N, latent_dim) to images (N, C, H, W) in [-1, 1]; every discriminator
maps such images to logits or critic scores (N, 1). "mlp" and "dcgan" draw MNIST's 28x28 digits;
"image-dcgan" draws colour (or grey) images of any power-of-two size.
"""
from scratchgan.models import dcgan, image_dcgan, mlp
from scratchgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from scratchgan.models.image_dcgan import ImageDiscriminator, ImageGenerator
from scratchgan.models.mlp import MLPDiscriminator, MLPGenerator

BUILDERS = {"mlp": mlp.build, "dcgan": dcgan.build, "image-dcgan": image_dcgan.build}
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
           "DCGANDiscriminator", "ImageGenerator", "ImageDiscriminator"]
