"""A Fréchet distance for colour images that runs offline: ``colour_frechet_distance(a, b)``.

The standard FID compares Inception-v3 features (a network trained on ImageNet), which cannot be
downloaded here. This one compares the features of a **fixed random convolutional network**:
three 3x3 convolutions (32, 64 and 128 maps, the last two with stride 2), He-initialised from
seed 0 and never trained, each followed by LeakyReLU(0.2); the features of an image are every
layer's maps averaged over the image (224 numbers), plus the image's mean colour and the mean
squared difference of vertical neighbours per channel (6 more), which anchor colour and
sharpness.

What it sees: colour statistics, edges, textures and small shapes, at the image's own size.
What it cannot see: meaning. Random features notice blur, noise, wrong colours and missing
detail, but not whether a face has two eyes; and its numbers have their own scale, so they are
comparable between runs of this project at the same image size and sample count only, never
with published FIDs. Calibrated on the shipped faces (tests/test_colour_metric.py): real against
other real images of the same set gives the smallest distance, then lightly blurred, heavily
blurred, and noise, in that order.
"""
import functools

import numpy

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import nn
from scratchgan.metrics.scores import feature_statistics, frechet_distance_from_statistics
from scratchgan.tensor import Tensor, no_grad

WIDTHS = (32, 64, 128)
SEED = 0
SCALE = 10.0  # features ×10, distances ×100: real-vs-real near 1 rather than 0.01
BATCH = 250


class RandomFeatures(nn.Module):
    """The fixed random network; ``forward`` gives (N, 230) features of images in [-1, 1]."""

    def __init__(self, channels=3):
        super().__init__()
        layers, width = [], channels
        for i, out in enumerate(WIDTHS):
            conv = nn.Conv2d(width, out, 3, stride=1 if i == 0 else 2, padding=1)
            bound = (6 / (width * 9)) ** 0.5  # He's uniform bound: the maps keep their scale
            conv.weight.array[...] = B.backend_of(conv.weight.array).uniform(
                conv.weight.shape) * (2 * bound) - bound
            conv.bias.array[...] = 0
            layers.append(conv)
            width = out
        self.convs = nn.Sequential(*layers)

    def forward(self, x):
        means = [x.mean((2, 3))]
        sharpness = ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).mean((2, 3))
        h = x
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            means.append(h.mean((2, 3)))
        return F.concat(means + [sharpness], 1)


@functools.lru_cache(maxsize=None)
def _network(channels):
    with B.fork_rng():
        B.get_backend("numpy").seed(SEED)
        previous = B.active()
        B.use_backend("numpy")
        try:
            return RandomFeatures(channels).eval()
        finally:
            B.use_backend(previous)


def colour_features(images, batch_size=BATCH):
    """(N, 230) float64 features of host images (N, C, H, W) in [-1, 1], C = 1 or 3."""
    images = numpy.asarray(B.to_numpy(getattr(images, "array", images)), dtype=numpy.float32)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or min(images.shape[2:]) < 4:
        raise ValueError(f"colour_features: expected images (N, 1 or 3, H, W) with H, W >= 4, "
                         f"got {images.shape}")
    net = _network(images.shape[1])
    parts = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            parts.append(net(Tensor(images[start:start + batch_size])).numpy())
    return numpy.concatenate(parts).astype(numpy.float64) * SCALE


def colour_frechet_distance(samples, reference):
    """Fréchet distance between the random features of two sets of images (N, C, H, W) in
    [-1, 1] of one size: 0 for identical statistics; compare only at equal n and size."""
    samples, reference = (numpy.asarray(B.to_numpy(getattr(a, "array", a))) for a in
                          (samples, reference))
    if samples.shape[1:] != reference.shape[1:]:
        raise ValueError(f"colour_frechet_distance: samples {samples.shape[1:]} and reference "
                         f"{reference.shape[1:]} images differ in shape")
    return frechet_distance_from_statistics(*feature_statistics(colour_features(samples)),
                                            *feature_statistics(colour_features(reference)))


def evaluate_colour(samples, reference, seed=0):
    """The colour Fréchet distance of ``samples`` against ``reference`` images, and the same for
    real images: one half of the reference against the other, at the samples' n where the
    reference has twice as many, else at half the reference. JSON-ready."""
    samples, reference = (numpy.asarray(B.to_numpy(getattr(a, "array", a)), numpy.float32)
                          for a in (samples, reference))
    order = numpy.random.default_rng(seed).permutation(len(reference))
    half = min(len(samples), len(reference) // 2)
    real_a, real_b = reference[order[:half]], reference[order[half:2 * half]]
    return {"n": len(samples), "frechet_distance": colour_frechet_distance(samples, reference),
            "reference_n": len(reference),
            "real": {"n": half, "frechet_distance": colour_frechet_distance(real_a, real_b)},
            "features": "a fixed random 3-layer convolutional network (scratchgan.metrics.colour)"}
