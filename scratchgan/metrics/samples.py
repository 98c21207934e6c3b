"""Checking sample arrays, and bringing arrays from elsewhere into the generators' range.

The metrics take what the generators output: float32 images (N, 1, 28, 28) in [-1, 1].
``to_model_range`` accepts the other usual layouts and ranges of saved samples and says which
one it found, because a [0, 1] array read as [-1, 1] scores badly without any error.
"""
from pathlib import Path

import numpy

MIN_SAMPLES = 2  # a covariance needs two samples; far more are needed for a meaningful one
RANGE_TOLERANCE = 1e-3  # tanh outputs are within [-1, 1]; allow float rounding at the edges
LAYOUTS = "(N, 28, 28), (N, 1, 28, 28) or (N, 784)"


class MetricsError(ValueError):
    """Samples that cannot be scored: wrong shape, range or dtype, NaNs, too few."""


def _as_image_layout(a):
    if a.ndim == 4 and a.shape[1:] == (1, 28, 28):
        return a
    if a.ndim == 3 and a.shape[1:] == (28, 28):
        return a.reshape(len(a), 1, 28, 28)
    if a.ndim == 2 and a.shape[1] == 784:
        return a.reshape(len(a), 1, 28, 28)
    raise MetricsError(f"samples of shape {a.shape}: expected MNIST images {LAYOUTS}")


def to_model_range(array):
    """(images float32 (N, 1, 28, 28) in [-1, 1], description of the range that was detected).

    uint8 (or other integer) arrays are read as [0, 255]; float arrays with negative values as
    [-1, 1]; float arrays within [0, 1] as [0, 1]. Anything else is an error.
    """
    a = numpy.asarray(array)
    if a.dtype.kind not in "fiu":
        raise MetricsError(f"samples of dtype {a.dtype}: expected floats or uint8 pixels")
    a = _as_image_layout(a)
    if len(a) == 0:
        raise MetricsError("no samples")
    if a.dtype.kind in "iu":
        low, high = int(a.min()), int(a.max())
        if low < 0 or high > 255:
            raise MetricsError(f"integer samples with values in [{low}, {high}]: "
                               "expected pixels in [0, 255]")
        images = a.astype(numpy.float32) / numpy.float32(127.5) - 1
        return images, f"{a.dtype} pixels in [0, 255]"
    _check_finite(a)
    low, high = float(a.min()), float(a.max())
    if low < -RANGE_TOLERANCE and high <= 1 + RANGE_TOLERANCE and low >= -1 - RANGE_TOLERANCE:
        return numpy.clip(a.astype(numpy.float32), -1, 1), "floats in [-1, 1]"
    if low >= -RANGE_TOLERANCE and high <= 1 + RANGE_TOLERANCE:
        images = numpy.clip(a.astype(numpy.float32), 0, 1) * 2 - 1
        return images, "floats in [0, 1] (no negative values; rescaled to [-1, 1])"
    raise MetricsError(f"float samples with values in [{low:.4g}, {high:.4g}]: "
                       "expected [-1, 1] or [0, 1]")


def read_samples(path):
    """(images in [-1, 1], description of the detected range) from a .npy file of samples."""
    path = Path(path)
    if not path.is_file():
        raise MetricsError(f"{path}: no such file")
    try:
        array = numpy.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise MetricsError(f"{path}: not a readable .npy array ({e})") from None
    try:
        return to_model_range(array)
    except MetricsError as e:
        raise MetricsError(f"{path}: {e}") from None


def check_samples(samples):
    """Samples as float32 (N, 1, 28, 28) in [-1, 1] on the host, or a MetricsError saying why
    not."""
    a = numpy.asarray(samples)
    if a.ndim != 4 or a.shape[1:] != (1, 28, 28):
        raise MetricsError(f"samples of shape {a.shape}: expected (N, 1, 28, 28) images in "
                           "[-1, 1]")
    if a.dtype.kind != "f":
        raise MetricsError(f"samples of dtype {a.dtype}: expected floats in [-1, 1]")
    if len(a) < MIN_SAMPLES:
        raise MetricsError(f"{len(a)} sample(s): the Fréchet distance needs at least "
                           f"{MIN_SAMPLES}")
    _check_finite(a)
    low, high = float(a.min()), float(a.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise MetricsError(f"samples with values in [{low:.4g}, {high:.4g}]: expected [-1, 1]")
    return numpy.clip(a.astype(numpy.float32, copy=False), -1, 1)


def _check_finite(a):
    if not numpy.isfinite(a).all():
        bad = int((~numpy.isfinite(a)).sum())
        raise MetricsError(f"samples contain {bad} NaN or infinite values")
