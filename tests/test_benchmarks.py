"""The benchmarks' PyTorch twins compute what scratchgan computes (skipped without torch).

A small image-dcgan (16 pixels, width 4): the translated G and D give scratchgan's outputs for
the same weights and input, in train and eval mode, and WGAN-GP's penalty and critic loss, with
their gradients for D's weights (the double backward), agree for fixed inputs and a fixed ε.
"""
import os
import sys

import numpy
import pytest

torch = pytest.importorskip("torch")

from scratchgan import backend as B  # noqa: E402
from scratchgan import models, no_grad, to_numpy  # noqa: E402
from scratchgan.losses import WGANGP, gradient_penalty  # noqa: E402
from scratchgan.tensor import Tensor  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
import torch_models  # noqa: E402

LATENT, SIZE, WIDTH, N = 8, 16, 4, 6
TOL = dict(rtol=1e-4, atol=1e-5)


def small(d_norm="batch"):
    return models.build("image-dcgan", latent_dim=LATENT, size=SIZE, channels=3, width=WIDTH,
                        d_norm=d_norm)


def host(shape, seed):
    return numpy.random.default_rng(seed).uniform(-1, 1, shape).astype(numpy.float32)


def sg_forward(module, x):
    with no_grad():
        return to_numpy(module(Tensor._wrap(B.get_backend().asarray(x))).array)


def torch_forward(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("d_norm", ["batch", None])
def test_twins_give_scratchgans_outputs(d_norm):
    G, D = small(d_norm)
    tG, tD = torch_models.twin(G), torch_models.twin(D)
    z, images = host((N, LATENT), 1), host((N, 3, SIZE, SIZE), 2)
    for mode in ("train", "eval", "train", "eval"):  # eval after train: the running statistics
        for module in (G, D, tG, tD):
            module.train(mode == "train")
        # one pass each: in train mode every pass moves the running statistics
        fake, scores = sg_forward(G, z), sg_forward(D, images)
        assert fake.shape == (N, 3, SIZE, SIZE) and scores.shape == (N, 1)
        numpy.testing.assert_allclose(torch_forward(tG, z), fake, **TOL)
        numpy.testing.assert_allclose(torch_forward(tD, images), scores, **TOL)


def sg_penalty_inputs(seed):
    """real, fake as scratchgan tensors and the ε scratchgan's gradient_penalty will draw once
    the backend is seeded with ``seed`` again."""
    real = Tensor._wrap(B.get_backend().asarray(host((N, 3, SIZE, SIZE), 3)))
    fake = Tensor._wrap(B.get_backend().asarray(host((N, 3, SIZE, SIZE), 4)))
    B.seed(seed)
    eps = to_numpy(B.uniform((N, 1, 1, 1), real.dtype))
    B.seed(seed)
    return real, fake, eps


def grads_of(module):
    """Each parameter's gradient as a host array; zeros where there is none (the strided
    conv's bias gets none from the penalty: the leaky ReLUs' slopes do not depend on it)."""
    def host_grad(p):
        g = p.grad
        if g is None:
            return numpy.zeros(tuple(p.shape), numpy.float32)
        return g.detach().numpy() if isinstance(g, torch.Tensor) else to_numpy(g.array)
    return [host_grad(p) for p in module.parameters()]


def test_gradient_penalty_and_critic_loss_agree():
    G, D = small(d_norm=None)
    tD = torch_models.twin(D)
    real, fake, eps = sg_penalty_inputs(7)
    t_real, t_fake = torch.from_numpy(to_numpy(real.array)), torch.from_numpy(to_numpy(fake.array))
    t_eps = torch.from_numpy(eps)

    penalty = gradient_penalty(D, real, fake)
    penalty.backward()
    t_penalty = torch_models.gradient_penalty(tD, t_real, t_fake, t_eps)
    t_penalty.backward()
    assert penalty.item() > 0
    numpy.testing.assert_allclose(t_penalty.item(), penalty.item(), rtol=1e-4)
    assert len(grads_of(D)) == len(grads_of(tD))
    for ours, theirs in zip(grads_of(D), grads_of(tD)):
        numpy.testing.assert_allclose(theirs, ours, rtol=1e-3, atol=1e-5)

    D.zero_grad()
    tD.zero_grad()
    B.seed(7)  # the same ε again
    loss, stats = WGANGP().discriminator(D, real, fake)
    loss.backward()
    t_loss, t_stats = torch_models.critic_loss(tD, t_real, t_fake, t_eps)
    t_loss.backward()
    numpy.testing.assert_allclose(t_loss.item(), loss.item(), rtol=1e-4, atol=1e-6)
    for name in WGANGP.stat_names:
        numpy.testing.assert_allclose(t_stats[name].item(), stats[name].item(),
                                      rtol=1e-4, atol=1e-6)
    for ours, theirs in zip(grads_of(D), grads_of(tD)):
        numpy.testing.assert_allclose(theirs, ours, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("update_generator", [True, False])
def test_one_wgan_gp_step_of_each(update_generator):
    """From equal weights: the same statistics' names, finite numbers, and the critic's score on
    the real batch (drawn before any update, independent of z and ε) equal."""
    from scratchgan.trainer import GANTrainer
    G, D = small(d_norm=None)
    hyper = dict(lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9))
    step = torch_models.TorchGANStep(torch_models.twin(G), torch_models.twin(D), LATENT,
                                     loss="wgan-gp", **hyper)
    trainer = GANTrainer(G, D, LATENT, loss="wgan-gp", **hyper)
    real = host((N, 3, SIZE, SIZE), 5)
    ours = trainer.train_step(real, update_generator=update_generator)
    theirs = step.train_step(torch.from_numpy(real), update_generator=update_generator)
    assert list(theirs) == list(ours)
    numpy.testing.assert_allclose(theirs["critic_real"], ours["critic_real"], rtol=1e-4,
                                  atol=1e-6)
    for stats in (ours, theirs):
        assert numpy.isfinite(stats["d_loss"]) and stats["penalty"] >= 0
        assert numpy.isfinite(stats["g_loss"]) == update_generator
