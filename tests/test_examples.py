"""The example programs (examples/): each runs to the end as a script, and writes its images.

Each program runs as a subprocess in its own temporary directory, two batches of eight images
an epoch (SCRATCHGAN_EXAMPLE_BATCHES, SCRATCHGAN_EXAMPLE_BATCH_SIZE), with small option values
where the program has options. The images it saves must be PNG files of the size torchvision's
make_grid gives: ``rows * (side + padding) + padding`` by ``columns * (side + padding) +
padding``. dcgan_main.py runs a second time from its checkpoints. The WGAN-GP program's
``compute_gradient_penalty`` is also run in-process on the strict fake device
(tests/fake_device.py) and checked against the formula.

Each of the six programs also runs a few steps in-process (runpy) with the strict fake device
standing in for CuPy: registered under the name "cupy", it is what ``torch.cuda.is_available()``,
``torch.device("cuda:0")``, ``.cuda()`` and ``torch.cuda.FloatTensor`` reach, so a stray NumPy
call on a device array, in scratchgan or in the example, fails there as it would on a GPU.
"""
import ast
import math
import os
import random
import runpy
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
from fake_device import FAKE, FakeArray
from PIL import Image

import scratchgan as torch
import scratchgan.autograd as autograd
import scratchgan.nn as nn
from scratchgan import backend as B
from scratchgan.autograd import Variable

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BATCH = 8


def run_example(name, cwd, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), SCRATCHGAN_EXAMPLE_BATCHES="2",
               SCRATCHGAN_EXAMPLE_BATCH_SIZE=str(BATCH), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def grid_size(count, side, nrow=8, padding=2):
    """(width, height) of torchvision's make_grid of ``count`` square images."""
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    return columns * (side + padding) + padding, rows * (side + padding) + padding


def assert_png(path, size=None):
    assert path.is_file(), f"{path.name} was not written"
    with Image.open(path) as image:
        assert image.format == "PNG"
        if size is not None:
            assert image.size == size, f"{path.name} is {image.size}, expected {size}"
        image.load()  # the whole file decodes


def test_dcgan_tutorial(tmp_path):
    out = run_example("dcgan_tutorial.py", tmp_path)
    assert "Generator(" in out and "ConvTranspose2d(100, 512" in out and "Loss_D" in out
    for name in ("training_images.png", "losses.png", "real_vs_fake.png"):
        assert_png(tmp_path / name)
    assert_png(tmp_path / "fake_grid.png", grid_size(64, 64))  # G(fixed_noise): 64 images
    assert "<script" in (tmp_path / "animation.html").read_text()


def test_dcgan_main_and_resume(tmp_path):
    small = ["--batchSize", BATCH, "--ngf", 16, "--ndf", 16, "--nz", 20, "--niter", 1,
             "--manualSeed", 3]
    run_example("dcgan_main.py", tmp_path, *small, "--outf", "first")
    first = tmp_path / "first"
    assert_png(first / "real_samples.png", grid_size(BATCH, 64))
    assert_png(first / "fake_samples_epoch_000.png", grid_size(BATCH, 64))
    # Resume from the checkpoints; with lr 0 the weights must come back unchanged.
    run_example("dcgan_main.py", tmp_path, *small, "--outf", "second", "--lr", 0,
                "--netG", first / "netG_epoch_0.pth", "--netD", first / "netD_epoch_0.pth")
    second = tmp_path / "second"
    assert_png(second / "fake_samples_epoch_000.png", grid_size(BATCH, 64))
    for net in ("netG", "netD"):
        before = torch.load(first / f"{net}_epoch_0.pth")
        after = torch.load(second / f"{net}_epoch_0.pth")
        assert before.keys() == after.keys()
        weights = [k for k in before if k.endswith("weight")]
        assert weights
        for key in weights:
            numpy.testing.assert_array_equal(numpy.asarray(after[key]), numpy.asarray(before[key]))


@pytest.mark.parametrize("name, side, count, nrow", [
    ("gan.py", 28, BATCH, 5),
    ("dcgan.py", 32, BATCH, 5),
    ("cgan.py", 32, 100, 10),  # sample_image: ten rows of the classes 0..9
])
def test_pytorch_gan_programs(tmp_path, name, side, count, nrow):
    run_example(name, tmp_path, "--n_epochs", 1, "--batch_size", BATCH, "--sample_interval", 1)
    for batches_done in (0, 1):
        assert_png(tmp_path / "images" / f"{batches_done}.png", grid_size(count, side, nrow))


