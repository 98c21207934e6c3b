"""Colour images end to end: ``scratchgan images`` on a folder and on the shipped faces, WGAN-GP
runs, exact resume with flips and critic steps, colour samples, and the colour Fréchet distance."""
import csv

import numpy
import pytest
from PIL import Image

from scratchgan.cli.main import main
from scratchgan.data import load_emoji_faces
from scratchgan.metrics.colour import colour_frechet_distance
from scratchgan.run import load_checkpoint
from scratchgan.viz import image_grid

TINY = ["--width", "4", "--batch-size", "8", "--no-progress", "--log-every", "1"]


def picture_folder(root, n=36, size=40):
    """Two classes of coloured squares with a diagonal, in nested folders."""
    rng = numpy.random.default_rng(0)
    for i in range(n):
        folder = root / ("red" if i % 2 else "blue") / ("deep" if i % 3 == 0 else "")
        folder.mkdir(parents=True, exist_ok=True)
        pixels = numpy.full((size, size, 3), rng.integers(0, 255, 3), numpy.uint8)
        numpy.fill_diagonal(pixels[:, :, i % 3], 255)
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("scratchgan: error: "), err
    return err[0]


@pytest.mark.parametrize("size", [32, 64])
def test_three_steps_on_a_folder_write_colour_outputs(tmp_path, size, monkeypatch):
    monkeypatch.setenv("SCRATCHGAN_CACHE", str(tmp_path / "cache"))
    data = picture_folder(tmp_path / "pictures")
    out = tmp_path / "run"
    assert main(["images", "--data", str(data), "--image-size", str(size), "--max-steps", "3",
                 "--out", str(out), *TINY]) == 0
    grid = Image.open(out / "samples" / "epoch_001_partial.png")
    assert grid.mode == "RGB" and grid.size == (8 * (size + 2) + 2,) * 2
    checkpoint = load_checkpoint(out / "checkpoint.npz")
    assert checkpoint.meta["config"]["image_size"] == size
    assert len(rows(out / "metrics.csv")) == 3
    npy = tmp_path / "samples.npy"
    assert main(["sample", "--checkpoint", str(out / "checkpoint.npz"), "--n", "5",
                 "--out", str(npy)]) == 0
    samples = numpy.load(npy)
    assert samples.shape == (5, 3, size, size) and samples.dtype == numpy.float32
    assert -1 <= samples.min() and samples.max() <= 1


def test_a_resumed_wgan_gp_run_with_flips_repeats_the_uninterrupted_one(tmp_path):
    options = ["--loss", "wgan-gp", "--n-critic", "2", "--flip", "--image-size", "16",
               "--limit", "32", *TINY]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main(["images", "--max-steps", "7", "--out", str(whole), *options]) == 0
    assert main(["images", "--max-steps", "3", "--out", str(parts), *options]) == 0
    assert main(["images", "--max-steps", "7", "--resume", "--out", str(parts), *options]) == 0
    numbers = ("d_loss", "g_loss", "critic_real", "critic_fake", "wasserstein", "penalty")
    expected = [[r[k] for k in numbers] for r in rows(whole / "metrics.csv")]
    assert [[r[k] for k in numbers] for r in rows(parts / "metrics.csv")] == expected
    assert len(expected) == 7
    g_losses = [float(r["g_loss"]) for r in rows(whole / "metrics.csv")]
    assert g_losses[0] != g_losses[2] and g_losses[1] == g_losses[0]  # G every 2nd step


def test_wgan_gp_trains_the_mnist_models_too(tmp_path):
    out = tmp_path / "mnist"
    assert main(["mnist", "--model", "dcgan", "--loss", "wgan-gp", "--max-steps", "2",
                 "--limit", "64", "--out", str(out), "--batch-size", "8", "--no-progress",
                 "--log-every", "1"]) == 0
    config = load_checkpoint(out / "checkpoint.npz").meta["config"]
    assert (config["loss"], config["n_critic"], config["lr_g"], config["beta1"]) == \
        ("wgan-gp", 5, 1e-4, 0.0)
    assert "wasserstein" in rows(out / "metrics.csv")[0]


def test_the_shipped_faces_train_by_default(tmp_path):
    out = tmp_path / "faces"
    assert main(["images", "--max-steps", "2", "--image-size", "16", "--out", str(out),
                 *TINY]) == 0
    assert load_checkpoint(out / "checkpoint.npz").meta["config"]["data"] is None


def test_bad_input_ends_in_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["images", "--data", str(empty), "--out", str(tmp_path / "a"), *TINY]) == 2
    assert "no image" in one_error_line(capsys)
    assert main(["images", "--image-size", "48", "--out", str(tmp_path / "b"), *TINY]) == 2
    assert "power of two" in one_error_line(capsys)
    assert main(["images", "--loss", "wgan", "--out", str(tmp_path / "c")]) == 2
    assert "wgan" in one_error_line(capsys)


def test_a_resume_must_keep_the_loss(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["images", "--max-steps", "1", "--image-size", "16", "--out", str(out),
                 *TINY]) == 0
    assert main(["images", "--resume", "--loss", "wgan-gp", "--out", str(out), *TINY]) == 2
    assert "loss" in one_error_line(capsys)


def test_evaluate_scores_a_colour_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["images", "--max-steps", "1", "--image-size", "16", "--out", str(out),
                 *TINY]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(out / "checkpoint.npz"), "--n", "300",
                 "--json"]) == 0
    import json
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 300 and result["reference_n"] == 1147
    assert result["frechet_distance"] > 3 * result["real"]["frechet_distance"] > 0


def blur(images, times):
    out = images.copy()
    for _ in range(times):
        out = (out + numpy.roll(out, 1, 2) + numpy.roll(out, -1, 2) + numpy.roll(out, 1, 3)
               + numpy.roll(out, -1, 3)) / 5
    return out.astype(numpy.float32)


def test_the_colour_distance_orders_real_blurred_and_noise():
    faces = load_emoji_faces(32).to_tanh_range()
    order = numpy.random.default_rng(0).permutation(len(faces))
    a, b = faces[order[:570]], faces[order[570:1140]]
    real = colour_frechet_distance(a, b)
    light, heavy = colour_frechet_distance(a, blur(b, 1)), colour_frechet_distance(a, blur(b, 5))
    noise = colour_frechet_distance(a, numpy.random.default_rng(1).uniform(
        -1, 1, b.shape).astype(numpy.float32))
    assert real < light < heavy < noise
    assert colour_frechet_distance(a, a) < 1e-6 < real


def test_colour_grids():
    images = numpy.zeros((5, 3, 4, 6), numpy.float32)
    images[:, 0] = 1  # red
    grid = image_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 7 + 1, 3)
    assert tuple(grid[1, 1]) == (255, 128, 128) and tuple(grid[0, 0]) == (128, 128, 128)
    assert image_grid(images[:, :1]).ndim == 2  # grey stays 2-D


def test_eval_every_scores_colour_runs_with_the_colour_distance(tmp_path, monkeypatch):
    monkeypatch.setenv("SCRATCHGAN_CACHE", str(tmp_path / "cache"))
    data = picture_folder(tmp_path / "pictures")
    out = tmp_path / "run"
    assert main(["images", "--data", str(data), "--image-size", "16", "--epochs", "1",
                 "--eval-every", "1", "--out", str(out), *TINY]) == 0
    (row,) = rows(out / "metrics_eval.csv")
    assert float(row["frechet_distance"]) > 0 and row["classifier_score"] == "nan"
