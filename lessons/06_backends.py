"""Lesson 06: one code base, two array libraries - NumPy on the CPU, CuPy on an NVIDIA GPU.

CuPy copies NumPy's API: ``cupy.exp``, ``cupy.matmul``, the same methods on its arrays. So an op
written as ``xp = B.xp_of(x); xp.exp(x)`` runs on whichever library owns ``x``. Only
``scratchgan/backend/`` knows the difference (and only ``backend/gpu.py`` imports cupy); the rest
of the library asks it:

  * ``B.xp_of(array)``: the array module of the backend that owns ``array`` (found by its type);
    ``B.xp``: the active one's. The data decides where an op runs, not a global switch.
  * ``scratchgan.use_backend("cupy")``: new tensors and parameters are created on the GPU from
    now on (``SCRATCHGAN_BACKEND=cupy`` makes the same switch when scratchgan is imported).
  * ``tensor.to("cupy")`` / ``module.to("cupy")``: move existing data ("numpy" moves it back;
    PyTorch's "cuda" and "cpu" are accepted too). ``.numpy()`` always hands back a host copy.

CuPy is loaded on the first request. Without CuPy or a GPU that request raises
``scratchgan.BackendError`` with a one-line reason; this lesson then shows everything that does
not need the GPU itself, which is nearly all of it.

Why may nothing in the library call ``numpy.something`` on a data array? A CuPy array lives in
GPU memory. ``numpy.exp(gpu_array)`` would have to copy it to the host, and CuPy refuses with a
TypeError rather than do that silently (a silent copy per op would make the GPU slower than the
CPU). On a machine without a GPU such a slip is invisible: on NumPy arrays ``numpy.exp`` and
``xp.exp`` are the same function. So the project's tests run every op, layer and optimizer on a
*fake device* (tests/fake_device.py): NumPy arrays in a wrapper that refuses NumPy exactly as
CuPy does. A stray numpy call fails in CI, on a laptop, with no GPU anywhere. We build that trick
in ten lines, then use the project's complete fake to move a network with ``module.to``.

Last, speed: the figure times one big matrix product on NumPy with 1, 2, ... CPU threads, and on
the GPU when there is one, where the same small network is also run on both and compared.

Builds on: lessons 03 (forward on raw arrays through ``B.xp_of``) and 04 (convolutions).

Run:  python lessons/06_backends.py [--out /tmp/scratchgan_lessons/06] [--size 1024]
"""
# %%
import argparse
import copy
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import scratchgan as sg
from scratchgan import backend as B
from scratchgan import nn

QUICK = os.environ.get("SCRATCHGAN_LESSON_QUICK") == "1"
parser = argparse.ArgumentParser(description="Lesson 06: NumPy and CuPy backends")
parser.add_argument("--out", default="/tmp/scratchgan_lessons/06", help="folder for the figure")
parser.add_argument("--quick", action="store_true", help="a small matrix, timed once (for tests)")
parser.add_argument("--size", type=int, default=1024, help="the timed matrix product: n×n @ n×n")
args = parser.parse_args([])  # in a notebook: the defaults
if __name__ == "__main__" and "ipykernel" not in sys.modules:
    args = parser.parse_args()  # from the command line: the flags
QUICK = QUICK or args.quick
SIZE, REPEATS = (256, 2) if QUICK else (args.size, 5)
OUT = Path(args.out)
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Which backend is active, and who owns an array
# At import scratchgan activates NumPy, unless SCRATCHGAN_BACKEND names another. The backend
# that owns an array is found by the array's type (B.backend_of); `tensor.device` says the same
# in PyTorch's words: "cpu" is NumPy, "cuda" is CuPy.

# %%


def owner(t):
    """The name of the backend that owns tensor t's array: "numpy", "cupy", ..."""
    return B.backend_of(t.array).name


print(f"active backend: {sg.get_backend()} "
      f"(SCRATCHGAN_BACKEND={os.environ.get('SCRATCHGAN_BACKEND', '<unset>')})")
