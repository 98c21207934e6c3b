"""Training: the GAN step against a hand-written one, whole runs, exact resume, crashes, outputs."""
import csv
import json
import os
import re
import signal
import sys
import types

import numpy
import pytest
from PIL import Image

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan import models, viz
from scratchgan.data import mnist_dataset
from scratchgan.optim import Adam
from scratchgan.run import (CheckpointError, ConfigError, TrainConfig, TrainingDiverged,
                            TrainingInterrupted, load_checkpoint, save_checkpoint, train)
from scratchgan.trainer import CollapseMonitor, GANTrainer
from scratchgan.run.config import (CONDITIONAL_MODELS, DATASET_MODELS, build_models,
                                   resolve_config)

# 28x28 digits drawn from z alone; image-dcgan: tests/test_losses.py; cgan: test_conditional.py
MNIST_MODELS = tuple(m for m in DATASET_MODELS["mnist"] if m not in CONDITIONAL_MODELS)

TINY = {"mlp": dict(g_hidden=(16, 32), d_hidden=(32, 16)),
        "dcgan": dict(g_channels=(8, 4, 4), d_channels=(4, 8))}
IMAGES, BATCH = 160, 32  # 5 steps per epoch


def tiny_config(tmp_path, model="mlp", name="run", **fields):
    settings = dict(model=model, model_options=TINY[model], epochs=2, batch_size=BATCH,
                    limit=IMAGES, log_every=1, out=str(tmp_path / name), progress=False)
    settings.update(fields)
    return TrainConfig(**settings)


def losses(history):
    return [(r["epoch"], r["step"], r["d_loss"], r["g_loss"], r["d_real"], r["d_fake"])
            for r in history]


def weights(result):
    return [p.numpy() for p in result.generator.parameters() + result.discriminator.parameters()]


def real_batch(n=16):
    return mnist_dataset(limit=n)[0]


# -- the step --

@pytest.mark.parametrize("model", MNIST_MODELS)
def test_a_few_steps_on_mnist_change_both_networks(model):
    G, D = models.build(model, **TINY[model])
    before = [p.numpy() for p in G.parameters() + D.parameters()]
    trainer = GANTrainer(G, D)
    images = real_batch(64)
    for start in range(0, 64, 16):
        stats = trainer.train_step(images[start:start + 16])
    assert set(stats) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(isinstance(v, float) and numpy.isfinite(v) for v in stats.values())
    assert 0 < stats["d_real"] < 1 and 0 < stats["d_fake"] < 1
    after = [p.numpy() for p in G.parameters() + D.parameters()]
    changed = [not numpy.array_equal(b, a) for b, a in zip(before, after)]
    n_g = len(G.parameters())
    assert all(changed[:n_g]) and all(changed[n_g:])


@pytest.mark.parametrize("model", MNIST_MODELS)
def test_step_equals_the_textbook_step(model):
    """Two steps of GANTrainer against the plain loop (whose G backward also fills D's grads)."""
    def pair():
        B.seed(1)
        return models.build(model, **TINY[model])

    G, D = pair()
    trainer = GANTrainer(G, D, lr_g=1e-3, lr_d=2e-3, betas=(0.5, 0.99))
    G2, D2 = pair()
    opt_g, opt_d = (Adam(G2.parameters(), 1e-3, (0.5, 0.99)),
                    Adam(D2.parameters(), 2e-3, (0.5, 0.99)))
    images = sg.tensor(real_batch(32))
    bce = F.binary_cross_entropy_with_logits
    numpy_rng = B.get_backend("numpy")
    for half in (images[:16], images[16:]):
        state = numpy_rng.get_rng_state()
        stats = trainer.train_step(half)
        numpy_rng.set_rng_state(state)  # the reference draws the same z and dropout masks
        z = sg.tensor(B.normal((16, 100)))
        fake = G2(z)
        ones, zeros = numpy.ones((16, 1), numpy.float32), numpy.zeros((16, 1), numpy.float32)
        real_logits, fake_logits = D2(half), D2(fake.detach())
        d_loss = bce(real_logits, ones) + bce(fake_logits, zeros)
        opt_d.zero_grad()
        d_loss.backward()
        d_grads = [p.grad.numpy() for p in D2.parameters()]
        opt_d.step()
        g_loss = bce(D2(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        assert stats["d_loss"] == pytest.approx(d_loss.item(), rel=1e-5)
        assert stats["g_loss"] == pytest.approx(g_loss.item(), rel=1e-5)
        assert stats["d_real"] == pytest.approx(float(F.sigmoid(real_logits).mean().item()),
                                                rel=1e-5)
        # The trainer's G update computed no gradient for D: D's grads are those of the D loss
        # alone.
        for p, g in zip(D.parameters(), d_grads):
            numpy.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-7)
    for p, q in zip(G.parameters() + D.parameters(), G2.parameters() + D2.parameters()):
        numpy.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-5, atol=1e-6)


