"""The command line: scratchgan mnist / sample / evaluate, and its one-line errors."""
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import numpy
import pytest
from PIL import Image

from scratchgan import backend as B
from scratchgan.cli.main import main
from scratchgan.run import load_checkpoint, sample_images
from scratchgan.trainer import GANTrainer

ROOT = Path(__file__).resolve().parent.parent
QUICK = ["--limit", "64", "--batch-size", "16", "--no-progress"]  # 4 steps per epoch


def run_mnist(out, *args):
    return main(["mnist", *QUICK, "--out", str(out), *args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One quick mlp run shared by the sample tests and the wrong-model resume test."""
    out = tmp_path_factory.mktemp("cli") / "mlp"
    assert run_mnist(out, "--epochs", "1") == 0
    return out


def assert_one_line_error(capsys, status, expected_status=2, match=None):
    err = capsys.readouterr().err
    assert status == expected_status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scratchgan: error: "), err
    assert "Traceback" not in err
    if match:
        assert match in lines[0], lines[0]


# -- what works --

def test_train_writes_outputs_and_says_done(trained, capsys):
    assert {p.name for p in trained.iterdir()} >= {"checkpoint.npz", "metrics.csv", "progress.gif",
                                                   "samples"}
    assert (trained / "samples" / "epoch_001.png").is_file()


def test_sample_writes_a_png_grid(trained, tmp_path, capsys):
    out = tmp_path / "digits.png"
    assert main(["sample", "--checkpoint", str(trained / "checkpoint.npz"), "--n", "10",
                 "--out", str(out)]) == 0
    assert f"wrote 10 samples to {out}" in capsys.readouterr().out
    image = Image.open(out)
    assert image.mode == "L" and image.size == (4 * 30 + 2, 3 * 30 + 2)  # 4 per row, 3 rows


def test_sample_writes_float32_npy_in_range(trained, tmp_path):
    out = tmp_path / "digits.npy"
    assert main(["sample", "--checkpoint", str(trained / "checkpoint.npz"), "--n", "12",
                 "--seed", "3", "--out", str(out)]) == 0
    samples = numpy.load(out)
    assert samples.shape == (12, 1, 28, 28) and samples.dtype == numpy.float32
    assert -1 <= samples.min() and samples.max() <= 1 and samples.std() > 0
    numpy.testing.assert_array_equal(samples, sample_images(trained / "checkpoint.npz", 12, seed=3))
    assert not numpy.array_equal(samples, sample_images(trained / "checkpoint.npz", 12, seed=4))


def test_sample_reads_back_the_trained_generator(trained):
    """The saved generator, not a fresh one: its samples differ from an untrained G's."""
    from scratchgan.run import build_models
    from scratchgan.trainer import generate_images
    fresh, _ = build_models("mlp", 100, seed=0)
    z = numpy.random.default_rng(0).standard_normal((4, 100), dtype=numpy.float32)
    assert not numpy.allclose(generate_images(fresh, z),
                              sample_images(trained / "checkpoint.npz", 4, seed=0))


def test_resume_continues_up_to_the_total_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_mnist(out, "--max-steps", "2") == 0
    assert "--max-steps 2 reached" in capsys.readouterr().out
    assert run_mnist(out, "--resume", "--epochs", "2") == 0
    printed = capsys.readouterr().out
    assert "resuming mlp" in printed and "up to 2 epochs in total" in printed
    meta = load_checkpoint(out / "checkpoint.npz").meta
    assert (meta["epoch"], meta["step"]) == (2, 8)


def test_ctrl_c_saves_says_so_and_exits_130(tmp_path, monkeypatch, capsys):
    step = GANTrainer.train_step
    calls = []

    def step_then_ctrl_c(self, real, update_generator=True, labels=None):
        calls.append(1)
        stats = step(self, real, update_generator, labels)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)
        return stats

    monkeypatch.setattr(GANTrainer, "train_step", step_then_ctrl_c)
    assert run_mnist(tmp_path / "run", "--epochs", "5") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "checkpoint saved" in err and "Traceback" not in err
    assert load_checkpoint(tmp_path / "run" / "checkpoint.npz").meta["step"] == 3


def test_diverging_run_exits_1_with_one_line(tmp_path, capsys):
    status = run_mnist(tmp_path / "run", "--lr-d", "1e30", "--lr-g", "1e30", "--epochs", "3")
    assert_one_line_error(capsys, status, expected_status=1, match="is not finite")


def test_python_dash_m_entry_points(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in (["-m", "scratchgan.mnist", "--help"], ["-m", "scratchgan", "mnist", "--help"]):
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env,
                              cwd=tmp_path)
        assert done.returncode == 0 and "--eval-every" in done.stdout and "--minutes" in done.stdout


def test_evaluate_is_dispatched_lazily(monkeypatch):
    seen = []
    monkeypatch.setitem(sys.modules, "scratchgan.cli.evaluate",
                        types.SimpleNamespace(main=lambda argv: seen.append(argv) or 0))
    assert main(["evaluate", "--checkpoint", "x.npz"]) == 0
    assert seen == [["--checkpoint", "x.npz"]]


# -- bad input: one line on stderr, exit 2, nothing saved lost --

def write_corrupt_mnist(folder):
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(b"this is not an idx file")
    (folder / "train-labels-idx1-ubyte").write_bytes(b"nor is this")
    return folder


@pytest.mark.parametrize("case", ["unknown model", "unknown backend", "missing data",
                                  "corrupt data", "unwritable out", "zero epochs",
                                  "unknown command", "resume nothing"])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = ["--out", str(tmp_path / "run")]
    argv = {
        "unknown model": ["mnist", "--model", "gan", *out],
        "unknown backend": ["mnist", "--backend", "tpu", *out],
        "missing data": ["mnist", "--data", str(tmp_path / "nowhere"), *out],
        "corrupt data": ["mnist", "--data", str(write_corrupt_mnist(tmp_path / "bad")), *out],
        "unwritable out": ["mnist", "--out", str(blocker / "run")],
        "zero epochs": ["mnist", "--epochs", "0", *out],
        "unknown command": ["train", *out],
        "resume nothing": ["mnist", "--resume", *out],
    }[case]
    match = {"unknown model": "invalid choice", "missing data": "nowhere",
             "corrupt data": "magic number", "unwritable out": "cannot write",
             "resume nothing": "no checkpoint to resume"}.get(case)
    assert_one_line_error(capsys, main(argv), match=match)


def test_resume_with_another_model_refuses_and_keeps_the_checkpoint(trained, capsys):
    before = (trained / "checkpoint.npz").read_bytes()
    assert_one_line_error(capsys, run_mnist(trained, "--model", "dcgan", "--resume"),
                          match="holds a mlp model")
    assert_one_line_error(capsys, run_mnist(trained), match="already holds a checkpoint")
    assert (trained / "checkpoint.npz").read_bytes() == before


def test_sample_errors(tmp_path, trained, capsys):
    assert_one_line_error(capsys, main(["sample", "--checkpoint", str(tmp_path / "none.npz"),
                                        "--out", str(tmp_path / "x.png")]),
                          match="no such checkpoint")
    broken = tmp_path / "broken.npz"
    broken.write_bytes((trained / "checkpoint.npz").read_bytes()[:5000])
    assert_one_line_error(capsys, main(["sample", "--checkpoint", str(broken), "--out",
                                        str(tmp_path / "x.png")]),
                          match="broken.npz")
    assert_one_line_error(capsys, main(["sample", "--checkpoint", str(trained / "checkpoint.npz"),
                                        "--out", str(tmp_path / "x.txt")]), match=".png or .npy")
    assert not (tmp_path / "x.png").exists()
    not_an_archive = tmp_path / "notes.npz"
    not_an_archive.write_text("not a checkpoint")
    assert_one_line_error(capsys, main(["sample", "--checkpoint", str(not_an_archive), "--out",
                                        str(tmp_path / "x.png")]),
                          match="not a readable checkpoint")
    assert_one_line_error(capsys, main(["sample", "--checkpoint", str(trained / "checkpoint.npz"),
                                        "--out", str(tmp_path / "missing" / "x.png")]),
                          match=str(tmp_path / "missing"))


@pytest.mark.parametrize("args, match", [
    (["--lr-g", "-1"], "lr-g must be positive"),
    (["--lr-d", "0"], "lr-d must be positive"),
    (["--beta1", "1"], "beta1 must be in [0, 1)"),
    (["--beta2", "-0.1"], "beta2 must be in [0, 1)"),
])
def test_bad_optimizer_settings_are_refused(args, match, tmp_path, capsys):
    assert_one_line_error(capsys, run_mnist(tmp_path / "run", *args), match=match)
    assert not (tmp_path / "run" / "checkpoint.npz").exists()


def test_threads_are_set_or_refused(tmp_path, capsys):
    before = B.get_num_threads()
    try:
        assert run_mnist(tmp_path / "one", "--threads", "1", "--max-steps", "1") == 0
        assert B.get_num_threads() == 1
    finally:
        B.set_num_threads(before)
    capsys.readouterr()
    assert_one_line_error(capsys, run_mnist(tmp_path / "none", "--threads", "0"),
                          match="threads must be at least 1")


def test_cupy_without_a_gpu_is_one_line(tmp_path, capsys):
    try:
        B.get_backend("cupy")
    except B.BackendError:
        pass
    else:
        pytest.skip("CuPy and a GPU are available here")
    assert_one_line_error(capsys, run_mnist(tmp_path / "run", "--backend", "cupy"), match="cupy")
    assert not (tmp_path / "run").exists()  # failed before creating anything


@pytest.mark.parametrize("command, match", [
    (["-m", "scratchgan.mnist", "--model", "gan"], "invalid choice"),
    (["-m", "scratchgan", "mnist", "--data", "does/not/exist", "--out", "run"], "no such folder"),
    (["-m", "scratchgan", "sample", "--checkpoint", "missing.npz", "--out", "x.png"],
     "no such checkpoint"),
])
def test_subprocess_errors_have_no_traceback(command, match, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert (len(lines) == 1 and lines[0].startswith("scratchgan: error: ")
            and match in lines[0]), done.stderr