sg.use_backend("numpy")  # the lesson starts from NumPy, whatever the variable says
x = sg.tensor([1.0, 2.0, 3.0])
print(f"a new tensor lives on {owner(x)!r} (x.device: {x.device}); its array is a "
      f"{type(x.array).__module__}.{type(x.array).__name__}; "
      f"B.xp_of(x.array) is {B.xp_of(x.array).__name__}")
assert sg.get_backend().name == "numpy" and B.xp is np and B.xp_of(x.array) is np
assert owner(x) == "numpy" and x.device == "cpu"
assert B.backend_of(np.zeros(2)) is sg.get_backend("cpu")  # PyTorch's name for the same

# %% [markdown]
# ## Asking for the GPU
# get_backend("cupy") loads CuPy and asks CUDA for a device; it switches nothing. use_backend
# switches, or raises and leaves the active backend as it was.

# %%
try:
    GPU = sg.get_backend("cupy")
    NO_GPU_REASON = None
    print(f"CuPy and a GPU are here: {GPU}")
except sg.BackendError as error:
    GPU, NO_GPU_REASON = None, str(error)
    print(f"no GPU backend on this machine: {NO_GPU_REASON}")

try:
    sg.use_backend("cupy")
    on_gpu = sg.tensor([1.0, 2.0, 3.0])
    print(f"after use_backend('cupy') a new tensor lives on {owner(on_gpu)!r} "
          f"(device {on_gpu.device})")
    assert owner(on_gpu) == "cupy"
except sg.BackendError as error:
    print(f"use_backend('cupy') refused ({type(error).__name__}); the active backend is still "
          f"{sg.get_backend().name!r}")
    assert GPU is None and sg.get_backend().name == "numpy"
finally:
    sg.use_backend("numpy")  # the rest of the lesson says explicitly where data goes

# %% [markdown]
# ## The environment variable
# SCRATCHGAN_BACKEND is read once, when scratchgan is imported, so we try it in fresh processes.
# Asking for a backend the machine lacks stops the import with the same one-line reason.

# %%
probe = "import scratchgan as sg; print(sg.get_backend().name)"
for value in ("numpy", "cupy"):
    env = dict(os.environ, SCRATCHGAN_BACKEND=value)
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    answer = run.stdout.strip() or run.stderr.strip().splitlines()[-1]
    print(f"SCRATCHGAN_BACKEND={value}: {answer}")
    if value == "numpy" or GPU is not None:
        assert run.returncode == 0 and answer == value
    else:
        assert run.returncode != 0 and "BackendError" in answer

# %% [markdown]
# ## Write it once with xp, or break it on the GPU
# Softplus, log(1 + eˣ), twice: once through the owner's array module, once through numpy. On
# NumPy arrays the two are the same function - a test on a laptop cannot tell them apart.

# %%


def softplus(a):
    xp = B.xp_of(a)  # numpy for a NumPy array, cupy for a CuPy one
    return xp.logaddexp(0.0, a)


def softplus_leaky(a):
    return np.logaddexp(0.0, a)  # numpy, whatever owns a: the bug this lesson is about


host = np.linspace(-3, 3, 7, dtype=np.float32)
same = np.array_equal(softplus(host), softplus_leaky(host))
print(f"on NumPy arrays, softplus and softplus_leaky give identical results: {same}")
assert same

# %% [markdown]
# ## A device that refuses NumPy, in ten lines
# NumPy lets other array types take over its functions through three hooks; setting them to
# refuse is all it takes to behave like CuPy's arrays. `__array_ufunc__ = None` makes every
# ufunc (numpy.exp, numpy.logaddexp, host + device) raise; `__array_function__` catches the other
# numpy functions (concatenate, pad, ...); `__array__` blocks numpy.asarray. Registered as a
# backend, its arrays get their own array module from B.xp_of.