def test_step_runs_on_a_strict_device_backend():
    """On tests/fake_device.py's backend any host NumPy call on a device array would fail."""
    from fake_device import FAKE
    for model in MNIST_MODELS:
        G, D = models.build(model, **TINY[model])
        G.to(FAKE), D.to(FAKE)
        trainer = GANTrainer(G, D)
        stats = trainer.train_step(FAKE.asarray(real_batch(8)))
        assert numpy.isfinite(list(stats.values())).all()
        out = trainer.generate(numpy.zeros((3, 100), numpy.float32))
        assert type(out) is numpy.ndarray and out.shape == (3, 1, 28, 28)


def test_step_refuses_float64_images():
    G, D = models.build("mlp", **TINY["mlp"])
    with pytest.raises(TypeError, match="float32"):
        GANTrainer(G, D).train_step(real_batch(4).astype(numpy.float64))


def test_generate_uses_eval_mode_and_restores_train_mode():
    G, D = models.build("dcgan", **TINY["dcgan"])
    trainer = GANTrainer(G, D)
    z = numpy.random.default_rng(0).standard_normal((4, 100), dtype=numpy.float32)
    one, two = trainer.generate(z), trainer.generate(z[:1])
    numpy.testing.assert_allclose(one[:1], two, atol=1e-6)  # running statistics, not the batch's
    assert G.training and all(m.training for m in G.modules())


def test_collapse_monitor_warns_once_per_episode():
    monitor = CollapseMonitor(patience=3)
    won = dict(d_loss=0.001, d_fake=0.0001)
    fair = dict(d_loss=1.2, d_fake=0.4)
    messages = [monitor.update(s, 1, i)
                for i, s in enumerate([won, won, won, won, fair, won, won, won])]
    assert [m is not None for m in messages] == [False, False, True, False, False, False, False,
                                                 True]
    assert "discriminator" in messages[2] and "step 2" in messages[2]


# -- whole runs --

def test_run_writes_every_output(tmp_path):
    result = train(tiny_config(tmp_path))
    out = tmp_path / "run"
    assert result.stopped == "completed" and (result.epoch, result.step) == (2, 10)
    grid = Image.open(out / "samples" / "epoch_002.png")
    assert grid.size == (8 * 30 + 2, 8 * 30 + 2) and grid.mode == "L"  # 64 samples, 8 per row
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "step", "seconds", "d_loss", "g_loss", "d_real", "d_fake"]
    assert [int(r["step"]) for r in rows] == list(range(1, 11))
    assert [int(r["epoch"]) for r in rows] == [1] * 5 + [2] * 5
    assert Image.open(out / "losses.png").size[0] > 100
    assert Image.open(out / "progress.gif").n_frames == 2
    checkpoint = load_checkpoint(out / "checkpoint.npz")
    assert (checkpoint.meta["epoch"], checkpoint.meta["step"]) == (2, 10)
    assert checkpoint.arrays["history"].shape == (10, 7)


def test_grid_of_a_trained_generator_differs_between_epochs(tmp_path):
    train(tiny_config(tmp_path))
    first, second = (numpy.asarray(Image.open(tmp_path / "run" / "samples" / f"epoch_00{i}.png"))
                     for i in (1, 2))
    assert not numpy.array_equal(first, second)


