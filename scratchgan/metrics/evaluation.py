"""All sample scores at once, against reference statistics of real MNIST computed once per
process."""
import functools
import warnings

import numpy

from scratchgan import backend as B
from scratchgan.data import load_mnist, mnist_dataset, to_tanh_range
from scratchgan.metrics.classifier import FEATURE_DIM, features, features_and_proba
from scratchgan.metrics.samples import MetricsError, check_samples
from scratchgan.metrics.scores import (class_histogram, classifier_score, coverage_kl,
                                       feature_statistics, frechet_distance_from_statistics,
                                       label_agreement, nearest_train_distance)
from scratchgan.tensor import Tensor

REFERENCES = ("test", "train")
TRAIN_SUBSET = 10000  # training images searched for nearest neighbours: the first ones of the split
TRAIN_SIZE = 60000


class MetricsWarning(UserWarning):
    """The scores can be computed but are unreliable (too few samples)."""


@functools.lru_cache(maxsize=None)
def reference_statistics(reference="test"):
    """Feature mean and covariance (float64) of a whole real MNIST split, computed once."""
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}: "
                         f"expected one of {', '.join(REFERENCES)}")
    images, _ = mnist_dataset(split=reference)
    return feature_statistics(features(images))


@functools.lru_cache(maxsize=None)
def train_subset(size=TRAIN_SUBSET):
    """The first ``size`` training images, (size, 1, 28, 28) in [-1, 1]: the nearest-neighbour
    pool."""
    if not 1 <= size < TRAIN_SIZE:
        raise ValueError(f"train_subset must be in [1, {TRAIN_SIZE - 1}] so that the real floor "
                         f"has held-out training images, got {size}")
    return mnist_dataset(split="train", limit=size)[0]


def evaluate_samples(samples, n=None, reference="test", train_subset_size=TRAIN_SUBSET,
                     labels=None):
    """Every score for generated images (N, 1, 28, 28) in [-1, 1] (NumPy, CuPy or Tensor).

    Returns a JSON-ready dict: ``frechet_distance`` (classifier features of the first ``n``
    samples against the ``reference`` split), ``classifier_score``, ``class_histogram`` (ten
    fractions), ``coverage_kl``, ``nearest_train_distance`` (to the first ``train_subset_size``
    training images) and ``n``. Compare with ``real_floor(n)``: the Fréchet distance depends on n.
    With ``labels`` (the digit each sample was asked to be, from a conditional model) it adds
    ``label_agreement`` (how often the classifier reads that digit) and
    ``label_agreement_per_class``.
    """
    if isinstance(samples, Tensor):
        samples = samples.array
    samples = check_samples(B.to_numpy(samples))
    if n is not None:
        if not 2 <= n <= len(samples):
            raise MetricsError(f"n={n}: expected between 2 and the number of samples "
                               f"({len(samples)})")
        samples = samples[:n]
        labels = None if labels is None else labels[:n]
    if len(samples) <= FEATURE_DIM:
        warnings.warn(f"{len(samples)} samples for {FEATURE_DIM}-dimensional features: "
                      "the covariance is singular and the Fréchet distance strongly biased; "
                      "use thousands", MetricsWarning, stacklevel=2)
    feats, probs = features_and_proba(samples)
    histogram = class_histogram(probs)
    scores = {
        "n": len(samples),
        "frechet_distance": frechet_distance_from_statistics(*feature_statistics(feats),
                                                             *reference_statistics(reference)),
        "classifier_score": classifier_score(probs),
        "class_histogram": [float(f) for f in histogram],
        "coverage_kl": coverage_kl(histogram),
        "nearest_train_distance": nearest_train_distance(samples, train_subset(train_subset_size)),
        "reference": reference,
    }
    if labels is not None:
        scores["label_agreement"], scores["label_agreement_per_class"] = label_agreement(
            probs, B.to_numpy(numpy.asarray(labels) if isinstance(labels, list) else labels))
    return scores


@functools.lru_cache(maxsize=None)
def _real_floor(n, seed, reference, train_subset_size):
    pool = TRAIN_SIZE - train_subset_size
    if not 2 <= n <= pool:
        raise MetricsError(f"n={n}: the real floor draws from {pool} held-out training images; "
                           f"expected between 2 and {pool}")
    index = train_subset_size + numpy.sort(
        numpy.random.default_rng(seed).choice(pool, n, replace=False))
    images = to_tanh_range(load_mnist("train")[0][index])
    with warnings.catch_warnings():
        # the caller is warned about its own samples
        warnings.simplefilter("ignore", MetricsWarning)
        return evaluate_samples(images, reference=reference, train_subset_size=train_subset_size)


def real_floor(n, seed=0, reference="test", train_subset_size=TRAIN_SUBSET):
    """The same scores for ``n`` real training images: what a perfect generator would get.

    The images are drawn (with ``seed``) from the training images outside the nearest-neighbour
    pool, so their nearest-train distance is that of unseen real digits.
    """
    floor = _real_floor(n, seed, reference, train_subset_size)
    # the cache stays intact
    return {k: list(v) if isinstance(v, list) else v for k, v in floor.items()}