# %%


class StrictArray:
    """A NumPy array behind CuPy's wall: numpy functions refuse it."""

    __array_ufunc__ = None

    def __init__(self, array):
        self.array = array

    def __array_function__(self, func, types_, args_, kwargs):
        raise TypeError(f"numpy.{func.__name__} was called on a device array")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("a device array cannot become a NumPy array implicitly")


strict_xp = types.SimpleNamespace(  # the device's array module: what cupy is to CuPy
    asarray=lambda a: StrictArray(np.array(a)),
    logaddexp=lambda a, b: StrictArray(np.logaddexp(getattr(a, "array", a), b.array)))
B.register_backend(B.Backend("strict", strict_xp, StrictArray))

device_array = strict_xp.asarray(host)
good = softplus(device_array)  # xp_of finds strict_xp: works
print(f"strict device, softplus (xp):   {type(good).__name__}, "
      f"equal to NumPy's: {np.array_equal(good.array, softplus(host))}")
assert isinstance(good, StrictArray) and np.array_equal(good.array, softplus(host))
caught = None
try:
    softplus_leaky(device_array)
except TypeError as error:
    caught = error
    print(f"strict device, softplus_leaky:  TypeError: {error}")
assert caught is not None, "numpy.logaddexp on a strict array should have raised"
for call in (lambda: np.asarray(device_array), lambda: np.concatenate([device_array])):
    try:
        call()
        raise AssertionError("numpy accepted a strict device array")
    except TypeError:
        pass

# %% [markdown]
# ## The project's fake device
# tests/fake_device.py is the same idea made complete: every array function the library's ops
# use, indexing, in-place arithmetic, strided views, random draws, and a FakeBackend registered as
# "fake". tests/test_backend.py runs every op (forward, backward, second order), every layer and
# every optimizer step on it and compares with NumPy; test_fake_catches_a_stray_numpy_call is our
# softplus_leaky as an op. It needs the repository's tests/ folder and pytest
# (`pip install -e ".[test]"`); without them this cell says so and the next one skips.

# %%
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
tests_dir = next((p / "tests" for p in (here, *here.parents)
                  if (p / "tests" / "fake_device.py").is_file()), None)
fake_device, NO_FAKE_REASON = None, None
if tests_dir is None:
    NO_FAKE_REASON = "tests/fake_device.py is not here (not run from a repository checkout)"
else:
    sys.path.insert(0, str(tests_dir))
    try:
        import fake_device  # noqa: E402  (registers the backend "fake")
    except ImportError as error:
        NO_FAKE_REASON = f"tests/fake_device.py needs pytest ({error})"
print(f"fake device: {NO_FAKE_REASON or 'tests/fake_device.py loaded, backend ' + repr('fake')}")


class NumpyExp(sg.Function):
    def forward(self, a):
        return np.exp(a)  # the stray call

    def backward(self, gy):
        return gy * self.output


class XpExp(sg.Function):
    def forward(self, a):
        return B.xp_of(a).exp(a)

    def backward(self, gy):
        return gy * self.output


if fake_device is not None:
    t_fake = sg.tensor([0.0, 1.0]).to("fake")  # tensor.to: a copy on another backend
    print(f"tensor.to('fake'): on {owner(t_fake)!r}, array {type(t_fake.array).__name__}")
    print(f"XpExp on the fake device:    {XpExp()(t_fake).numpy()}")
    try:
        NumpyExp()(t_fake)
        raise AssertionError("the fake device accepted numpy.exp")
    except TypeError as error:
        print(f"NumpyExp on the fake device: TypeError: {str(error)[:70]}...")
    assert owner(t_fake) == "fake" and np.allclose(XpExp()(t_fake).numpy(), np.exp([0.0, 1.0]))