@pytest.mark.parametrize("model, stops", [("mlp", (3, 5, 8)), ("dcgan", (7,))])
def test_interrupted_runs_resume_exactly(tmp_path, model, stops):
    """Stopping mid-epoch or at an epoch's end (max_steps) then resuming changes no number."""
    whole = train(tiny_config(tmp_path, model, "whole", epochs=3))
    for max_steps in stops:
        part = train(tiny_config(tmp_path, model, "parts", epochs=3, max_steps=max_steps,
                                 resume=max_steps != stops[0]))
        assert part.stopped == "max_steps" and part.step == max_steps
    resumed = train(tiny_config(tmp_path, model, "parts", epochs=3, resume=True))
    assert resumed.stopped == "completed" and resumed.step == whole.step == 15
    assert losses(resumed.history) == losses(whole.history)
    for a, b in zip(weights(whole), weights(resumed)):
        numpy.testing.assert_array_equal(a, b)
    with open(tmp_path / "parts" / "metrics.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == list(range(1, 16))


def test_ctrl_c_saves_between_steps_and_resume_is_exact(tmp_path):
    whole = train(tiny_config(tmp_path, name="whole"))
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when started in the background

    def press_ctrl_c(event):
        if event.kind == "step" and event.step == 4:
            signal.raise_signal(signal.SIGINT)

    with pytest.raises(TrainingInterrupted, match="step 4") as caught:
        train(tiny_config(tmp_path), callback=press_ctrl_c)
    assert load_checkpoint(caught.value.checkpoint).meta["step"] == 4
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    resumed = train(tiny_config(tmp_path, resume=True))
    assert losses(resumed.history) == losses(whole.history)


def test_minutes_budget_stops_and_saves(tmp_path, capsys):
    result = train(tiny_config(tmp_path, minutes=1e-9))
    assert result.stopped == "minutes" and result.step == 1
    meta = load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta
    assert (meta["epoch"], meta["step"], meta["samples_into_epoch"]) == (0, 1, BATCH)
    assert "time limit" in capsys.readouterr().out
    assert (tmp_path / "run" / "samples" / "epoch_001_partial.png").is_file()


def test_resume_says_so_and_keeps_the_saved_settings(tmp_path, capsys):
    train(tiny_config(tmp_path, epochs=1, lr_d=1e-3, seed=3))
    result = train(TrainConfig(out=str(tmp_path / "run"), resume=True, epochs=2, progress=False))
    assert "resuming mlp" in capsys.readouterr().out
    c = result.config
    assert (c.model, c.lr_d, c.seed, c.limit, c.batch_size, c.model_options) == (
        "mlp", 1e-3, 3, IMAGES, BATCH,
        {"g_batch_norm": True, "g_hidden": [16, 32], "d_hidden": [32, 16]})
    assert result.epoch == 2


def test_resume_refuses_another_architecture(tmp_path):
    train(tiny_config(tmp_path, epochs=1))
    with pytest.raises(ConfigError, match="holds a mlp model, not dcgan"):
        train(tiny_config(tmp_path, "dcgan", resume=True))
    with pytest.raises(ConfigError, match="latent_dim"):
        train(tiny_config(tmp_path, resume=True, latent_dim=8))


def test_a_new_run_does_not_overwrite_a_checkpoint_unless_asked(tmp_path):
    train(tiny_config(tmp_path, epochs=1))
    with pytest.raises(ConfigError, match="already holds a checkpoint"):
        train(tiny_config(tmp_path, epochs=1))
    result = train(tiny_config(tmp_path, epochs=1, seed=5, overwrite=True))
    assert result.config.seed == 5 and len(result.history) == 5


# -- crashes --

def test_a_failed_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch):
    train(tiny_config(tmp_path, epochs=1))
    path = tmp_path / "run" / "checkpoint.npz"
    saved = path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash during the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        train(tiny_config(tmp_path, epochs=2, resume=True))
    monkeypatch.undo()
    assert path.read_bytes() == saved
    assert load_checkpoint(path).meta["epoch"] == 1
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_truncated_write_leaves_the_previous_checkpoint_loadable(tmp_path):
    G, D = models.build("mlp", **TINY["mlp"])
    trainer = GANTrainer(G, D)
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, {"generator": G}, {"generator": trainer.opt_g}, {"epoch": 1})
    # A process killed mid-write leaves a partial temporary file behind, never a partial checkpoint.
    (tmp_path / ".checkpoint.npz.abc123.tmp").write_bytes(path.read_bytes()[:1000])
    assert load_checkpoint(path).meta["epoch"] == 1
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="broken.npz"):
        load_checkpoint(broken)


