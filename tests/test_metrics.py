"""Sample metrics: the shipped classifier, each score's formula and behaviour, and the evaluate
command."""
import json
import math
import warnings

import numpy
import pytest

from scratchgan import metrics
from scratchgan.cli import evaluate
from scratchgan.data import load_mnist, mnist_dataset, to_tanh_range
from scratchgan.metrics import MetricsError, MetricsWarning, scores
from scratchgan.metrics.classifier import WEIGHTS_PATH, read_weights
from scratchgan.metrics.evaluation import TRAIN_SUBSET, train_subset
from scratchgan.run import save_checkpoint


@pytest.fixture(scope="module")
def test_set():
    """Every fifth MNIST test image: 2000 images spread over the whole split, and their labels."""
    images, labels = mnist_dataset(split="test")
    return images[::5], labels[::5]


# -- image degradations with a known order of severity --

def shift(images, pixels):
    """Move the digits ``pixels`` to the right and down, filling with background."""
    if pixels == 0:
        return images
    out = numpy.full_like(images, -1)
    out[..., pixels:, pixels:] = images[..., :-pixels, :-pixels]
    return out


def gaussian_blur(images, sigma):
    """Separable Gaussian blur (one loop over the kernel taps, not over pixels)."""
    if sigma == 0:
        return images
    radius = int(math.ceil(3 * sigma))
    taps = numpy.exp(-0.5 * (numpy.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    out = images
    for axis in (-1, -2):
        pad = [(0, 0)] * images.ndim
        pad[axis] = (radius, radius)
        padded = numpy.pad(out, pad, constant_values=-1)
        out = sum(w * numpy.take(padded, numpy.arange(i, i + 28), axis=axis)
                  for i, w in enumerate(taps))
    return out.astype(numpy.float32)


def noise(images, std):
    rng = numpy.random.default_rng(1)
    return numpy.clip(images + std * rng.standard_normal(images.shape, dtype=numpy.float32), -1, 1)


# -- the shipped classifier --

def test_weights_file_is_small_float32_and_records_its_accuracy():
    assert WEIGHTS_PATH.stat().st_size < 2 * 2**20
    state, meta = read_weights()
    assert all(v.dtype == numpy.float32 for v in state.values())
    assert meta["test_accuracy"] >= 0.99


def test_classifier_accuracy_on_2000_test_images(test_set):
    images, labels = test_set
    accuracy = (metrics.predict_proba(images).argmax(axis=1) == labels).mean()
    assert accuracy >= 0.985


@pytest.mark.slow
def test_classifier_accuracy_on_the_full_test_set():
    images, labels = mnist_dataset(split="test")
    assert (metrics.predict_proba(images).argmax(axis=1) == labels).mean() >= 0.99


def test_features_and_probabilities_have_the_documented_shapes(test_set):
    images = test_set[0][:50]
    feats, probs = metrics.features_and_proba(images)
    assert feats.shape == (50, metrics.FEATURE_DIM) and probs.shape == (50, 10)
    numpy.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    numpy.testing.assert_allclose(feats, metrics.features(images), rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(probs, metrics.predict_proba(images), rtol=1e-5, atol=1e-6)
    assert metrics.load_classifier() is metrics.load_classifier()


def test_loading_the_classifier_leaves_the_random_stream_alone():
    from scratchgan import backend as B  # noqa: PLC0415
    from scratchgan.metrics import classifier  # noqa: PLC0415
    classifier._load.cache_clear()
    B.seed(5)
    expected = B.normal((3,))
    B.seed(5)
    metrics.load_classifier()
    numpy.testing.assert_array_equal(B.normal((3,)), expected)


# -- Fréchet distance --

def random_gaussian_features(rng, n, d, scale):
    mixing = rng.standard_normal((d, d)) * scale
    return rng.standard_normal((n, d)) @ mixing + rng.standard_normal(d)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_direct_formula(seed):
    rng = numpy.random.default_rng(seed)
    a = random_gaussian_features(rng, 400, 8, 1.0)
    b = random_gaussian_features(rng, 300, 8, 0.5)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = numpy.cov(a, rowvar=False), numpy.cov(b, rowvar=False)
    # Ca Cb is similar to a PSD matrix, so its eigenvalues are real and non-negative.
    eigenvalues = numpy.linalg.eigvals(cov_a @ cov_b)
    direct = (((mu_a - mu_b) ** 2).sum() + numpy.trace(cov_a) + numpy.trace(cov_b)
              - 2 * numpy.sqrt(numpy.clip(eigenvalues.real, 0, None)).sum())
    assert metrics.frechet_distance(a, b) == pytest.approx(direct, rel=1e-8)


def test_frechet_distance_of_one_dimensional_gaussians():
    # (mu_a - mu_b)² + (sigma_a - sigma_b)² in one dimension.
    a = numpy.array([[-1.0], [1.0]])  # mean 0, variance 2
    b = numpy.array([[2.0], [6.0]])   # mean 4, variance 8
    assert metrics.frechet_distance(a, b) == pytest.approx(16 + (math.sqrt(2) - math.sqrt(8)) ** 2)


def test_frechet_distance_with_singular_covariances():
    rng = numpy.random.default_rng(0)
    a = rng.standard_normal((5, 20))  # 5 samples in 20 dimensions: rank 4
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-9)
    # only the means differ
    assert metrics.frechet_distance(a, a + 1) == pytest.approx(20, rel=1e-6)


@pytest.fixture(scope="module")
def base_features(test_set):
    images = test_set[0][:1000]
    return images, metrics.features(images)


@pytest.mark.parametrize("degrade, levels", [(shift, [1, 2, 3]), (gaussian_blur, [0.5, 1.0, 1.5]),
                                             (noise, [0.1, 0.25, 0.5])],
                         ids=["shift", "blur", "noise"])
def test_frechet_distance_grows_with_degradation(base_features, degrade, levels):
    images, feats = base_features
    distances = [metrics.frechet_distance(feats, metrics.features(degrade(images, level)))
                 for level in levels]
    assert metrics.frechet_distance(feats, feats) < 1e-6
    assert 0 < distances[0] < distances[1] < distances[2], distances


# -- classifier score, class coverage --

def test_classifier_score_of_real_digits_and_of_noise(test_set):
    assert metrics.classifier_score(metrics.predict_proba(test_set[0])) > 9
    uniform = numpy.random.default_rng(0).uniform(-1, 1, (2000, 1, 28, 28)).astype(numpy.float32)
    assert metrics.classifier_score(metrics.predict_proba(uniform)) < 2


def test_classifier_score_bounds():
    one_hot = numpy.eye(10)[numpy.arange(100) % 10]
    assert metrics.classifier_score(one_hot) == pytest.approx(10)
    assert metrics.classifier_score(numpy.tile(numpy.eye(10)[3], (50, 1))) == pytest.approx(1)
    assert metrics.classifier_score(numpy.full((50, 10), 0.1)) == pytest.approx(1)


def test_coverage_of_half_the_classes_is_log_2(test_set):
    images, labels = test_set
    all_classes = metrics.coverage_kl(metrics.class_histogram(metrics.predict_proba(images)))
    half = metrics.class_histogram(metrics.predict_proba(images[labels < 5]))
    assert half[5:].sum() < 0.02
    assert metrics.coverage_kl(half) == pytest.approx(math.log(2), abs=0.05)
    assert all_classes < 0.02


def test_class_histogram_and_coverage_formulas():
    hist = metrics.class_histogram(numpy.array([0, 0, 1, 9]))
    numpy.testing.assert_allclose(hist, [0.5, 0.25] + [0] * 7 + [0.25])
    from_probs = metrics.class_histogram(numpy.eye(10)[[2, 2, 3, 3]])
    numpy.testing.assert_allclose(from_probs, metrics.class_histogram(numpy.array([2, 2, 3, 3])))
    assert metrics.coverage_kl(numpy.full(10, 0.1)) == pytest.approx(0, abs=1e-12)
    assert metrics.coverage_kl(numpy.eye(10)[4]) == pytest.approx(math.log(10))
    with pytest.raises(ValueError, match="sum to 1"):
        metrics.coverage_kl(numpy.full(10, 0.2))


# -- memorisation --

def test_nearest_distances_match_brute_force():
    rng = numpy.random.default_rng(0)
    a, b = rng.random((37, 16)), rng.random((53, 16))
    brute = numpy.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).min(axis=1)
    numpy.testing.assert_allclose(scores.nearest_distances(a, b, chunk=10), brute, rtol=1e-5)


def test_nearest_train_distance_is_zero_for_training_images_only(test_set):
    pool = mnist_dataset(split="train", limit=2000)[0]
    assert metrics.nearest_train_distance(pool[:300], pool) == 0
    held_out = metrics.nearest_train_distance(test_set[0][:300], pool)
    assert held_out > 3  # about 5 pixel units: unseen digits are never close copies


# -- evaluate_samples and the real-data floor --

def test_evaluate_samples_reports_every_score(test_set):
    result = metrics.evaluate_samples(test_set[0][:500])
    assert result["n"] == 500
    assert set(result) >= {"frechet_distance", "classifier_score", "class_histogram", "coverage_kl",
                           "nearest_train_distance", "n"}
    assert (len(result["class_histogram"]) == 10
            and sum(result["class_histogram"]) == pytest.approx(1))
    assert result["classifier_score"] > 8 and result["nearest_train_distance"] > 3
    json.dumps(result)  # JSON-ready, as the trainer and the CLI write it


def test_real_floor_beats_noise_and_memorised_copies_show():
    floor = metrics.real_floor(500)
    assert floor["n"] == 500 and floor["nearest_train_distance"] > 3
    noisy = metrics.evaluate_samples(
        numpy.random.default_rng(0).uniform(-1, 1, (500, 1, 28, 28)).astype(numpy.float32))
    assert noisy["frechet_distance"] > 10 * floor["frechet_distance"]
    copies = metrics.evaluate_samples(train_subset(TRAIN_SUBSET)[:500])
    assert copies["nearest_train_distance"] == 0
    assert metrics.real_floor(500) == floor  # cached, and the caller's copy cannot spoil the cache


def test_evaluate_samples_rejects_bad_input(test_set):
    images = test_set[0][:10]
    with pytest.raises(MetricsError, match="at least 2"):
        metrics.evaluate_samples(images[:1])
    with pytest.raises(MetricsError, match=r"expected \(N, 1, 28, 28\)"):
        metrics.evaluate_samples(images[:, 0])
    with pytest.raises(MetricsError, match=r"expected \[-1, 1\]"):
        metrics.evaluate_samples((images + 1) * 127.5)
    nan = images.copy()
    nan[3, 0, 5, 5] = numpy.nan
    with pytest.raises(MetricsError, match="NaN"):
        metrics.evaluate_samples(nan)
    with pytest.raises(MetricsError, match="n=20"):
        metrics.evaluate_samples(images, n=20)


def test_evaluate_samples_warns_below_the_feature_dimension(test_set):
    with pytest.warns(MetricsWarning, match="singular"):
        metrics.evaluate_samples(test_set[0][:50])


# -- reading saved samples --

LAYOUTS = {"N,28,28": lambda u8: u8, "N,1,28,28": lambda u8: u8[:, None],
           "N,784": lambda u8: u8.reshape(len(u8), 784)}
RANGES = {"uint8": (lambda u8: u8, "[0, 255]"),
          "[0, 1]": (lambda u8: u8.astype(numpy.float32) / 255, "[0, 1]"),
          "[-1, 1]": (lambda u8: u8.astype(numpy.float64) / 127.5 - 1, "[-1, 1]")}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("value_range", RANGES)
def test_to_model_range_detects_every_layout_and_range(layout, value_range):
    u8 = load_mnist("test", limit=8)[0]
    scale, described = RANGES[value_range]
    images, detected = metrics.to_model_range(LAYOUTS[layout](scale(u8)))
    assert described in detected
    assert images.dtype == numpy.float32 and images.shape == (8, 1, 28, 28)
    numpy.testing.assert_allclose(images, to_tanh_range(u8), atol=1e-6)


@pytest.mark.parametrize("array, message", [
    (numpy.zeros((4, 32, 32), numpy.float32), "expected MNIST images"),
    (numpy.full((4, 784), 200.0), r"expected \[-1, 1\] or \[0, 1\]"),
    (numpy.full((4, 784), 300, numpy.int64), r"\[0, 255\]"),
    (numpy.full((4, 784), numpy.inf), "NaN or infinite"),
    (numpy.zeros((4, 784), bool), "dtype bool"),
])
def test_to_model_range_rejects(array, message):
    with pytest.raises(MetricsError, match=message):
        metrics.to_model_range(array)


# -- the evaluate command --

def run_cli(capsys, *argv):
    try:
        status = evaluate.main(list(argv))
    except SystemExit as e:  # argparse usage errors
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("scratchgan: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[-1]


def test_cli_scores_a_npy_file_as_json_and_as_a_table(tmp_path, capsys):
    path = tmp_path / "digits.npy"
    numpy.save(path, load_mnist("test", limit=300)[0].reshape(300, 784))
    status, out, err = run_cli(capsys, "--samples", str(path), "--json")
    assert status == 0 and "detected range: uint8 pixels in [0, 255]" in err
    result = json.loads(out)
    assert result["n"] == 300 and result["real"]["n"] == 300
    for key in ("frechet_distance", "classifier_score", "class_histogram", "coverage_kl",
                "nearest_train_distance"):
        assert key in result and key in result["real"]
    status, out, _ = run_cli(capsys, "--samples", str(path), "--n", "200")
    assert status == 0 and "200 samples" in out and "Fréchet distance" in out and "real" in out


def test_cli_scores_a_checkpoint(tmp_path, capsys):
    from scratchgan import models  # noqa: PLC0415
    options = {"g_hidden": [16], "d_hidden": [16]}
    generator, discriminator = models.build("mlp", latent_dim=4, **options)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"generator": generator, "discriminator": discriminator}, {},
                    {"config": {"model": "mlp", "latent_dim": 4, "model_options": options}})
    status, out, err = run_cli(capsys, "--checkpoint", str(path), "--n", "200", "--json",
                               "--seed", "3")
    assert status == 0, err
    result = json.loads(out)
    assert (result["n"] == 200 and result["seed"] == 3
            and result["detected_range"] == "generator output")


