"""PyTorch twins of scratchgan models and of the GAN training step, for the benchmarks only.

``twin(module)`` translates a scratchgan ``nn`` tree (Sequential of the standard layers) into
the same PyTorch network and copies the weights, so both frameworks run one architecture from
one initialisation. ``TorchGANStep`` is the alternating update of ``scratchgan.trainer``:
D on real (target 1) and detached fake (target 0), then G through a fresh D pass with the
non-saturating loss, both with Adam. torch is never a dependency of the library.
"""
import torch
from torch import nn as tnn
from torch.nn import functional as TF

from scratchgan import nn as snn
from scratchgan import to_numpy


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


def twin(module):
    """The PyTorch network equal to scratchgan ``module`` (a Sequential tree or a single layer)."""
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


class TorchGANStep:
    """One alternating GAN update in PyTorch, mirroring scratchgan's trainer."""

    def __init__(self, G, D, latent_dim=100, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), seed=0,
                 device="cpu"):
        self.G, self.D = G.to(device), D.to(device)
        self.latent_dim, self.device = latent_dim, device
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas)
        self.generator = torch.Generator(device).manual_seed(seed)

    def train_step(self, real):
        G, D = self.G, self.D
        z = torch.randn(real.shape[0], self.latent_dim, device=self.device,
                        generator=self.generator)
        fake = G(z)

        d_real, d_fake = D(real), D(fake.detach())
        loss_d = (TF.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                  + TF.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()

        # G's update needs D's input gradient only, not D's weight gradients.
        D.requires_grad_(False)
        d_out = D(fake)
        loss_g = TF.binary_cross_entropy_with_logits(d_out, torch.ones_like(d_out))
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        D.requires_grad_(True)
        self.opt_g.step()
        with torch.no_grad():  # the statistics scratchgan's trainer returns, in one transfer
            stats = torch.stack([loss_d, loss_g, torch.sigmoid(d_real).mean(),
                                 torch.sigmoid(d_fake).mean()])
        d_loss, g_loss, d_real, d_fake = stats.tolist()
        return dict(d_loss=d_loss, g_loss=g_loss, d_real=d_real, d_fake=d_fake)
