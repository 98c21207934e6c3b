"""The sample scores as plain host NumPy math, float64 throughout.

Each function takes classifier outputs (features, probabilities) or pixels already on the host;
nothing here runs a network, so every formula can be tested on hand-made arrays.
"""
import numpy

NUM_CLASSES = 10


def feature_statistics(feats):
    """Mean (d,) and covariance (d, d) of features (N, d), in float64 (N - 1 in the denominator)."""
    feats = numpy.asarray(feats, dtype=numpy.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"feature_statistics: expected features (N, d) with N >= 2, "
                         f"got shape {feats.shape}")
    return feats.mean(axis=0), numpy.atleast_2d(numpy.cov(feats, rowvar=False))  # (1, 1) when d = 1


def _psd_sqrt(matrix):
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    eigenvalues, vectors = numpy.linalg.eigh(matrix)
    return (vectors * numpy.sqrt(numpy.clip(eigenvalues, 0, None))) @ vectors.T


def trace_sqrt_product(cov_a, cov_b):
    """Tr((Ca Cb)^(1/2)) via sqrt(Ca) Cb sqrt(Ca), which is symmetric PSD with the same eigenvalues.

    Ca Cb itself is not symmetric, so a general eigensolver or sqrtm on it can return complex
    noise; eigh on the symmetric form cannot. Rounding can leave eigenvalues of -1e-12: clipped.
    """
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigenvalues = numpy.linalg.eigvalsh((middle + middle.T) / 2)
    return float(numpy.sqrt(numpy.clip(eigenvalues, 0, None)).sum())


def frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b):
    """||mu_a - mu_b||² + Tr(Ca) + Tr(Cb) - 2 Tr((Ca Cb)^(1/2)): the Fréchet distance of two
    Gaussians."""
    diff = numpy.asarray(mu_a, numpy.float64) - numpy.asarray(mu_b, numpy.float64)
    value = (diff @ diff + numpy.trace(cov_a) + numpy.trace(cov_b)
             - 2 * trace_sqrt_product(cov_a, cov_b))
    return max(float(value), 0.0)  # exactly-equal sets can round to -1e-12


def frechet_distance(feats_a, feats_b):
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, d) and (N_b, d)."""
    return frechet_distance_from_statistics(*feature_statistics(feats_a),
                                            *feature_statistics(feats_b))


def _check_probs(probs):
    probs = numpy.asarray(probs, dtype=numpy.float64)
    if probs.ndim != 2 or len(probs) == 0:
        raise ValueError(f"expected class probabilities (N, classes), got shape {probs.shape}")
    if (probs < 0).any() or not numpy.allclose(probs.sum(axis=1), 1, atol=1e-4):
        raise ValueError("expected class probabilities: non-negative rows that sum to 1")
    return probs


def _kl_terms(p, q):
    """p log(p / q) elementwise, with 0 log 0 = 0."""
    safe_p = numpy.where(p > 0, p, 1.0)
    return numpy.where(p > 0, p * (numpy.log(safe_p) - numpy.log(numpy.maximum(q, 1e-300))), 0.0)


def classifier_score(probs):
    """exp(E_x KL(p(y|x) || p(y))), the Inception score with the MNIST classifier.

    High when each sample is confidently one digit (sharp p(y|x)) and the digits are varied (flat
    p(y)); between 1 and the number of classes (10).
    """
    probs = _check_probs(probs)
    marginal = probs.mean(axis=0, keepdims=True)
    return float(numpy.exp(_kl_terms(probs, marginal).sum(axis=1).mean()))


def class_histogram(probs_or_preds, num_classes=NUM_CLASSES):
    """Fraction of samples predicted as each class, from probabilities (N, C) or labels (N,)."""
    a = numpy.asarray(probs_or_preds)
    if a.ndim == 2:
        preds = _check_probs(a).argmax(axis=1)
    elif a.ndim == 1 and a.dtype.kind in "iu":
        preds = a
    else:
        raise ValueError(f"class_histogram: expected probabilities (N, C) or integer labels (N,), "
                         f"got shape {a.shape} of {a.dtype}")
    if len(preds) == 0:
        raise ValueError("class_histogram: no samples")
    return numpy.bincount(preds, minlength=num_classes).astype(numpy.float64) / len(preds)


def label_agreement(probs, labels, num_classes=NUM_CLASSES):
    """How often the classifier reads sample i as the class ``labels[i]`` it was asked for:
    (overall fraction, fraction per requested class, NaN for a class never requested)."""
    preds = _check_probs(numpy.asarray(probs)).argmax(axis=1)
    labels = numpy.asarray(labels)
    if labels.shape != preds.shape or labels.dtype.kind not in "iu":
        raise ValueError(f"label_agreement: expected integer labels ({len(preds)},), got "
                         f"{labels.dtype} {labels.shape}")
    hits = preds == labels
    asked = numpy.bincount(labels, minlength=num_classes)[:num_classes]
    agreed = numpy.bincount(labels[hits], minlength=num_classes)[:num_classes]
    with numpy.errstate(invalid="ignore", divide="ignore"):
        per_class = agreed / asked
    return float(hits.mean()), [float(f) for f in per_class]


def coverage_kl(histogram):
    """KL(histogram || uniform): 0 when every class is equally common, log(C / k) for k classes."""
    h = numpy.asarray(histogram, dtype=numpy.float64)
    if h.ndim != 1 or (h < 0).any() or not numpy.isclose(h.sum(), 1):
        raise ValueError("coverage_kl: expected a histogram of class fractions that sum to 1")
    return float(_kl_terms(h, numpy.full_like(h, 1 / len(h))).sum())


def nearest_distances(samples, reference, chunk=1000):
    """Euclidean distance from each row of ``samples`` (N, d) to its nearest row of
    ``reference`` (M, d).

    The search runs chunk by chunk as ||a||² + ||b||² - 2 a·b in float32 (one matrix product);
    the distance to the nearest found is then recomputed exactly in float64, so a sample that
    copies a reference row gets exactly 0 rather than float32 rounding noise.
    """
    samples = numpy.asarray(samples, dtype=numpy.float32)
    reference = numpy.asarray(reference, dtype=numpy.float32)
    if samples.ndim != 2 or reference.ndim != 2 or samples.shape[1] != reference.shape[1]:
        raise ValueError(f"nearest_distances: expected (N, d) and (M, d), got {samples.shape} "
                         f"and {reference.shape}")
    ref_sq = (reference * reference).sum(axis=1)
    nearest = numpy.empty(len(samples), dtype=numpy.int64)
    for start in range(0, len(samples), chunk):
        a = samples[start:start + chunk]
        # ||a||² is the same for every candidate of a row, so the argmin does not need it.
        nearest[start:start + chunk] = (ref_sq[None, :] - 2 * (a @ reference.T)).argmin(axis=1)
    diff = samples.astype(numpy.float64) - reference[nearest].astype(numpy.float64)
    return numpy.sqrt((diff * diff).sum(axis=1))


def nearest_train_distance(samples, train_images):
    """Mean distance, in [0, 1] pixel space (784-d), from each sample to its nearest training image.

    Both arguments are images in [-1, 1], any shape (N, ...) with 784 pixels per image. A
    generator that memorises its training set scores far below real held-out images.
    """
    samples, train_images = numpy.asarray(samples), numpy.asarray(train_images)
    a = (samples.reshape(len(samples), -1).astype(numpy.float32) + 1) / 2
    b = (train_images.reshape(len(train_images), -1).astype(numpy.float32) + 1) / 2
    return float(nearest_distances(a, b).mean())
