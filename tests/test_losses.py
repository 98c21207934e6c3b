"""The GAN losses (scratchgan/losses.py), WGAN-GP's gradient penalty above all, and the trainer
stepping with each of them."""
import numpy
import pytest

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import gradcheck, nn
from scratchgan.losses import LOSSES, gradient_penalty, get_loss
from scratchgan.models import build
from scratchgan.tensor import Tensor
from scratchgan.trainer import GANTrainer


def data(*shape, seed=0):
    return numpy.random.default_rng(seed).standard_normal(shape).astype(numpy.float32)


class Critic(nn.Module):
    """Conv2d -> LeakyReLU -> Linear: the layers the penalty's second derivatives go through."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.fc = nn.Linear(2 * 3 * 3, 1)

    def forward(self, x):
        return self.fc(F.flatten(F.leaky_relu(self.conv(x), 0.2)))


class Penalty(nn.Module):
    """The penalty as a function of the critic's parameters, its ε the same at every call."""

    def __init__(self, critic):
        super().__init__()
        self.critic = critic

    def forward(self, real, fake):
        B.seed(3)
        return gradient_penalty(self.critic, real, fake)


def test_the_gradient_penalty_differentiates_through_conv_leaky_relu_and_linear():
    B.seed(0)
    real, fake = Tensor(data(3, 1, 5, 5)), Tensor(data(3, 1, 5, 5, seed=1))
    # The parameters' gradient of a function of ∇ₓD: second derivatives of every layer.
    assert gradcheck(Penalty(Critic()), [real, fake], atol=1e-5, rtol=1e-3)


def test_the_penalty_is_taken_per_sample():
    B.seed(0)
    critic = nn.Linear(4, 1)
    real, fake = Tensor(data(6, 4)), Tensor(data(6, 4, seed=1))
    w = critic.weight.array.astype(numpy.float64)
    # D is linear: every sample's gradient is w, so the penalty is (‖w‖ − 1)² exactly.
    expected = (numpy.sqrt((w * w).sum()) - 1) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected, rel=1e-5)
    # A penalty on the batch's gradient norm instead would give (√6·‖w‖ − 1)²: not this.
    assert abs(expected - (numpy.sqrt(6 * (w * w).sum()) - 1) ** 2) > 0.1


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_loss_trains_a_step_and_reports_its_statistics(name):
    B.seed(0)
    G, D = build("image-dcgan", 8, size=16, channels=3, width=4,
                 d_norm=None if name == "wgan-gp" else "batch")
    trainer = GANTrainer(G, D, latent_dim=8, loss=name)
    before = [p.array.copy() for p in G.parameters() + D.parameters()]
    stats = trainer.train_step(data(4, 3, 16, 16).clip(-1, 1))
    assert set(stats) == {"d_loss", "g_loss", *get_loss(name).stat_names}
    assert all(numpy.isfinite(v) for v in stats.values())
    after = [p.array for p in G.parameters() + D.parameters()]
    assert all(not numpy.array_equal(a, b) for a, b in zip(before, after))
    if name == "wgan-gp":
        assert stats["wasserstein"] == pytest.approx(stats["critic_real"] - stats["critic_fake"],
                                                     abs=1e-5)
        assert stats["d_loss"] == pytest.approx(
            stats["critic_fake"] - stats["critic_real"] + 10 * stats["penalty"], rel=1e-4)


def test_critic_steps_leave_the_generator_alone():
    B.seed(0)
    G, D = build("image-dcgan", 8, size=16, channels=1, width=4, d_norm=None)
    trainer = GANTrainer(G, D, latent_dim=8, loss="wgan-gp")
    before = [p.array.copy() for p in G.parameters()]
    stats = trainer.train_step(data(4, 1, 16, 16).clip(-1, 1), update_generator=False)
    assert all(numpy.array_equal(a, p.array) for a, p in zip(before, G.parameters()))
    assert numpy.isnan(stats["g_loss"])  # no generator step yet: nothing to report
    trainer.train_step(data(4, 1, 16, 16).clip(-1, 1))
    assert not all(numpy.array_equal(a, p.array) for a, p in zip(before, G.parameters()))


def test_an_unknown_loss_is_named():
    with pytest.raises(ValueError, match="unknown loss 'wgan'.*bce"):
        get_loss("wgan")


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_the_image_dcgan_works_at_any_power_of_two(size):
    G, D = build("image-dcgan", 10, size=size, channels=3, width=2)
    images = G(Tensor(data(2, 10)))
    assert images.shape == (2, 3, size, size) and D(images).shape == (2, 1)


@pytest.mark.parametrize("size", [0, 4, 12, 48])
def test_the_image_dcgan_refuses_other_sizes(size):
    with pytest.raises(ValueError, match="power of two"):
        build("image-dcgan", 10, size=size)


def test_the_image_dcgan_at_64_pixels_has_pytorch_examples_parameter_counts():
    G, D = build("image-dcgan", 100, size=64, channels=3, width=64)
    assert sum(p.numel() for p in G.parameters()) == 3_576_704  # pytorch/examples' netG
    assert sum(p.numel() for p in D.parameters()) == 2_765_568  # and netD
    _, critic = build("image-dcgan", 100, size=64, d_norm=None)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