def test_wgan_gp_program(tmp_path):
    # Two batches an epoch, a generator step every second one: samples at 0 and 2 only.
    run_example("wgan_gp.py", tmp_path, "--n_epochs", 2, "--batch_size", BATCH,
                "--n_critic", 2, "--sample_interval", 2)
    images = tmp_path / "images"
    assert sorted(p.name for p in images.iterdir()) == ["0.png", "2.png"]
    for path in images.iterdir():
        assert_png(path, grid_size(BATCH, 28, 5))


# -- compute_gradient_penalty, as wgan_gp.py defines it, on the fake device --

def gradient_penalty_function(tensor_factory):
    """wgan_gp.py's compute_gradient_penalty, compiled from the file with the program's imports
    (not its training) and with ``Tensor`` making tensors where ``tensor_factory`` puts them."""
    tree = ast.parse((EXAMPLES / "wgan_gp.py").read_text())
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               and getattr(node, "module", None) != "mnist_loader"]
    wanted = imports + [node for node in tree.body if isinstance(node, ast.FunctionDef)
                        and node.name == "compute_gradient_penalty"]
    assert any(isinstance(node, ast.FunctionDef) for node in wanted)
    namespace = {"Tensor": tensor_factory}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "wgan_gp.py", "exec"), namespace)
    return namespace["compute_gradient_penalty"]


def fake_tensor(*args):
    """torch.FloatTensor's two forms, on the fake device."""
    if len(args) == 1 and not isinstance(args[0], int):
        return torch.tensor(args[0], dtype=torch.float32, device="fake")
    return torch.zeros(*args, device="fake")


class Quadratic(nn.Module):
    """D(x) = c * sum(x^2) per image, whose gradient is 2c x."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return (x * x).view(x.size(0), -1).sum(1, keepdim=True) * self.c


def on_fake(array):
    assert B.backend_of(array.array).name == "fake"
    return FAKE.to_numpy(array.array)


def test_gradient_penalty_on_fake_device():
    B.use_backend("fake")
    penalty_of = gradient_penalty_function(fake_tensor)
    rng = numpy.random.default_rng(5)
    real = fake_tensor(rng.standard_normal((4, 1, 3, 3)))
    fake = fake_tensor(rng.standard_normal((4, 1, 3, 3)))

    # A linear critic has the gradient w at every point: the penalty is (|w| - 1)^2, and its
    # gradient with respect to w (through create_graph) is 2 (|w| - 1) w / |w|.
    critic = nn.Sequential(nn.Flatten(), nn.Linear(9, 1))
    weight = critic[1].weight
    assert B.backend_of(weight.array).name == "fake"
    penalty = penalty_of(critic, real, fake)
    w = on_fake(weight).ravel().astype(numpy.float64)
    norm = numpy.linalg.norm(w)
    numpy.testing.assert_allclose(on_fake(penalty), (norm - 1) ** 2, rtol=1e-5)
    penalty.backward()
    numpy.testing.assert_allclose(on_fake(weight.grad).ravel(), 2 * (norm - 1) * w / norm,
                                  rtol=1e-4, atol=1e-6)

    # D(x) = c |x|^2 checks the interpolation too: x = a real + (1 - a) fake, with the
    # program's draws of a from NumPy's global generator.
    c = 0.3
    numpy.random.seed(11)
    penalty = penalty_of(Quadratic(c), real, fake)
    numpy.random.seed(11)
    alpha = numpy.random.random((4, 1, 1, 1))
    x = alpha * on_fake(real) + (1 - alpha) * on_fake(fake)
    expected = numpy.mean((2 * c * numpy.linalg.norm(x.reshape(4, -1), axis=1) - 1) ** 2)
    numpy.testing.assert_allclose(on_fake(penalty), expected, rtol=1e-5)

    # The same idioms once more by hand: autograd.grad's gradient is 2c x.
    points = Variable(fake_tensor(x), requires_grad=True)
    ones = Variable(fake_tensor(4, 1).fill_(1.0), requires_grad=False)
    grads = autograd.grad(outputs=Quadratic(c)(points), inputs=points, grad_outputs=ones)[0]
    numpy.testing.assert_allclose(on_fake(grads), 2 * c * x, rtol=1e-5, atol=1e-6)


# -- the six programs in-process, with the fake device standing in for CuPy --

EXAMPLE_MODULES = ("mnist_loader", "ipython_display", "show_to_png")  # examples/'s own imports


@pytest.fixture
def fake_cuda(monkeypatch, tmp_path):
    """The fake device as "cupy" (so as "cuda"), the examples' folder importable, a short run
    (two batches of eight) in tmp_path, matplotlib on Agg; returns a runner of one program."""
    monkeypatch.setitem(B._backends, "cupy", FAKE)
    assert torch.cuda.is_available() and B.get_backend("cuda:0") is FAKE
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    for name, value in (("SCRATCHGAN_EXAMPLE_BATCHES", "2"),
                        ("SCRATCHGAN_EXAMPLE_BATCH_SIZE", str(BATCH)), ("MPLBACKEND", "Agg")):
        monkeypatch.setenv(name, value)
    for name in EXAMPLE_MODULES:  # imported afresh from examples/, and forgotten afterwards
        monkeypatch.delitem(sys.modules, name, raising=False)
    # What the programs set for the whole process: cudnn.benchmark, deterministic algorithms,
    # and seeds of NumPy's and Python's global generators.
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)
    deterministic = torch.are_deterministic_algorithms_enabled()
    states = numpy.random.get_state(), random.getstate()

    def run(name, *args):
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *map(str, args)])
        return runpy.run_path(str(EXAMPLES / name), run_name="__main__")

    yield run
    torch.use_deterministic_algorithms(deterministic)
    numpy.random.set_state(states[0])
    random.setstate(states[1])
    for name in EXAMPLE_MODULES:
        sys.modules.pop(name, None)


def assert_on_fake(*modules):
    """Every parameter and buffer of the program's modules lives on the fake device."""
    for module in modules:
        arrays = [p.array for p in module.parameters()]
        arrays += [getattr(b, "array", b) for _, b in module.named_buffers()]
        assert arrays
        for array in arrays:
            assert B.backend_of(array) is FAKE and isinstance(array, FakeArray), \
                f"{type(module).__name__} holds a {type(array).__name__}, not a fake device array"


