"""Lesson 06: one code base, two array libraries - NumPy on the CPU, CuPy on an NVIDIA GPU.

CuPy copies NumPy's API, so an op written as ``xp = B.xp_of(x); xp.exp(x)`` runs on whichever
library owns ``x``. Only scratchgan/backend.py imports cupy; everything else asks it. There are
three ways to put work on the GPU:

  * ``scratchgan.use_backend("cupy")``   new tensors and parameters are created on the GPU;
  * ``SCRATCHGAN_BACKEND=cupy python ...`` the same switch, made at import time;
  * ``tensor.to("cupy")`` / ``module.to("cupy")``  move existing data (``"numpy"`` moves it back).

Data never changes library behind your back: mixing a NumPy and a CuPy array in one op is an
error, and ``.numpy()`` always hands back a host copy. When CuPy or a GPU is missing, asking for
the backend raises ``scratchgan.BackendError`` with a one-line reason; this lesson catches it
and runs everything on NumPy.

Run:  python lessons/06_backends.py
      SCRATCHGAN_BACKEND=cupy python lessons/06_backends.py   (on a machine with a GPU)
"""
import os
import subprocess
import sys
import time

import numpy as np

try:
    import scratchgan as sg
except RuntimeError as e:  # a BackendError: SCRATCHGAN_BACKEND names a backend this machine lacks
    print(f"import scratchgan failed: {e}\nretrying with SCRATCHGAN_BACKEND unset (NumPy)\n")
    del os.environ["SCRATCHGAN_BACKEND"]
    import scratchgan as sg  # the failed import left nothing behind, so this is a clean start
from scratchgan import backend as B
from scratchgan import nn


def gpu_available():
    try:
        sg.get_backend("cupy")  # loads CuPy and asks CUDA for a device; nothing is switched
        return True
    except sg.BackendError as e:
        print(f"no GPU backend here: {e}")
        print("everything below runs on NumPy; on a CUDA machine it runs on both and compares.\n")
        return False


def the_switch():
    print(f"active backend at start: {sg.get_backend().name} "
          f"(SCRATCHGAN_BACKEND={os.environ.get('SCRATCHGAN_BACKEND', '<unset>')})")
    x = sg.tensor([1.0, 2.0, 3.0])
    print(f"a new tensor lives on {x.device!r}; "
          f"its array is a {type(x.array).__module__.split('.')[0]}.ndarray")
    try:
        sg.use_backend("cupy")
        y = sg.tensor([1.0, 2.0, 3.0])
        print(f"after use_backend('cupy') a new tensor lives on {y.device!r}")
    except sg.BackendError as e:
        print(f"use_backend('cupy') refused: {e}")
    finally:
        sg.use_backend("numpy")  # the rest of the lesson decides explicitly where data goes


def the_environment_variable():
    # The variable is read once, when scratchgan is imported, so we show it in a fresh process.
    probe = "import scratchgan as sg; print(sg.get_backend().name)"
    for value in ("numpy", "cupy"):
        env = dict(os.environ, SCRATCHGAN_BACKEND=value)
        run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
        answer = run.stdout.strip() or run.stderr.strip().splitlines()[-1]
        print(f"SCRATCHGAN_BACKEND={value}: {answer}")


def small_convnet():
    return nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 1))


def forward_backward(model, x):
    model.zero_grad()
    loss = (model(x) ** 2).mean()
    loss.backward()
    B.synchronize(x.array)  # GPU work is asynchronous: wait before reading a clock
    return loss.item(), model[0].weight.grad.numpy()


def same_computation_everywhere(have_gpu):
    sg.seed(0)  # seeds every loaded backend; NumPy and CuPy still draw different numbers
    model = small_convnet()  # built on NumPy...
    x = sg.tensor(np.random.default_rng(0).standard_normal((64, 1, 28, 28), dtype=np.float32))

    start = time.perf_counter()
    loss_cpu, grad_cpu = forward_backward(model, x)
    print(f"\nnumpy: loss {loss_cpu:.6f}, one forward+backward of 64 images in "
          f"{1e3 * (time.perf_counter() - start):.1f} ms")
    if not have_gpu:
        return
    model.to("cupy")  # ...then moved, so both backends start from identical weights
    xg = x.to("cupy")
    forward_backward(model, xg)  # the first GPU call compiles kernels; time the second
    start = time.perf_counter()
    loss_gpu, grad_gpu = forward_backward(model, xg)
    print(f"cupy:  loss {loss_gpu:.6f}, in {1e3 * (time.perf_counter() - start):.1f} ms "
          f"(parameters on {model[0].weight.device!r})")
    print(f"max |grad numpy - grad cupy| = {np.abs(grad_cpu - grad_gpu).max():.1e} "
          f"(float32, different summation order)")
    np.testing.assert_allclose(grad_gpu, grad_cpu, rtol=1e-3, atol=1e-5)
    model.to("numpy")


def main():
    the_switch()
    print()
    the_environment_variable()
    print()
    have_gpu = gpu_available()
    same_computation_everywhere(have_gpu)


if __name__ == "__main__":
    main()
