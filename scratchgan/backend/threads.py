"""How the NumPy backend uses a multicore CPU: a pool of threads for big calls.

NumPy runs every call on one core. Who spreads the work over the cores is a choice of two:

* ``"scratchgan"`` (the default): big calls (matrix products, im2col and col2im, batch norm,
  activations, random draws) are cut into one part per thread and the parts run at once on a pool
  of threads; NumPy lets go of the GIL inside a call. BLAS gets one thread per part: its own idle
  threads spin for ~0.1 s after each product, on the very core the next part needs. Best when the
  calls are big: convolutions.
* ``"blas"``: BLAS's own threads in every matrix product, everything else on one core. Best for
  small dense layers: waking a sleeping thread of our pool costs tens of microseconds (more on a
  virtual machine's idle core), while BLAS's spinning threads start at once.

A part is the same arithmetic on a slice, so cutting never changes a result, whatever the number of
threads. BLAS with one thread and with several may round differently, so a run keeps one choice
(``trainer.thread_policy`` makes it from the models). Only work worth more than a wake-up is cut:
PIECE elements, SPLIT_MATMUL multiply-adds. Only the backend package imports this module.
"""
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor


PIECE = 2 ** 17  # the fewest elements worth a thread of their own (~0.1 ms of element-wise work)
SPLIT_MATMUL = 2 ** 24  # the fewest multiply-adds worth cutting a matrix product for

_threads = None  # None until first asked: SCRATCHGAN_NUM_THREADS, OMP_NUM_THREADS or the cores
_by = "scratchgan"  # who runs the threads: "scratchgan" or "blas"
_pool = None
_local = threading.local()  # .in_part: this thread runs a part, so it does not cut again
_blas = None  # threadpoolctl's handles on the BLAS libraries loaded; [] without threadpoolctl


def _default_threads():
    for var in ("SCRATCHGAN_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
        # OMP's may be a list ("4,2"): not ours to judge
        if value and var == "SCRATCHGAN_NUM_THREADS":
            warnings.warn(f"SCRATCHGAN_NUM_THREADS={value!r} is not a positive number; using the "
                          f"default", stacklevel=2)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def set_num_threads(n, by=None):
    """Use n CPU threads (as torch.set_num_threads), run by "scratchgan" or "blas" (see above).

    ``by=None`` keeps the current choice. Without threadpoolctl BLAS cannot be held to one
    thread, so it is left to run the threads ("blas").
    """
    global _threads, _by, _pool, _blas
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    if by not in (None, "scratchgan", "blas"):
        raise ValueError(f"set_num_threads: by must be 'scratchgan' or 'blas', got {by!r}")
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController  # noqa: PLC0415  (needed here only)
            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        except ImportError:
            _blas = []
    _threads, _by = n, (by or _by) if _blas else "blas"
    for library in _blas:
        library.set_num_threads(n if _by == "blas" else 1)
    if _pool is not None:
        _pool.shutdown()
        _pool = None


def get_num_threads():
    if _threads is None:
        set_num_threads(_default_threads())
    return _threads


def threads_run_by():
    """"scratchgan" or "blas": who spreads the work over the threads."""
    get_num_threads()
    return _by


def _mark_in_part():
    _local.in_part = True


def parallel_range(work, size, grain=1):
    """Call work(start, stop) on contiguous parts of range(size), one per thread, all at once.

    Parts hold at least ``grain`` items, so a small call stays whole; inside a part, work runs
    whole too. Every part has finished before this returns or raises.
    """
    global _pool
    parts = min(get_num_threads(), size // max(grain, 1))
    if parts <= 1 or _by == "blas" or getattr(_local, "in_part", False):
        work(0, size)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(_threads - 1, "scratchgan", initializer=_mark_in_part)
    bounds = [size * i // parts for i in range(parts + 1)]
    futures = [_pool.submit(work, start, stop) for start, stop in zip(bounds[1:-1], bounds[2:])]
    try:
        _local.in_part = True
        work(bounds[0], bounds[1])  # this thread does the first part itself
    finally:
        _local.in_part = False
        for f in futures:  # the parts share their output: all finish before anything is raised
            f.exception()
    for f in futures:
        f.result()


def parallel_slices(work, *arrays, axis=None, grain=PIECE):
    """work(*pieces) with the arrays cut alike along one axis, a piece per thread.

    The arrays have one number of dimensions; one whose length on the axis is 1 is passed whole
    (broadcast). The cut runs along ``axis``, by default the first array's outermost axis in
    memory, so each piece is one block of memory. ``work`` must treat the pieces independently:
    element-wise work, or reductions over the other axes (batch norm cuts along its channels).
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
    parallel_range(piece, length, grain=-(-grain * length // first.size))


def _after_fork_in_child():
    """A forked child has none of the parent's threads: it starts a pool of its own when needed."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
