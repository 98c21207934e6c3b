"""The one place that knows NumPy from CuPy.

Every op asks this module for its array module (``xp_of(array)`` or the active ``xp``) and for
the few things NumPy and CuPy spell differently: strided views, scatter-add, random numbers,
host transfer and synchronisation. No other file imports cupy. On the CPU it also owns the
threads: big calls are split into one part per core (``in_parts``, ``matmul``).
"""
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy

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
        out = empty(shape, dtype)
        flat = out.reshape(-1)

        def draw(first, last):
            for i in range(first, last):
                piece = flat[i * RANDOM_PIECE:(i + 1) * RANDOM_PIECE]
                numpy.random.Generator(numpy.random.PCG64(seeds[i])).random(dtype=dtype, out=piece)
        in_parts(draw, len(seeds))
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


def normal(shape, dtype=DTYPE, backend=None):
    return get_backend(backend).normal(shape, dtype)


def uniform(shape, dtype=DTYPE, backend=None):
    return get_backend(backend).uniform(shape, dtype)


# -- CPU threads --
# NumPy runs each call on one core. scratchgan splits its big calls (matrix products, im2col,
# col2im, batch norm, activations, Adam) into one part per core and runs the parts at once on a
# pool of threads: NumPy lets go of the GIL inside a call. BLAS is kept to one thread per call,
# because its own idle workers spin for ~0.1 s after each product, on the very core the next
# element-wise call needs. Splitting never changes a result: every part is the same arithmetic.

_threads = None  # how many parts; None until first asked (SCRATCHGAN_NUM_THREADS or the cores)
_pool = None
_local = threading.local()  # .in_part: this thread is running a part (no nested splitting)


def _default_threads():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for var in ("SCRATCHGAN_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").strip().isdigit() and int(os.environ[var]) > 0:
            return int(os.environ[var])
    return cores or 1


def set_num_threads(n):
    """Split NumPy work over n CPU threads (as torch.set_num_threads); BLAS runs one per call."""
    global _threads, _pool
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if n > 1 and not _limit_blas_to_one_thread():
        n = 1  # BLAS's threads cannot be limited: leave the cores to it rather than oversubscribe
    if _pool is not None and _pool._max_workers != n - 1:
        _pool.shutdown()
        _pool = None
    _threads = n


def get_num_threads():
    if _threads is None:
        set_num_threads(_default_threads())
    return _threads


def _limit_blas_to_one_thread():
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (only needed here)
    except ImportError:
        return False
    threadpool_limits(1, user_api="blas")  # process-wide, until changed again
    return True


def _mark_in_part():
    _local.in_part = True


def in_parts(work, size, like=None, grain=1):
    """Call work(start, stop) on contiguous parts of range(size), one per thread, all at once.

    Parts hold at least ``grain`` items, so a small call stays whole. Off the CPU (``like``
    lives on another backend) and inside a part, work(0, size) runs once, here.
    """
    parts = min(get_num_threads(), size // max(grain, 1))
    if parts <= 1 or getattr(_local, "in_part", False) or (
            like is not None and backend_of(like) is not _backends["numpy"]):
        work(0, size)
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, "scratchgan", initializer=_mark_in_part)
    bounds = [size * i // parts for i in range(parts + 1)]
    futures = [_pool.submit(work, start, stop) for start, stop in zip(bounds[1:-1], bounds[2:])]
    try:
        _local.in_part = True
        work(bounds[0], bounds[1])  # this thread does the first part itself
    finally:
        _local.in_part = False
        for f in futures:  # every part finishes before anything is raised: they share the output
            f.exception()
    for f in futures:
        f.result()


def in_pieces(work, *arrays, axis=None, grain=2 ** 15):
    """work(*pieces): the arrays (one shape; size-1 axes broadcast) cut alike, a piece per thread.

    The cut runs along ``axis``, by default the first array's outermost axis in memory so that
    every piece is one block of memory. ``work`` must treat the pieces independently: element-wise
    work, or reductions over the other axes (batch norm cuts along its channels).
    """
    first = arrays[0]
    if first.ndim == 0 or first.size < 2 * grain:
        work(*arrays)
        return
    if axis is None:
        axis = max(range(first.ndim), key=lambda a: (first.shape[a] > 1, first.strides[a]))
    length = first.shape[axis]

    def piece(start, stop):
        cut = (slice(None),) * axis + (slice(start, stop),)
        work(*(a[cut] if a.shape[axis] == length else a for a in arrays))
    in_parts(piece, length, like=first, grain=-(-grain * length // first.size))


class _Recycler:
    """Memory for big arrays, handed out again once no array refers to it (prototype)."""
    MIN_BYTES = 1 << 20

    def __init__(self):
        self.blocks, self.lock = {}, threading.Lock()
        probe = [numpy.empty(1)]
        self.free_count = self._count(probe)

    @staticmethod
    def _count(blocks):
        for block in blocks:
            return sys.getrefcount(block)

    def empty(self, shape, dtype=DTYPE):
        dtype = numpy.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes < self.MIN_BYTES:
            return numpy.empty(shape, dtype)
        with self.lock:
            blocks = self.blocks.setdefault(nbytes, [])
            for block in blocks:
                if sys.getrefcount(block) == self.free_count:
                    break
            else:
                block = numpy.empty(nbytes, numpy.uint8)
                blocks.append(block)
            return block.view(dtype).reshape(shape)


_recycler = _Recycler()


def empty(shape, dtype=DTYPE, like=None):
    if like is not None and backend_of(like) is not _backends["numpy"]:
        return xp_of(like).empty(shape, dtype=dtype)
    return _recycler.empty(shape, dtype)


def empty_like(a):
    """An uninitialised array shaped and laid out in memory as a."""
    if backend_of(a) is not _backends["numpy"]:
        return xp_of(a).empty_like(a)
    order = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    inverse = sorted(range(a.ndim), key=order.__getitem__)
    return _recycler.empty(tuple(a.shape[i] for i in order), a.dtype).transpose(inverse)


def matmul(a, b, out=None):
    """a @ b for 2-D arrays, split over the CPU threads by rows of a or columns of b."""
    m, k = a.shape
    n = b.shape[1]
    if (m * n * max(k, 64) < 2 ** 22 or get_num_threads() == 1
            or backend_of(a) is not _backends["numpy"]):
        return xp_of(a).matmul(a, b, out=out)
    if out is None:
        out = empty((m, n), dtype=numpy.result_type(a, b))
    if k == 1:  # an outer product: no sums, and BLAS is slow at it
        in_pieces(lambda a, b, out: numpy.multiply(a, b, out=out), a, b, out, axis=0)
    elif n >= m:
        in_parts(lambda i, j: numpy.matmul(a, b[:, i:j], out=out[:, i:j]), n, grain=64)
    else:
        in_parts(lambda i, j: numpy.matmul(a[i:j], b, out=out[i:j]), m, grain=64)
    return out


if os.environ.get("SCRATCHGAN_BACKEND"):
    use_backend(os.environ["SCRATCHGAN_BACKEND"])
