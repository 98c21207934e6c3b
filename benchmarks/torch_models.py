"""PyTorch twins of scratchgan models and of the GAN training step, for the benchmarks only.

``twin(module)`` translates a scratchgan ``nn`` tree (Sequential of the standard layers) into
the same PyTorch network and copies the weights, so both frameworks run one architecture from
one initialisation. ``TorchGANStep`` is the alternating update of ``scratchgan.trainer``, with
Adam for both networks: under ``loss="bce"`` D on real (target 1) and detached fake (target 0),
then G through a fresh D pass with the non-saturating loss; under ``loss="wgan-gp"`` the critic
loss of ``scratchgan.losses.WGANGP`` (``critic_loss``, its penalty ``gradient_penalty`` with ε
passed in, so that tests can hold it fixed), then G on −mean D(G(z)). torch is never a
dependency of the library.
"""
import torch
from torch import nn as tnn
from torch.nn import functional as TF

from scratchgan import nn as snn
from scratchgan import to_numpy
from scratchgan.models import ImageGenerator


def _copy(dst, src):
    if src is not None:
        dst.data.copy_(torch.from_numpy(to_numpy(src.array)))


def _leaf(m):
    """The torch layer equal to scratchgan leaf layer ``m``, with its weights."""
    if isinstance(m, snn.Linear):
        t = tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None)
    elif isinstance(m, snn.ConvTranspose2d):
        t = tnn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                                m.output_padding, bias=m.bias is not None)
    elif isinstance(m, snn.Conv2d):
        t = tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                       bias=m.bias is not None)
    elif isinstance(m, snn.BatchNorm2d):
        t = tnn.BatchNorm2d(m.num_features, m.eps, m.momentum, affine=m.affine)
    elif isinstance(m, (snn.BatchNorm1d, snn.BatchNorm)):
        # scratchgan's BatchNorm takes (N, C) or (N, C, H, W); either way statistics are
        # per channel.
        t = _AnyBatchNorm(m.num_features, m.eps, m.momentum, affine=m.affine)
    elif isinstance(m, snn.LeakyReLU):
        return tnn.LeakyReLU(m.negative_slope)
    elif isinstance(m, snn.ReLU):
        return tnn.ReLU()
    elif isinstance(m, snn.Tanh):
        return tnn.Tanh()
    elif isinstance(m, snn.Sigmoid):
        return tnn.Sigmoid()
    elif isinstance(m, snn.Dropout):
        return tnn.Dropout(m.p)
    elif isinstance(m, snn.Flatten):
        return tnn.Flatten(m.start_dim)
    elif isinstance(m, snn.Reshape):
        return tnn.Unflatten(1, m.shape)
    else:
        raise TypeError(f"torch_models.twin: no PyTorch twin for {type(m).__name__}")
    for name, p in t.named_parameters(recurse=False):
        _copy(p, getattr(m, name))
    return t


class _AnyBatchNorm(tnn.BatchNorm1d):
    def _check_input_dim(self, x):
        pass  # F.batch_norm itself normalises per channel for (N, C) and (N, C, H, W)


class LatentToMaps(tnn.Module):
    """``net`` applied to z (N, latent_dim) seen as (N, latent_dim, 1, 1): the image-dcgan
    generator's forward."""

    def __init__(self, latent_dim, net):
        super().__init__()
        self.latent_dim, self.net = latent_dim, net

    def forward(self, z):
        return self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))


def twin(module):
    """The PyTorch network equal to scratchgan ``module`` (a Sequential tree or a single layer)."""
    if isinstance(module, ImageGenerator):
        return LatentToMaps(module.latent_dim, twin(module.net))
    if isinstance(module, snn.Sequential):
        return tnn.Sequential(*[twin(m) for m in module])
    children = list(module.children())
    if not children:
        return _leaf(module)
    # A model class wrapping one Sequential (e.g. self.net) behaves as that Sequential.
    if len(children) == 1 and isinstance(children[0], snn.Sequential):
        return twin(children[0])
    raise TypeError(f"torch_models.twin: cannot translate {type(module).__name__}; "
                    "expected a Sequential or a module holding exactly one")