@pytest.mark.parametrize("contents, fragments", [
    (None, ["no such file"]),
    (numpy.zeros((1, 28, 28), numpy.uint8), ["at least 2"]),
    (numpy.zeros((5, 27, 27), numpy.float32), ["expected MNIST images"]),
    (numpy.full((5, 784), 255.0), ["expected [-1, 1] or [0, 1]"]),
    (numpy.full((5, 784), numpy.nan), ["NaN"]),
], ids=["missing", "one-sample", "shape", "range", "nan"])
def test_cli_bad_samples_file_is_one_error_line(tmp_path, capsys, contents, fragments):
    path = tmp_path / "samples.npy"
    if contents is not None:
        numpy.save(path, contents)
    status, _, err = run_cli(capsys, "--samples", str(path))
    assert_one_line_error(status, err, *fragments)


def test_cli_usage_errors_are_one_line(tmp_path, capsys):
    assert_one_line_error(*run_cli(capsys, "--samples", str(tmp_path / "x.npy"), "--n", "1")[::2],
                          "--n 1")
    assert_one_line_error(*run_cli(capsys, "--checkpoint", str(tmp_path / "missing.npz"))[::2],
                          "missing.npz")
    assert_one_line_error(*run_cli(capsys)[::2], "--checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning leaks out of a failed run
        assert_one_line_error(*run_cli(capsys, "--samples", str(tmp_path / "x.npy"), "--json")[::2])
