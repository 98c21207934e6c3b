"""The moving average of G's weights (--ema): its update rule, and that runs save, resume and
sample from it."""
import copy

import numpy
import pytest

import scratchgan as sg
from scratchgan import backend as B, models
from scratchgan.cli.main import main
from scratchgan.run import load_checkpoint, sample_images
from scratchgan.run.config import noise
from scratchgan.trainer import GANTrainer, MovingAverage

QUICK = ["--limit", "64", "--batch-size", "16", "--no-progress"]  # 4 steps an epoch


def test_the_average_follows_g_after_a_warm_up():
    G, _ = models.build("dcgan", latent_dim=8)
    average = MovingAverage(G, decay=0.999)
    start = [p.array.copy() for p in average.module.parameters()]
    for p in G.parameters():
        p.array += 1.0
    average.update(G)
    beta = 2 / 11  # min(0.999, (1 + t)/(10 + t)) at t = 1
    for avg, s, w in zip(average.module.parameters(), start, G.parameters()):
        numpy.testing.assert_allclose(avg.array, beta * s + (1 - beta) * w.array, rtol=1e-6)
    assert not any(p.requires_grad for p in average.module.parameters())
    with pytest.raises(ValueError, match="decay"):
        MovingAverage(G, decay=1.0)


def test_the_average_measures_its_own_batch_norm_statistics_on_fixed_noise():
    sg.seed(0)
    G, _ = models.build("dcgan", latent_dim=8, g_channels=(8, 4, 2))
    average = MovingAverage(G, decay=0.9, latent_dim=8)
    for p in G.parameters():
        p.array += 0.1
    average.update(G)
    rng_state = B.get_backend("numpy").get_rng_state()
    module = average.ready()
    assert module is average.module and module.training  # left in the mode it was found in
    dense, norm = module.net[0], module.net[1]
    assert norm.momentum == 0.1 and int(norm.num_batches_tracked.array) == 1
    # the plain average of ten batches of 256: the mean of Dense(z) over all 2,560 z
    z = numpy.random.default_rng([1, 2, 3]).standard_normal((2560, 8), dtype=numpy.float32)
    numpy.testing.assert_allclose(norm.running_mean.array, (z @ dense.weight.array.T).mean(0),
                                  rtol=1e-4, atol=1e-6)
    assert not numpy.allclose(norm.running_mean.array, G.net[1].running_mean.array)
    # not the latents that evaluate and sample draw with their default seed
    assert not numpy.allclose(z[:8], noise(8, 8, 0))
    # eval mode now draws what train mode draws on a batch of the same noise
    with sg.no_grad():
        batch = copy.deepcopy(module)(sg.tensor(z)).numpy()
        measured = module.eval()(sg.tensor(z)).numpy()
    assert numpy.abs(measured - batch).max() < 0.02
    assert average.ready() is module and int(norm.num_batches_tracked.array) == 1  # cached
    before = norm.running_mean.array.copy()
    for p in G.parameters():
        p.array += 0.1
    average.update(G)
    average.ready()  # new weights: measured again
    assert not numpy.allclose(before, norm.running_mean.array)
    assert str(B.get_backend("numpy").get_rng_state()) == str(rng_state)  # training's z untouched


def test_the_trainer_samples_from_the_average():
    G, D = models.build("mlp", latent_dim=8, g_hidden=(16,), d_hidden=(16,))
    trainer = GANTrainer(G, D, latent_dim=8, ema=0.9)
    batch = numpy.random.default_rng(0).uniform(-1, 1, (8, 1, 28, 28)).astype(numpy.float32)
    for _ in range(3):
        trainer.train_step(batch)
    z = numpy.random.default_rng(1).standard_normal((4, 8), dtype=numpy.float32)
    assert trainer.sampler is trainer.average.module and trainer.average.updates == 3
    assert not numpy.allclose(trainer.generate(z), trainer.generate(z, raw=True))


def test_a_run_with_ema_saves_resumes_and_samples_it(tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main(["mnist", *QUICK, "--ema", "0.99", "--epochs", "2", "--out", str(whole)]) == 0
    assert main(["mnist", *QUICK, "--ema", "0.99", "--max-steps", "3", "--out", str(parts)]) == 0
    assert main(["mnist", *QUICK, "--resume", "--epochs", "2", "--out", str(parts)]) == 0
    a, b = load_checkpoint(whole / "checkpoint.npz"), load_checkpoint(parts / "checkpoint.npz")
    assert a.meta["ema_updates"] == b.meta["ema_updates"] == 8
    for name in ("generator", "generator_ema"):
        for key, value in a.module_state(name).items():
            numpy.testing.assert_array_equal(value, b.module_state(name)[key])
    averaged = sample_images(whole / "checkpoint.npz", 4)
    raw = sample_images(whole / "checkpoint.npz", 4, raw=True)
    assert not numpy.allclose(averaged, raw)
    out = tmp_path / "raw.npy"
    assert main(["sample", "--checkpoint", str(whole / "checkpoint.npz"), "--n", "4", "--raw-g",
                 "--out", str(out)]) == 0
    numpy.testing.assert_array_equal(numpy.load(out), raw)
    capsys.readouterr()
    status = main(["mnist", *QUICK, "--resume", "--ema", "0.9", "--epochs", "3", "--out",
                   str(whole)])
    err = capsys.readouterr().err
    assert status == 2 and "the checkpoint's ema is 0.99, not 0.9" in err, err


@pytest.mark.parametrize("decay", ["1", "-0.5"])
def test_a_bad_decay_is_one_line(tmp_path, capsys, decay):
    assert main(["mnist", *QUICK, "--ema", decay, "--out", str(tmp_path)]) == 2
    assert "ema must be in [0, 1)" in capsys.readouterr().err
