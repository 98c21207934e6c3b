"""The one place that knows NumPy from CuPy: ``xp``, the active array module, and the kernels.

Every op asks this package for its array module (``xp_of(array)``, or the active ``xp``), for the
few things NumPy and CuPy spell differently (random numbers, strided views, scatter-add, host
transfer) and for the kernels where a CPU needs a fast path: ``matmul``, ``multiply``,
``leaky_relu``, ``dropout_mask``, ``im2col``, ``col2im``, ``batch_norm``, ``adam``. Each kernel is
written once as its formula (plain.py, which CuPy runs: gpu.py) and once fast for NumPy on the
CPU's threads (cpu.py); a kernel runs on the backend that owns its first array.
"""
import contextlib
import os

from scratchgan.backend import threads
from scratchgan.backend.cpu import NumpyBackend
from scratchgan.backend.gpu import INSTALL_HINT, load_cupy
from scratchgan.backend.plain import DTYPE, Backend, BackendError, in_memory_order

_backends = {"numpy": NumpyBackend()}
DEVICES = {"cpu": "numpy", "cuda": "cupy"}  # PyTorch's device names for the two backends
_active = _backends["numpy"]
xp = _active.xp  # the active array module; read it as ``backend.xp`` so that a switch is seen


def get_backend(name=None):
    """The Backend called ``name`` (the active one if None), loading CuPy on first use.

    PyTorch's device names work too: "cpu" is NumPy, "cuda" and "cuda:0" are CuPy, and so is a
    device object whose ``type`` is one of them.
    """
    if name is None:
        return _active
    if isinstance(name, Backend):
        return name
    name = str(getattr(name, "type", name))
    name = DEVICES.get(name.split(":")[0], name)
    if name not in _backends:
        if name != "cupy":
            raise BackendError(f"unknown backend {name!r}: expected one of 'numpy', 'cupy'")
        _backends["cupy"] = load_cupy()
    return _backends[name]


def register_backend(backend):
    """Make a Backend known by name (tests use this for a fake device)."""
    _backends[backend.name] = backend
    return backend


def use_backend(name):
    """Switch the backend that new tensors and parameters are created on."""
    global _active, xp
    _active = get_backend(name)
    xp = _active.xp
    return _active


def active():
    return _active


def backend_of(a):
    """The Backend that owns array ``a`` (the active one for Python scalars and lists)."""
    for b in _backends.values():
        if isinstance(a, b.array_type):
            return b
    return _active


def xp_of(a):
    return backend_of(a).xp


def to_numpy(a):
    """A host NumPy copy of any backend array."""
    return backend_of(a).to_numpy(a)


def as_strided(a, shape, strides):
    return backend_of(a).as_strided(a, shape, strides)


def scatter_add(target, index, values):
    backend_of(target).scatter_add(target, index, values)


def synchronize(a=None):
    (backend_of(a) if a is not None else _active).synchronize()


# -- random numbers --

def seed(n):
    """Seed every loaded backend's generator (parameters, dropout, noise)."""
    for b in _backends.values():
        b.seed(n)


@contextlib.contextmanager
def fork_rng():
    """Run a block without moving any backend's random stream (as torch.random.fork_rng):
    whatever it draws, the generators are where they were afterwards."""
    saved = {name: b.generator for name, b in _backends.items()}
    for b in _backends.values():
        b.seed(0)
    try:
        yield
    finally:
        for name, generator in saved.items():
            _backends[name].generator = generator


def normal(shape, dtype=DTYPE, backend=None):
    return get_backend(backend).normal(shape, dtype)


def uniform(shape, dtype=DTYPE, backend=None):
    return get_backend(backend).uniform(shape, dtype)


# -- the kernels (plain.py has each formula) --

def matmul(a, b):
    return backend_of(a).matmul(a, b)


def multiply(a, b):
    return backend_of(a).multiply(a, b)


def leaky_relu(x, slope):
    return backend_of(x).leaky_relu(x, slope)


def leaky_relu_grad(gy, x, slope):
    return backend_of(x).leaky_relu_grad(gy, x, slope)


def dropout_mask(like, p):
    return backend_of(like).dropout_mask(like, p)


def im2col(x, kh, kw, stride, padding):
    return backend_of(x).im2col(x, kh, kw, stride, padding)


def col2im(taps, stride, padding, size):
    return backend_of(taps).col2im(taps, stride, padding, size)


def batch_norm(x, gamma, beta, eps):
    return backend_of(x).batch_norm(x, gamma, beta, eps)


def batch_norm_grad(gy, x, gamma, mean, var, eps):
    return backend_of(x).batch_norm_grad(gy, x, gamma, mean, var, eps)


def adam(p, g, m, v, beta1, beta2, step_size, root_correction2, eps):
    backend_of(p).adam(p, g, m, v, beta1, beta2, step_size, root_correction2, eps)


# -- the CPU's threads and memory (threads.py, memory.py) --

set_num_threads, get_num_threads = threads.set_num_threads, threads.get_num_threads
threads_run_by = threads.threads_run_by


def empty_cache():
    """Free the NumPy backend's unused pooled memory (as torch.cuda.empty_cache)."""
    _backends["numpy"].pool.release()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _backends["numpy"].pool.after_fork())

if os.environ.get("SCRATCHGAN_BACKEND"):
    use_backend(os.environ["SCRATCHGAN_BACKEND"])

__all__ = ["DTYPE", "INSTALL_HINT", "Backend", "BackendError", "in_memory_order"]