# %% [markdown]
# ## module.to: the same network on another backend
# A small convnet is built on NumPy, run forward and backward, then moved with module.to (in
# place, parameters and buffers) and run again on the same input moved with tensor.to. The
# losses and gradients agree up to float32 rounding: the fake device runs the plain kernels
# (backend/plain.py), NumPy its fused threaded ones, and a GPU sums in yet another order.

# %%


def small_convnet():
    return nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8),
                         nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                         nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(16 * 7 * 7, 1))


def forward_backward(model, images):
    model.zero_grad()
    loss = (model(images) ** 2).mean()
    loss.backward()
    B.synchronize(images.array)  # GPU work is asynchronous: wait before reading a clock
    return loss.item(), model[0].weight.grad.numpy()


sg.seed(0)
model = small_convnet()
images = sg.tensor(np.random.default_rng(0).standard_normal((64, 1, 28, 28), dtype=np.float32))
loss_cpu, grad_cpu = forward_backward(copy.deepcopy(model), images)
print(f"numpy: loss {loss_cpu:.6f}")
differences = {}  # backend -> max |gradient - NumPy's gradient|
targets = [("fake", fake_device.TOLERANCE["fake"])] if fake_device is not None else []
if GPU is not None:
    targets.append(("cupy", dict(rtol=1e-3, atol=1e-5)))
for name, tolerance in targets:
    moved = copy.deepcopy(model).to(name)  # start from the very same weights
    assert all(owner(p) == name for p in moved.parameters())
    assert owner(moved[1].running_mean) == name  # buffers move too
    forward_backward(moved, images.to(name))  # a GPU's first call compiles kernels
    loss, grad = forward_backward(moved, images.to(name))
    differences[name] = np.abs(grad - grad_cpu).max()
    print(f"{name}: loss {loss:.6f}, parameters on {owner(moved[0].weight)!r}; "
          f"max |grad - numpy's| = {differences[name]:.1e}")
    np.testing.assert_allclose(grad, grad_cpu, **tolerance)
    assert abs(loss - loss_cpu) <= 1e-4 * abs(loss_cpu)
    moved.to("numpy")
    assert owner(moved[0].weight) == "numpy"
if not targets:
    print(f"skipped: {NO_FAKE_REASON}")

# %% [markdown]
# ## Threads and the GPU: one big matrix product
# NumPy runs one call on one core. For big calls the NumPy backend cuts the work into one part
# per thread (backend/threads.py); a part is the same arithmetic on a slice, so the result is the
# same bit for bit whatever the thread count. The speed-up depends on the machine and on what
# else runs on it, so it is measured and shown, not promised. A GPU has thousands of cores.

# %%
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
thread_counts = sorted({1, *[2 ** i for i in range(1, 8) if 2 ** i <= cores], cores})
a = np.random.default_rng(1).standard_normal((SIZE, SIZE), dtype=np.float32)
b = np.random.default_rng(2).standard_normal((SIZE, SIZE), dtype=np.float32)


def median_ms(fn, sync=None):
    fn()  # warm up: thread pool, GPU kernels
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn()
        if sync is not None:
            sync(result)
        times.append(1e3 * (time.perf_counter() - start))
    return float(np.median(times)), result


before = (B.get_num_threads(), B.threads_run_by())
timings, products = {}, {}
try:
    for n in thread_counts:
        B.set_num_threads(n, by="scratchgan")
        timings[f"NumPy\n{n} thread{'s' if n > 1 else ''}"], products[n] = median_ms(
            lambda: B.matmul(a, b))
finally:
    B.set_num_threads(before[0], by=before[1])
for n in thread_counts[1:]:
    assert np.array_equal(products[n], products[1]), "threads changed the product's bits"
gflop = 2 * SIZE ** 3 / 1e9
if GPU is not None:
    ag, bg = GPU.asarray(a), GPU.asarray(b)
    ms, product_gpu = median_ms(lambda: B.matmul(ag, bg), sync=lambda r: B.synchronize(r))
    timings["CuPy\nGPU"] = ms
    gpu_difference = np.abs(B.to_numpy(product_gpu) - products[1]).max()
    print(f"GPU product vs NumPy's: max difference {gpu_difference:.1e} "
          f"(entries of size ~{np.sqrt(SIZE):.0f})")
    assert gpu_difference < 1e-3 * np.abs(products[1]).max()
