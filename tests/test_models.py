"""The two GANs: shapes, ranges, parameter counts equal to their PyTorch twins', options, errors."""
import numpy
import pytest

import scratchgan as sg
from scratchgan import models, nn
from scratchgan.run.config import CONDITIONAL_MODELS, DATASET_MODELS

# 28x28 digits drawn from z alone; image-dcgan: tests/test_losses.py; cgan: test_conditional.py
MNIST_MODELS = tuple(m for m in DATASET_MODELS["mnist"] if m not in CONDITIONAL_MODELS)


def count(module):
    return sum(p.numel() for p in module.parameters())


def noise(n, latent_dim=100):
    return sg.tensor(
        numpy.random.default_rng(0).standard_normal((n, latent_dim), dtype=numpy.float32))


@pytest.mark.parametrize("name", MNIST_MODELS)
def test_generator_and_discriminator_shapes(name):
    G, D = models.build(name)
    x = G(noise(3))
    assert x.shape == (3, 1, 28, 28) and x.dtype == numpy.float32
    assert -1 <= x.numpy().min() and x.numpy().max() <= 1  # tanh
    logits = D(x)
    assert logits.shape == (3, 1) and logits.dtype == numpy.float32


def test_mlp_parameter_counts_equal_pytorch():
    # torch.nn.Linear(i, o) holds i*o weights and o biases.
    linear = lambda i, o: i * o + o  # noqa: E731
    g_expected = linear(100, 256) + linear(256, 512) + linear(512, 1024) + linear(1024, 784)
    d_expected = linear(784, 512) + linear(512, 256) + linear(256, 1)
    G, D = models.build("mlp")
    assert (count(G), count(D)) == (g_expected, d_expected) == (1_486_352, 533_505)


def test_dcgan_parameter_counts_equal_pytorch():
    # Linear(100, 12544, bias=False); BatchNorm1d(12544): weight + bias;
    # ConvTranspose2d(i, o, 5, bias=False): i*o*25; Conv2d(i, o, 5): i*o*25 + o.
    # The TF tutorial's summary lists the same trainable counts.
    g_expected = (100 * 7 * 7 * 256 + 2 * 7 * 7 * 256
                  + 256 * 128 * 25 + 2 * 128
                  + 128 * 64 * 25 + 2 * 64
                  + 64 * 1 * 25)
    d_expected = (1 * 64 * 25 + 64) + (64 * 128 * 25 + 128) + (6272 + 1)
    G, D = models.build("dcgan")
    assert (count(G), count(D)) == (g_expected, d_expected) == (2_305_472, 212_865)


def test_dcgan_layers_follow_the_tutorial():
    G, D = models.build("dcgan")
    g_layers = [type(m).__name__ for m in G.net]
    assert g_layers == ["Linear", "BatchNorm", "LeakyReLU", "Reshape",
                        "ConvTranspose2d", "BatchNorm", "LeakyReLU",
                        "ConvTranspose2d", "BatchNorm", "LeakyReLU",
                        "ConvTranspose2d", "Tanh"]
    strides = [m.stride for m in G.net if isinstance(m, nn.ConvTranspose2d)]
    assert strides == [(1, 1), (2, 2), (2, 2)]
    assert all(m.bias is None for m in G.net if isinstance(m, (nn.Dense, nn.ConvTranspose2d)))
    d_layers = [type(m).__name__ for m in D.net]
    assert d_layers == ["Conv2d", "LeakyReLU", "Dropout", "Conv2d", "LeakyReLU", "Dropout",
                        "Flatten", "Linear"]
    assert [m.p for m in D.net if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    # Layer by layer: 7x7 -> 7x7 -> 14x14 -> 28x28 in G, 28 -> 14 -> 7 in D.
    x = noise(2)
    sizes = []
    with sg.no_grad():
        for layer in G.net:
            x = layer(x)
            if isinstance(layer, nn.ConvTranspose2d):
                sizes.append(x.shape[1:])
    assert sizes == [(128, 7, 7), (64, 14, 14), (1, 28, 28)]


def test_dcgan_starts_from_the_papers_initialisation():
    G, D = models.build("dcgan")
    conv = G.net[4].weight.numpy()
    assert abs(conv.std() - 0.02) < 0.002 and abs(conv.mean()) < 0.002
    batch_norm = G.net[1]
    assert abs(batch_norm.weight.numpy().mean() - 1) < 0.002 and not batch_norm.bias.numpy().any()


@pytest.mark.parametrize("name, options, g_count", [
    ("mlp", dict(g_hidden=(8, 16), d_hidden=(16, 8)),
     (10 * 8 + 8) + (8 * 16 + 16) + (16 * 784 + 784)),
    ("dcgan", dict(g_channels=(8, 4, 2), d_channels=(2, 4)),
     10 * 392 + 2 * 392 + 8 * 4 * 25 + 8 + 4 * 2 * 25 + 4 + 2 * 25),
])
def test_latent_size_and_widths_are_arguments(name, options, g_count):
    G, D = models.build(name, latent_dim=10, **options)
    assert count(G) == g_count
    x = G(noise(2, latent_dim=10))
    assert x.shape == (2, 1, 28, 28) and D(x).shape == (2, 1)
    with pytest.raises(nn.ShapeError, match="10"):
        G(noise(2, latent_dim=100))


def test_discriminators_reject_wrong_images():
    _, D = models.build("dcgan", d_channels=(2, 4))
    with pytest.raises(nn.ShapeError):
        D(sg.tensor(numpy.zeros((2, 3, 28, 28), numpy.float32)))


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'gan'.*mlp, dcgan"):
        models.build("gan")