@pytest.mark.parametrize("name, side, count, nrow, options", [
    ("gan.py", 28, BATCH, 5, ()),
    ("dcgan.py", 32, BATCH, 5, ()),
    ("cgan.py", 32, 100, 10, ()),
    ("wgan_gp.py", 28, BATCH, 5, ("--n_critic", 1)),  # a generator step, so a sample, each batch
])
def test_pytorch_gan_programs_on_fake_cuda(fake_cuda, tmp_path, name, side, count, nrow,
                                           options):
    done = fake_cuda(name, "--n_epochs", 1, "--batch_size", BATCH, "--sample_interval", 1,
                     *options)
    assert done["cuda"] is True
    assert_on_fake(done["generator"], done["discriminator"])
    for batches_done in (0, 1):
        assert_png(tmp_path / "images" / f"{batches_done}.png", grid_size(count, side, nrow))


def test_dcgan_main_on_fake_cuda(fake_cuda, tmp_path):
    done = fake_cuda("dcgan_main.py", "--cuda", "--batchSize", BATCH, "--ngf", 8, "--ndf", 8,
                     "--nz", 10, "--niter", 1, "--manualSeed", 3, "--outf", "out")
    assert done["device"].type == "cuda"
    assert_on_fake(done["netG"], done["netD"])
    assert isinstance(done["fixed_noise"].array, FakeArray)
    assert_png(tmp_path / "out" / "real_samples.png", grid_size(BATCH, 64))
    assert_png(tmp_path / "out" / "fake_samples_epoch_000.png", grid_size(BATCH, 64))
    assert (tmp_path / "out" / "netG_epoch_0.pth").is_file()


def test_dcgan_tutorial_on_fake_cuda(fake_cuda, tmp_path):
    import matplotlib  # noqa: PLC0415  (only this program draws figures)
    matplotlib.use("Agg")  # MPLBACKEND is too late if another test imported matplotlib first
    done = fake_cuda("dcgan_tutorial.py")
    assert done["device"].type == "cuda"
    assert_on_fake(done["netG"], done["netD"])
    for name in ("training_images.png", "losses.png", "real_vs_fake.png"):
        assert_png(tmp_path / name)
    assert_png(tmp_path / "fake_grid.png", grid_size(64, 64))