def gradient_penalty(D, real, fake, eps):
    """mean (‖∇D(x̂)‖₂ − 1)², the norm per sample, at x̂ = εx + (1 − ε)·fake (fake detached), for
    a given ε of shape (N, 1, 1, 1); the gradient keeps its graph, as scratchgan's does."""
    between = (eps * real + (1.0 - eps) * fake.detach()).requires_grad_()
    (slopes,) = torch.autograd.grad(D(between).sum(), between, create_graph=True)
    norms = torch.sqrt((slopes * slopes).reshape(real.shape[0], -1).sum(1) + 1e-12)
    return ((norms - 1.0) ** 2).mean()


GP_WEIGHT = 10.0  # λ, as scratchgan.losses.WGANGP.weight


def critic_loss(D, real, fake, eps):
    """WGAN-GP's critic loss mean D(fake) − mean D(real) + λ·penalty, and its statistics (the
    same names as scratchgan.losses.WGANGP.stat_names)."""
    real_score, fake_score = D(real).mean(), D(fake).mean()
    penalty = gradient_penalty(D, real, fake, eps)
    loss = fake_score - real_score + GP_WEIGHT * penalty
    return loss, dict(critic_real=real_score, critic_fake=fake_score,
                      wasserstein=real_score - fake_score, penalty=penalty)


def bce_loss(D, real, fake):
    d_real, d_fake = D(real), D(fake)
    loss = (TF.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + TF.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
    return loss, dict(d_real=torch.sigmoid(d_real.detach()).mean(),
                      d_fake=torch.sigmoid(d_fake.detach()).mean())


class TorchGANStep:
    """One alternating GAN update in PyTorch, mirroring scratchgan's trainer.

    ``train_step(real, update_generator=True)``: one D update, then one G update if
    ``update_generator`` (as ``GANTrainer.train_step``: G(z) is drawn either way). Under
    ``loss="wgan-gp"`` a fresh ε per sample comes from this step's own generator, like z.
    """

    def __init__(self, G, D, latent_dim=100, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), seed=0,
                 device="cpu", loss="bce"):
        if loss not in ("bce", "wgan-gp"):
            raise ValueError(f"TorchGANStep: loss must be 'bce' or 'wgan-gp', got {loss!r}")
        self.G, self.D = G.to(device), D.to(device)
        self.latent_dim, self.device, self.loss = latent_dim, device, loss
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas)
        self.generator = torch.Generator(device).manual_seed(seed)
        self.g_loss = None  # G's last loss, reported again on critic-only steps

    def train_step(self, real, update_generator=True):
        G, D = self.G, self.D
        z = torch.randn(real.shape[0], self.latent_dim, device=self.device,
                        generator=self.generator)
        fake = G(z)

        if self.loss == "wgan-gp":
            eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=self.device,
                             generator=self.generator)
            loss_d, stats = critic_loss(D, real, fake.detach(), eps)
        else:
            loss_d, stats = bce_loss(D, real, fake.detach())
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        if update_generator:
            # G's update needs D's input gradient only, not D's weight gradients.
            D.requires_grad_(False)
            d_out = D(fake)
            if self.loss == "wgan-gp":
                loss_g = -d_out.mean()
            else:
                loss_g = TF.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            D.requires_grad_(True)
            self.opt_g.step()
            self.g_loss = loss_g.detach()
        g_loss = self.g_loss if self.g_loss is not None else loss_d.new_tensor(float("nan"))
        with torch.no_grad():  # the statistics scratchgan's trainer returns, in one transfer
            values = torch.stack([loss_d, g_loss, *stats.values()]).tolist()
        return dict(zip(("d_loss", "g_loss", *stats), values))
