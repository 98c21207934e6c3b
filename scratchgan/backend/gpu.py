"""The CuPy backend: plain.py's kernels as they are, on an NVIDIA GPU.

The only file that imports cupy. CuPy's own kernels already use the whole GPU, so nothing here
is cut into parts; what differs from NumPy is the random generator and host transfers.
"""
from scratchgan.backend.plain import DTYPE, Backend, BackendError

INSTALL_HINT = 'pip install "scratchgan[cuda12]"  (or "scratchgan[cuda13]" for CUDA 13)'


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

    def scatter_add(self, target, index, values):
        import cupyx  # noqa: PLC0415  (part of cupy; only needed here)
        cupyx.scatter_add(target, index, values)

    def synchronize(self):
        self._cupy.cuda.get_current_stream().synchronize()


def load_cupy():
    """The CuPy backend, or a BackendError saying what is missing and how to install it."""
    try:
        import cupy  # noqa: PLC0415  (optional: only a GPU user has it)
    except ImportError as e:
        raise BackendError(f"the cupy backend needs CuPy, which is not installed ({e}); "
                           f"install it with: {INSTALL_HINT}") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001  (a missing or broken CUDA driver raises many kinds)
        raise BackendError("the cupy backend needs an NVIDIA GPU with a working CUDA driver: "
                           f"{e}") from None
    if count == 0:
        raise BackendError("the cupy backend needs an NVIDIA GPU, but CUDA reports no device")
    return CupyBackend(cupy)
