"""The GAN losses: what D and G minimise, written on D's raw outputs (logits, or a critic's scores).

Each loss is a small class: ``discriminator(D, real, fake)`` gives D's loss and the statistics a
run logs, ``generator(D, fake)`` G's loss. ``LOSSES`` maps the names of ``--loss`` to them.
"""
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.tensor import Tensor, grad


def _filled(like, value):
    return Tensor._wrap(B.xp_of(like.array).full(like.shape, value, like.dtype))


class BCE:
    """Goodfellow et al. 2014, with G's non-saturating loss: D tells real (1) from fake (0)."""
    name, stat_names, n_critic = "bce", ("d_real", "d_fake"), 1
    optimizer = dict(lr=2e-4, betas=(0.5, 0.999))  # the DCGAN paper's Adam

    def discriminator(self, D, real, fake):
        # L_D = −mean log σ(D(x)) − mean log(1 − σ(D(G(z))))
        real_out, fake_out = D(real), D(fake)
        loss = (F.binary_cross_entropy_with_logits(real_out, _filled(real_out, 1.0))
                + F.binary_cross_entropy_with_logits(fake_out, _filled(fake_out, 0.0)))
        return loss, dict(d_real=F.sigmoid(real_out).mean(), d_fake=F.sigmoid(fake_out).mean())

    def generator(self, D, fake):
        # L_G = −mean log σ(D(G(z))): its gradient stays alive when D rejects the samples easily,
        # where minimising log(1 − σ(D(G(z)))) would saturate
        fake_out = D(fake)
        return F.binary_cross_entropy_with_logits(fake_out, _filled(fake_out, 1.0))


class LSGAN:
    """Mao et al. 2017: least squares on D's outputs, real towards 1 and fake towards 0."""
    name, stat_names, n_critic = "lsgan", ("d_real", "d_fake"), 1
    optimizer = dict(lr=2e-4, betas=(0.5, 0.999))

    def discriminator(self, D, real, fake):
        # L_D = ½ mean (D(x) − 1)² + ½ mean D(G(z))²
        real_out, fake_out = D(real), D(fake)
        loss = 0.5 * ((real_out - 1.0) ** 2).mean() + 0.5 * (fake_out ** 2).mean()
        return loss, dict(d_real=real_out.mean(), d_fake=fake_out.mean())

    def generator(self, D, fake):
        # L_G = ½ mean (D(G(z)) − 1)²
        return 0.5 * ((D(fake) - 1.0) ** 2).mean()


class Hinge:
    """The hinge loss of SAGAN and BigGAN: D only cares about margins of 1."""
    name, stat_names, n_critic = "hinge", ("d_real", "d_fake"), 1
    optimizer = dict(lr=2e-4, betas=(0.5, 0.999))

    def discriminator(self, D, real, fake):
        # L_D = mean max(0, 1 − D(x)) + mean max(0, 1 + D(G(z)))
        real_out, fake_out = D(real), D(fake)
        loss = F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()
        return loss, dict(d_real=real_out.mean(), d_fake=fake_out.mean())

    def generator(self, D, fake):
        # L_G = −mean D(G(z))
        return -D(fake).mean()


class WGANGP:
    """Gulrajani et al. 2017: D is a critic whose score difference estimates the Wasserstein
    distance, kept 1-Lipschitz by a penalty on its gradient at points between real and fake."""
    name, n_critic = "wgan-gp", 5
    stat_names = ("critic_real", "critic_fake", "wasserstein", "penalty")
    optimizer = dict(lr=1e-4, betas=(0.0, 0.9))  # the paper's Adam
    weight = 10.0  # λ

    def discriminator(self, D, real, fake):
        # L_D = mean D(G(z)) − mean D(x) + λ mean (‖∇D(x̂)‖₂ − 1)²,  x̂ = εx + (1 − ε)G(z)
        real_score, fake_score = D(real).mean(), D(fake).mean()
        penalty = gradient_penalty(D, real, fake)
        loss = fake_score - real_score + self.weight * penalty
        return loss, dict(critic_real=real_score, critic_fake=fake_score,
                          wasserstein=real_score - fake_score, penalty=penalty)

    def generator(self, D, fake):
        # L_G = −mean D(G(z))
        return -D(fake).mean()


def gradient_penalty(D, real, fake):
    """mean (‖∇D(x̂)‖₂ − 1)², the norm taken per sample, at x̂ = εx + (1 − ε)G(z) with one
    ε ~ U[0, 1) per sample. The gradient keeps its graph (create_graph), so that the penalty
    itself can be differentiated with respect to D's parameters."""
    owner = B.backend_of(real.array)
    eps = Tensor._wrap(owner.uniform((real.shape[0],) + (1,) * (real.ndim - 1), real.dtype))
    between = (eps * real + (1.0 - eps) * fake.detach()).requires_grad_()
    (slopes,) = grad(D(between).sum(), between, create_graph=True)
    norms = F.sqrt((slopes * slopes).reshape(real.shape[0], -1).sum(1) + 1e-12)
    return ((norms - 1.0) ** 2).mean()


LOSSES = {loss.name: loss for loss in (BCE, WGANGP, Hinge, LSGAN)}


def get_loss(name):
    """The loss called ``name`` (one of LOSSES), as an object."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}: expected one of {', '.join(LOSSES)}")
    return LOSSES[name]()