def test_checkpoint_round_trips_networks_and_optimizers(tmp_path):
    G, D = models.build("dcgan", **TINY["dcgan"])
    trainer = GANTrainer(G, D)
    trainer.train_step(real_batch(8))
    path = tmp_path / "c.npz"
    modules = {"generator": G, "discriminator": D}
    optimizers = {"generator": trainer.opt_g, "discriminator": trainer.opt_d}
    save_checkpoint(path, modules, optimizers, {"note": "x"}, {"extra": numpy.arange(3)})
    G2, D2 = models.build("dcgan", **TINY["dcgan"])
    trainer2 = GANTrainer(G2, D2, lr_g=0.5)
    checkpoint = load_checkpoint(path)
    checkpoint.load_into({"generator": G2, "discriminator": D2},
                         {"generator": trainer2.opt_g, "discriminator": trainer2.opt_d})
    assert checkpoint.meta["note"] == "x" and checkpoint.arrays["extra"].tolist() == [0, 1, 2]
    for a, b in zip(G.state_dict().values(), G2.state_dict().values()):
        numpy.testing.assert_array_equal(a, b)
    assert trainer2.opt_g.lr == trainer.opt_g.lr and trainer2.opt_d.state[0]["step"] == 1
    numpy.testing.assert_array_equal(trainer2.opt_d.state[0]["exp_avg"],
                                     trainer.opt_d.state[0]["exp_avg"])
    wrong, _ = models.build("mlp", **TINY["mlp"])
    with pytest.raises(CheckpointError, match="generator does not fit"):
        checkpoint.load_into({"generator": wrong})


def test_nan_loss_stops_naming_the_step_and_keeps_the_good_checkpoint(tmp_path):
    def poison_after_first_epoch(event):
        if event.kind == "epoch" and event.epoch == 1:
            w = event.trainer.generator.parameters()[-1]
            w.array[...] = numpy.nan

    with pytest.raises(TrainingDiverged, match=r"epoch 2, step 6.*last good checkpoint"):
        train(tiny_config(tmp_path, epochs=3), callback=poison_after_first_epoch)
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert checkpoint.meta["epoch"] == 1
    assert all(numpy.isfinite(v).all() for v in checkpoint.module_state("generator").values())


# -- evaluation, --show, callback --

def test_eval_every_logs_metrics(tmp_path, monkeypatch):
    calls = []

    def evaluate_samples(samples, n=None):
        calls.append((samples.shape, samples.dtype, float(samples.min()), float(samples.max()), n))
        return dict(frechet_distance=100.0 - len(calls), classifier_score=2.0,
                    class_histogram=[0.1] * 10, coverage_kl=0.5, nearest_train_distance=3.0, n=n)

    monkeypatch.setitem(sys.modules, "scratchgan.metrics",
                        types.SimpleNamespace(evaluate_samples=evaluate_samples))
    train(tiny_config(tmp_path, epochs=2, eval_every=1, eval_samples=20))
    assert len(calls) == 2
    shape, dtype, low, high, n = calls[0]
    assert (shape == (20, 1, 28, 28) and dtype == numpy.float32 and -1 <= low and high <= 1
            and n == 20)
    with open(tmp_path / "run" / "metrics_eval.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["epoch", "minutes", "frechet_distance", "classifier_score",
                             "coverage_kl", "nearest_train_distance"]
    assert [(r["epoch"], float(r["frechet_distance"])) for r in rows] == [("1", 99.0), ("2", 98.0)]
    assert (tmp_path / "run" / "metrics.png").is_file()


def test_eval_every_without_the_metrics_module_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scratchgan.metrics", None)  # import fails
    with pytest.raises(ConfigError, match="eval-every needs scratchgan.metrics"):
        train(tiny_config(tmp_path, eval_every=1))


def test_show_without_a_display_is_ignored_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    train(tiny_config(tmp_path, epochs=1, show=True))
    assert capsys.readouterr().out.count("--show ignored") == 1


def test_callback_sees_steps_epochs_and_the_end(tmp_path):
    events = []
    train(tiny_config(tmp_path, epochs=2, log_every=2), callback=events.append)
    kinds = [e.kind for e in events]
    assert kinds.count("step") == 5 and kinds.count("epoch") == 2 and kinds[-1] == "end"
    epoch = next(e for e in events if e.kind == "epoch")
    assert epoch.grid.dtype == numpy.uint8 and epoch.grid.shape == (242, 242)
    assert epoch.grid_path.name == "epoch_001.png"


# -- pictures --

def test_image_grid_lays_images_out_row_by_row():
    samples = numpy.stack([numpy.full((1, 2, 3), v, numpy.float32) for v in (-1, 0, 1, -1, 1)])
    grid = viz.image_grid(samples, nrow=3, padding=1, pad_value=7)
    assert grid.shape == (2 * 3 + 1, 3 * 4 + 1) and grid.dtype == numpy.uint8
    tile = lambda r, c: grid[1 + 3 * r:3 + 3 * r, 1 + 4 * c:4 + 4 * c]  # noqa: E731
    assert [int(tile(0, c).mean()) for c in range(3)] == [0, 128, 255]
    # the missing sixth image is frame
    assert [int(tile(1, c).mean()) for c in range(3)] == [0, 255, 7]
    assert (grid[0] == 7).all() and (grid[:, 4] == 7).all()