for label, ms in timings.items():
    print(f"{label.replace(chr(10), ' '):18s} {ms:8.2f} ms per {SIZE}x{SIZE} product "
          f"({gflop / ms * 1e3:6.1f} GFLOP/s)")
print(f"the products with {thread_counts} threads are identical bit for bit")

# %% [markdown]
# ## The figure
# Left: time per product, NumPy with each thread count (and CuPy when a GPU exists). Right: how
# far each other backend's gradient is from NumPy's for the same network step, relative to the
# gradient's size, against float32's rounding unit ε and the tolerance the check above allowed.

# %%
fig, (ax_t, ax_d) = plt.subplots(1, 2, figsize=(12, 4.3), gridspec_kw=dict(width_ratios=[1.4, 1]))
bars = ax_t.bar(list(timings), list(timings.values()),
                color=["tab:blue"] * len(thread_counts) + ["tab:green"] * (GPU is not None))
ax_t.bar_label(bars, fmt="%.1f ms")
ax_t.set_ylabel(f"ms per {SIZE}×{SIZE} float32 product (median of {REPEATS})")
no_gpu = "" if GPU is not None else (
    "\n(no GPU bar: CuPy is not installed)" if "not installed" in NO_GPU_REASON
    else "\n(no GPU bar: no usable CUDA device)")
ax_t.set_title(f"One matrix product ({gflop:.2g} GFLOP) on {cores} CPU cores{no_gpu}",
               fontsize=10)
scale = np.abs(grad_cpu).max()
columns = [name for name, _ in targets] + ["cupy"] * (GPU is None)
for i, (name, tolerance) in enumerate(targets):
    ax_d.bar(i, differences[name] / scale, color="tab:orange", width=0.6)
    ax_d.plot([i - 0.4, i + 0.4], [tolerance["rtol"]] * 2, "k--")
if GPU is None:
    ax_d.text(len(targets), 1e-6, "no GPU here", ha="center", rotation=90, color="grey")
ax_d.axhline(np.finfo(np.float32).eps, color="tab:red", ls=":", label="float32 ε (one rounding)")
ax_d.plot([], [], "k--", label="rtol of the check")
ax_d.set_xticks(range(len(columns)), columns)
ax_d.set_xlim(-0.8, len(columns) - 0.2)
ax_d.set_yscale("log")
ax_d.set_ylim(1e-10, 1e-1)
ax_d.set_ylabel("max |gradient - NumPy's| / max |gradient|")
ax_d.set_title("The same convnet step on each backend", fontsize=10)
ax_d.legend(loc="upper left", fontsize=8)
if not targets:
    ax_d.set_title("The same convnet step on each backend\nno fake device: "
                   + NO_FAKE_REASON.split(" (")[0], fontsize=9)
fig.tight_layout()
figure = OUT / "backends.png"
fig.savefig(figure, dpi=100)
print(f"\nfigure: {figure}")

# %% Try this
# 1. Give StrictArray's module an `exp` and write softplus as `xp.log(1 + xp.exp(a))`. Which
#    other things must strict_xp and StrictArray then support (hint: 1 + array)? That list is why
#    tests/fake_device.py is 300 lines long.
# 2. Put a stray `numpy.` call into a copy of an op of scratchgan/functional (e.g. replace
#    `xp.tanh` by `numpy.tanh`) and run `pytest tests/test_backend.py -k fake`: which tests fail,
#    and what does the message say? Undo it afterwards.
# 3. Run with `--size 256` and `--size 2048`: at which size does a second thread start paying?
#    (Below threads.SPLIT_MATMUL multiply-adds the product is not cut at all.)
