"""The GAN losses the trainer minimises (Goodfellow et al. 2014), on the discriminator's logits.

Both go through binary cross-entropy on logits, which stays finite however sure D becomes.
"""
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.tensor import Tensor


def _filled(logits, value):
    xp = B.xp_of(logits.array)
    return Tensor._wrap(xp.full(logits.shape, value, logits.dtype))


def discriminator_loss(real_logits, fake_logits):
    """D's loss, to minimise: real images are labelled 1, generated ones 0."""
    # L_D = -mean log σ(D(x)) - mean log(1 - σ(D(G(z))))
    return (F.binary_cross_entropy_with_logits(real_logits, _filled(real_logits, 1.0))
            + F.binary_cross_entropy_with_logits(fake_logits, _filled(fake_logits, 0.0)))


def generator_loss(fake_logits):
    """G's non-saturating loss: its samples labelled "real", which keeps its gradient alive when
    D rejects them easily (minimising log(1 - σ(D(G(z)))) instead would saturate)."""
    # L_G = -mean log σ(D(G(z)))
    return F.binary_cross_entropy_with_logits(fake_logits, _filled(fake_logits, 1.0))