def test_plots_and_gif_are_written(tmp_path):
    history = [dict(epoch=1, step=s, seconds=s, d_loss=1.0 / s, g_loss=0.5, d_real=0.6, d_fake=0.4)
               for s in (1, 2, 3)]
    viz.plot_losses(history, tmp_path / "losses.png")
    frames = [viz.save_grid(numpy.full((4, 1, 28, 28), v, numpy.float32), tmp_path / f"{i}.png")
              for i, v in enumerate((-1, 1))]
    viz.save_gif(frames, tmp_path / "p.gif")
    assert Image.open(tmp_path / "losses.png").format == "PNG"
    assert Image.open(tmp_path / "p.gif").n_frames == 2


def test_a_whole_run_on_a_strict_device_backend(tmp_path):
    """The loop, grids, checkpoint and resume touch device arrays only through the backend."""
    from fake_device import FAKE
    result = train(tiny_config(tmp_path, epochs=1, backend=FAKE.name))
    assert result.stopped == "completed" and isinstance(result.generator.parameters()[0].array,
                                                        FAKE.array_type)
    resumed = train(tiny_config(tmp_path, epochs=2, backend=FAKE.name, resume=True))
    assert resumed.step == 10 and numpy.isfinite([r["d_loss"] for r in resumed.history]).all()


# -- the networks a new MNIST run builds (issue 13's defaults) and their flags --

def layer_types(module):
    return [type(m).__name__ for m in module.modules()]


def test_a_new_mlp_run_puts_batch_norm_in_g_and_the_flags_change_the_networks():
    c = resolve_config(TrainConfig())
    assert c.model_options == {"g_batch_norm": True}
    G, D = build_models(c.model, options=c.model_options)
    assert layer_types(G).count("BatchNorm") == 2 and "Dropout" not in layer_types(D)
    c = resolve_config(TrainConfig(g_norm="none", d_dropout=0.3))
    G, D = build_models(c.model, options=c.model_options)
    assert "BatchNorm" not in layer_types(G) and layer_types(D).count("Dropout") == 2
    # models.build keeps the plain networks that older checkpoints hold
    assert "BatchNorm" not in layer_types(models.build("mlp")[0])


def test_a_new_dcgan_run_has_width_32_and_width_sets_both_networks():
    c = resolve_config(TrainConfig(model="dcgan"))
    assert (c.width, c.model_options) == (32, {"width": 32, "dropout": 0.0, "d_batch_norm": True,
                                               "d_convs": 3})
    G, D = build_models("dcgan", options=resolve_config(
        TrainConfig(model="dcgan", width=8)).model_options)
    assert [p.shape for p in G.parameters() if len(p.shape) == 4] == [
        (32, 16, 5, 5), (16, 8, 5, 5), (8, 1, 5, 5)]
    assert [p.shape for p in D.parameters() if len(p.shape) == 4] == [
        (8, 1, 5, 5), (16, 8, 5, 5), (32, 16, 5, 5)]
    # channels given one by one replace the default width
    c = resolve_config(TrainConfig(model="dcgan", model_options=TINY["dcgan"]))
    assert "width" not in c.model_options and c.width is None


def test_a_new_dcgan_run_normalises_d_unless_told_not_to_or_a_critic():
    def d_layers(**fields):
        c = resolve_config(TrainConfig(model="dcgan", **fields))
        return layer_types(build_models("dcgan", options=c.model_options)[1])
    assert d_layers().count("BatchNorm") == 2 and d_layers(d_norm="batch").count("BatchNorm") == 2
    assert "BatchNorm" not in d_layers(d_norm="none")
    assert "BatchNorm" not in d_layers(loss="wgan-gp")  # the penalty is taken per sample
    assert "BatchNorm" not in layer_types(models.build("dcgan")[1])  # the tutorial's D


