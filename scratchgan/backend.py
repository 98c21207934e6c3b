"""The one place that knows NumPy from CuPy.

Every op asks this module for its array module (``xp_of(array)`` or the active ``xp``) and for
the few things NumPy and CuPy spell differently: strided views, scatter-add, random numbers,
host transfer and synchronisation. No other file imports cupy. On the CPU it also hands out
threads and memory (cpu.py): ``in_parts``, ``in_pieces``, ``matmul``, ``empty``.
"""
import contextlib
import math
import os

import numpy

from scratchgan import cpu

DTYPE = numpy.float32
RANDOM_PIECE = 2 ** 18  # numbers per generator when a big random array is drawn in parallel
INSTALL_HINT = 'pip install "scratchgan[cuda12]"  (or "scratchgan[cuda13]" for CUDA 13)'


class BackendError(RuntimeError):
    """A backend was asked for that this machine cannot give."""


class Backend:
    """An array module plus the handful of functions whose spelling differs between libraries."""

    def __init__(self, name, xp, array_type, seed=0):
        self.name, self.xp, self.array_type = name, xp, array_type
        self.seed(seed)

    # -- random numbers: one generator per backend, float32 unless asked otherwise --
    def seed(self, n):
        self.generator = numpy.random.default_rng(n)

    def normal(self, shape, dtype=DTYPE):
        return self.generator.standard_normal(shape, dtype=dtype)

    def uniform(self, shape, dtype=DTYPE):
        """Uniform [0, 1): a big array in pieces of fixed size, each from a generator seeded by
        this one, drawn on the CPU threads at once (the same numbers for any thread count)."""
        size = math.prod(shape)
        if size < 2 * RANDOM_PIECE:
            return self.generator.random(shape, dtype=dtype)
        seeds = self.generator.integers(2 ** 63, size=-(-size // RANDOM_PIECE))
        out = cpu.empty(shape, dtype)
        flat = out.reshape(-1)

        def draw(first, last):
            for i in range(first, last):
                piece = flat[i * RANDOM_PIECE:(i + 1) * RANDOM_PIECE]
                numpy.random.Generator(numpy.random.PCG64(seeds[i])).random(dtype=dtype, out=piece)
        cpu.in_parts(draw, len(seeds))
        return out

    def get_rng_state(self):
        return self.generator.bit_generator.state

    def set_rng_state(self, state):
        self.generator.bit_generator.state = state

    # -- arrays --
    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def to_numpy(self, a):
        return numpy.array(a, copy=True)

    def as_strided(self, a, shape, strides):
        return numpy.lib.stride_tricks.as_strided(a, shape=shape, strides=strides, writeable=False)

    def scatter_add(self, target, index, values):
        numpy.add.at(target, index, values)

    def synchronize(self):
        pass

    def __repr__(self):
        return f"Backend({self.name!r})"


class CupyBackend(Backend):
    def __init__(self, cupy, seed=0):
        self._cupy = cupy
        super().__init__("cupy", cupy, cupy.ndarray, seed)

    def seed(self, n):
        self.generator = self._cupy.random.RandomState(n)

    def normal(self, shape, dtype=DTYPE):
        return self.generator.standard_normal(shape, dtype=dtype)

    def uniform(self, shape, dtype=DTYPE):
        return self.generator.random_sample(shape, dtype=dtype)

    def get_rng_state(self):
        return None  # CuPy's generator state is not portable; resume is exact on NumPy only

    def set_rng_state(self, state):
        pass

    def to_numpy(self, a):
        return self._cupy.asnumpy(a)

    def as_strided(self, a, shape, strides):
        return self._cupy.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)

    def scatter_add(self, target, index, values):
        import cupyx  # noqa: PLC0415  (part of cupy; only needed here)
        cupyx.scatter_add(target, index, values)

    def synchronize(self):
        self._cupy.cuda.get_current_stream().synchronize()


_backends = {"numpy": Backend("numpy", numpy, numpy.ndarray)}
_active = _backends["numpy"]
xp = numpy  # the active array module; read it as ``backend.xp`` so a switch is seen


def _load_cupy():
    try:
        import cupy
    except ImportError as e:
        raise BackendError(f"the cupy backend needs CuPy, which is not installed ({e}); "
                           f"install it with: {INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDA driver missing or broken
        raise BackendError(f"the cupy backend needs an NVIDIA GPU with a working CUDA driver: {e}") from None
    if count == 0:
        raise BackendError("the cupy backend needs an NVIDIA GPU, but CUDA reports no device")
    return CupyBackend(cupy)


def get_backend(name=None):
    """The Backend called ``name`` (the active one if None), loading CuPy on first use."""
    if name is None:
        return _active
    if isinstance(name, Backend):
        return name
    if name not in _backends:
        if name != "cupy":
            raise BackendError(f"unknown backend {name!r}: expected one of 'numpy', 'cupy'")
        _backends["cupy"] = _load_cupy()
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


# -- the CPU's threads and memory (cpu.py); off the CPU each call runs whole, as it is --

set_num_threads, get_num_threads, threads_run_by = cpu.set_num_threads, cpu.get_num_threads, cpu.threads_run_by
empty_cache, in_memory_order = cpu.empty_cache, cpu.in_memory_order


def _on_cpu(a):
    return a is None or backend_of(a) is _backends["numpy"]


def in_parts(work, size, like=None, grain=1):
    """work(start, stop) over parts of range(size), a part per CPU thread (see cpu.in_parts)."""
    if _on_cpu(like):
        cpu.in_parts(work, size, grain)
    else:
        work(0, size)


def in_pieces(work, *arrays, axis=None, grain=cpu.PIECE):
    """work(*pieces) on the arrays cut alike, a piece per CPU thread (see cpu.in_pieces)."""
    if _on_cpu(arrays[0]):
        cpu.in_pieces(work, *arrays, axis=axis, grain=grain)
    else:
        work(*arrays)


def matmul(a, b, out=None):
    """a @ b of two 2-D arrays, split over the CPU threads when it is big."""
    return cpu.matmul(a, b, out) if _on_cpu(a) else xp_of(a).matmul(a, b, out=out)


def empty(shape, dtype=DTYPE, like=None):
    """An uninitialised array on like's backend (the active one if None); recycled on the CPU."""
    owner = backend_of(like) if like is not None else _active
    return cpu.empty(shape, dtype) if owner is _backends["numpy"] else owner.xp.empty(shape, dtype=dtype)


def empty_like(a):
    """An uninitialised array shaped as a and laid out in memory as it is."""
    return cpu.empty_like(a) if _on_cpu(a) else xp_of(a).empty_like(a)


if os.environ.get("SCRATCHGAN_BACKEND"):
    use_backend(os.environ["SCRATCHGAN_BACKEND"])