def test_a_new_dcgan_run_halves_the_image_three_times_in_d_unless_told_two(tmp_path):
    def d_shapes(**fields):
        c = resolve_config(TrainConfig(model="dcgan", **fields))
        D = build_models("dcgan", options=c.model_options)[1]
        return [tuple(p.shape) for p in D.parameters() if len(p.shape) != 1]
    # PyTorch's layouts: conv (out, in, kh, kw), dense (out, in); the read-out sees 4x4
    assert d_shapes() == [(32, 1, 5, 5), (64, 32, 5, 5), (128, 64, 5, 5), (1, 128 * 4 * 4)]
    assert d_shapes(d_convs=2) == [(32, 1, 5, 5), (64, 32, 5, 5), (1, 64 * 7 * 7)]
    assert d_shapes(loss="wgan-gp", width=4)[-1] == (1, 16 * 4 * 4)  # a critic: no batch norm
    assert d_shapes(model_options=TINY["dcgan"]) == d_shapes(model_options=dict(
        TINY["dcgan"], d_convs=2))  # channels given one by one decide the depth
    assert [tuple(p.shape) for p in models.build("dcgan")[1].parameters() if len(p.shape) != 1
            ] == [(64, 1, 5, 5), (128, 64, 5, 5), (1, 128 * 7 * 7)]  # the tutorial's D
    D = models.build("dcgan", d_channels=(2, 3, 4), d_batch_norm=True)[1]
    assert D(sg.Tensor(numpy.zeros((3, 1, 28, 28), numpy.float32))).shape == (3, 1)
    with pytest.raises(ValueError, match="are 3 convolutions, not d_convs=2"):
        models.build("dcgan", d_channels=(2, 3, 4), d_convs=2)
    # through a run, the same mismatch is a ConfigError (one line from the CLI), not a traceback
    with pytest.raises(ConfigError, match="do not fit dcgan: .*not d_convs=3"):
        train(tiny_config(tmp_path, "dcgan", model_options=dict(g_channels=(8, 4, 4)), d_convs=3))


@pytest.mark.parametrize("fields, message", [
    (dict(width=16), "--width sets the dcgan's channels"),
    (dict(d_norm="batch"), "--d-norm: the mlp discriminator"),
    (dict(model="dcgan", d_norm="layer"), "d_norm must be 'batch' or 'none'"),
    (dict(model="dcgan", loss="wgan-gp", d_norm="batch"), "the wgan-gp critic has no batch norm"),
    (dict(model="dcgan", g_norm="none"), "--g-norm: the dcgan generator"),
    (dict(g_norm="layer"), "g_norm must be 'batch' or 'none'"),
    (dict(d_dropout=1.0), "d_dropout must be in [0, 1)"),
    (dict(dataset="images", d_dropout=0.2), "--d-dropout: the image-dcgan"),
    (dict(d_convs=3), "--d-convs: the mlp discriminator has no convolutions"),
    (dict(model="dcgan", d_convs=4), "d_convs must be 2 (28 -> 7) or 3 (28 -> 4)"),
])
def test_network_flags_that_do_not_fit_are_one_line_errors(fields, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_config(TrainConfig(**fields))


def test_resume_checks_the_network_flags_against_the_checkpoint(tmp_path):
    train(tiny_config(tmp_path, epochs=1, d_dropout=0.2))
    resumed = dict(out=str(tmp_path / "run"), resume=True, epochs=2, progress=False)
    assert train(TrainConfig(**resumed, d_dropout=0.2)).epoch == 2
    with pytest.raises(ConfigError, match="checkpoint's g_batch_norm is True, not False"):
        train(TrainConfig(**dict(resumed, epochs=3), g_norm="none"))


def test_a_checkpoint_from_before_the_new_defaults_resumes_with_its_plain_networks(tmp_path):
    # older runs saved model_options without g_batch_norm: the builder's default (none) applies
    train(tiny_config(tmp_path, epochs=1, g_norm="none"))
    path = tmp_path / "run" / "checkpoint.npz"
    with numpy.load(path) as archive:
        contents = {key: archive[key] for key in archive.files}
    meta = json.loads(str(contents["meta"]))
    del meta["config"]["model_options"]["g_batch_norm"]
    numpy.savez(path, **dict(contents, meta=numpy.array(json.dumps(meta))))
    resumed = dict(out=str(tmp_path / "run"), resume=True, epochs=2, progress=False)
    result = train(TrainConfig(**resumed, g_norm="none"))
    assert result.epoch == 2 and "g_batch_norm" not in result.config.model_options
    with pytest.raises(ConfigError, match="checkpoint's g_batch_norm is False, not True"):
        train(TrainConfig(**dict(resumed, epochs=3), g_norm="batch"))
