"""A fake GPU backend: NumPy arrays in a wrapper that refuses to mix with NumPy, as CuPy does.

CuPy arrays cannot be turned into NumPy arrays implicitly, NumPy functions refuse them, and
``numpy_array + cupy_array`` is a TypeError. ``FakeArray`` behaves the same, so a library call
such as ``numpy.exp(t.array)`` or ``numpy.add.at(...)`` on a data array fails on this backend in
CI, without a GPU. ``xp`` is the fake array module (what ``cupy`` is to CuPy) and
``FakeBackend`` the Backend registered under the name "fake".

Only host data (lists, NumPy arrays) may cross into the device, through ``xp.asarray`` /
``xp.array``, and only ``to_numpy`` / ``.get()`` bring data back: the same rule as CuPy's.
"""
import numbers
import operator
import types

import numpy
import pytest

from scratchgan import backend as B
from scratchgan.backend.cpu import NumpyBackend


def _refuse(where):
    raise TypeError(f"{where}: a numpy.ndarray was mixed with a fake device array "
                    "(CuPy refuses this too; convert explicitly with the backend)")


def _is_scalar(x):
    return isinstance(x, (numbers.Number, numpy.generic))


def _unwrap(x, where, allow_host=False):
    """The NumPy array behind every FakeArray in x (recursing into lists and tuples)."""
    if isinstance(x, FakeArray):
        return x._a
    if isinstance(x, numpy.ndarray):
        return x if allow_host else _refuse(where)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i, where, allow_host) for i in x)
    return x


def _unwrap_index(index):
    # CuPy converts list and NumPy index arrays to device arrays, so those are allowed here.
    return _unwrap(index, "index", allow_host=True)


def _wrap(x):
    """NumPy results become FakeArrays; NumPy scalars 0-d ones, as CuPy's reductions return."""
    if isinstance(x, numpy.ndarray):
        return FakeArray(x)
    if isinstance(x, numpy.generic):
        return FakeArray(numpy.asarray(x))
    if isinstance(x, (list, tuple)) and any(isinstance(i, numpy.ndarray) for i in x):
        return type(x)(_wrap(i) for i in x)
    return x


class FakeArray:
    """A device array stand-in: the usual array API, and no implicit traffic with NumPy."""

    __slots__ = ("_a",)
    __array_ufunc__ = None  # numpy ufuncs refuse it; ndarray <op> FakeArray reaches our __rop__
    __hash__ = None

    def __init__(self, array):
        if not isinstance(array, numpy.ndarray):
            raise TypeError(f"FakeArray wraps a numpy.ndarray, got {type(array).__name__}")
        self._a = array

    # -- the walls --
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion of a fake device array to a NumPy array is not "
                        "allowed (as CuPy); use backend.to_numpy() or .get()")

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(f"numpy.{func.__name__} was called on a fake device array; "
                        "use the array's own module (backend.xp_of(array))")

    def get(self):
        """A host copy, as cupy.ndarray.get()."""
        return self._a.copy()

    # -- attributes --
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: FakeArray(self._a.T))

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __bool__(self):
        return bool(self._a)  # numpy raises for more than one element, as CuPy

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __repr__(self):
        return "Fake" + repr(self._a)

    # -- indexing --
    def __getitem__(self, index):
        return _wrap(self._a[_unwrap_index(index)])

    def __setitem__(self, index, value):
        if not (isinstance(value, FakeArray) or _is_scalar(value)):
            if isinstance(value, numpy.ndarray):
                _refuse("__setitem__")
            raise TypeError(f"cannot assign {type(value).__name__} into a fake device array")
        self._a[_unwrap_index(index)] = _unwrap(value, "__setitem__")


def _operand(other, where):
    """The NumPy-side operand, or None when Python should try the other object's method."""
    if isinstance(other, FakeArray):
        return other._a
    if isinstance(other, numpy.ndarray):
        _refuse(where)
    if _is_scalar(other):
        return other
    return None


def _binary(name, op):
    def forward(self, other):
        o = _operand(other, name)
        return NotImplemented if o is None else _wrap(op(self._a, o))

    def reflected(self, other):
        o = _operand(other, name)
        return NotImplemented if o is None else _wrap(op(o, self._a))

    def inplace(self, other):
        o = _operand(other, name)
        if o is None:
            return NotImplemented
        getattr(self._a, f"__i{name}__")(o)
        return self
    return forward, reflected, inplace


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor"):
    _op = getattr(operator, _name if _name not in ("and", "or") else _name + "_")
    _f, _r, _i = _binary(_name, _op)
    setattr(FakeArray, f"__{_name}__", _f)
    setattr(FakeArray, f"__r{_name}__", _r)
    setattr(FakeArray, f"__i{_name}__", _i)

for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(FakeArray, f"__{_name}__", _binary(_name, getattr(operator, _name))[0])

for _name in ("neg", "pos", "abs", "invert"):
    setattr(FakeArray, f"__{_name}__",
            (lambda op: lambda self: _wrap(op(self._a)))(getattr(operator, _name)))


def _method(name):
    def method(self, *args, **kwargs):
        args = _unwrap(args, f"FakeArray.{name}")
        kwargs = {k: _unwrap(v, f"FakeArray.{name}") for k, v in kwargs.items()}
        return _wrap(getattr(self._a, name)(*args, **kwargs))
    method.__name__ = name
    return method


for _name in ("reshape", "transpose", "swapaxes", "astype", "copy", "ravel", "flatten", "squeeze",
              "sum", "mean", "max", "min", "prod", "var", "std", "any", "all", "argmax", "argmin",
              "cumsum", "clip", "dot", "fill", "repeat", "take", "nonzero", "round"):
    setattr(FakeArray, _name, _method(_name))


# -- the fake array module, what `cupy` is to CuPy --

def _host_to_device(name):
    """asarray/array: host data (lists, NumPy arrays, numbers) is copied in, as CuPy
    transfers it."""
    def convert(a, dtype=None, copy=None, **kwargs):
        if isinstance(a, FakeArray):
            fn = numpy.array if name == "array" and copy is not False else numpy.asarray
            return FakeArray(fn(a._a, dtype=dtype, **kwargs))
        # a FakeArray inside a list fails here
        return FakeArray(numpy.array(a, dtype=dtype, copy=True, **kwargs))
    convert.__name__ = name
    return convert


def _device_function(name):
    fn = getattr(numpy, name)

    def call(*args, **kwargs):
        args = _unwrap(args, f"xp.{name}")
        kwargs = {k: _unwrap(v, f"xp.{name}") for k, v in kwargs.items()}
        return _wrap(fn(*args, **kwargs))
    call.__name__ = name
    return call


DEVICE_FUNCTIONS = (
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "eye",
    "arange", "linspace", "exp", "expm1", "log", "log1p", "sqrt", "square", "tanh", "abs",
    "absolute", "sign", "sin", "cos", "floor", "ceil", "maximum", "minimum", "where", "clip",
    "concatenate", "stack", "broadcast_to", "ascontiguousarray", "matmul", "dot", "tensordot",
    "einsum", "outer", "sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "argmax",
    "argmin", "cumsum", "reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze",
    "pad", "split", "take", "add", "subtract", "multiply", "divide", "negative", "power",
    "logaddexp", "isfinite", "isnan", "all", "any", "copyto", "sort", "argsort", "unique", "round",
)

xp = types.ModuleType("fake_xp",
                      "A fake device array module over NumPy (see tests/fake_device.py).")
xp.asarray = _host_to_device("asarray")
xp.array = _host_to_device("array")
for _name in DEVICE_FUNCTIONS:
    setattr(xp, _name, _device_function(_name))
for _name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
              "intp", "dtype", "newaxis", "inf", "nan", "pi", "e", "finfo", "iinfo"):
    setattr(xp, _name, getattr(numpy, _name))
xp.ndarray = FakeArray


_HOST_DRAWS = NumpyBackend()


class FakeBackend(B.Backend):
    """Backend "fake": NumPy's arithmetic and random stream, behind CuPy's walls."""

    def __init__(self, seed=0):
        super().__init__("fake", xp, FakeArray, seed)

    def uniform(self, shape, dtype=B.DTYPE):
        """The NumPy backend's draws (big arrays come in pieces), from this backend's generator."""
        _HOST_DRAWS.generator = self.generator
        return FakeArray(_HOST_DRAWS.uniform(shape, dtype))

    def to_numpy(self, a):
        if not isinstance(a, FakeArray):
            raise TypeError(f"fake backend to_numpy got {type(a).__name__}, not a FakeArray")
        return a.get()

    def as_strided(self, a, shape, strides):
        return FakeArray(numpy.lib.stride_tricks.as_strided(a._a, shape=shape, strides=strides,
                                                            writeable=False))

    def scatter_add(self, target, index, values):
        numpy.add.at(target._a, _unwrap_index(index), _unwrap(values, "scatter_add"))


FAKE = B.register_backend(FakeBackend())


def cupy_unavailable_reason():
    """None when CuPy imports and sees a CUDA device, else why the GPU tests are skipped."""
    try:
        import cupy  # noqa: F401, PLC0415
    except ImportError:
        return "CuPy is not installed"
    try:
        B.get_backend("cupy")
    except B.BackendError as e:
        return f"no usable CUDA device: {e}"
    return None


_CUPY_SKIP = cupy_unavailable_reason()

# The device backends that the backend-independence tests run on: always the fake one, and real
# CuPy where it is importable and a GPU exists (marked `gpu`, skipped with the reason otherwise).
DEVICES = [
    pytest.param("fake", id="fake"),
    pytest.param("cupy", id="cupy", marks=[pytest.mark.gpu,
                                           pytest.mark.skipif(_CUPY_SKIP is not None,
                                                              reason=str(_CUPY_SKIP))]),
]

# How closely a device must reproduce NumPy. The fake runs the plain kernels (backend/plain.py) on
# NumPy, where the NumPy backend runs its fused ones: float32 rounding apart. A GPU also sums in
# another order.
TOLERANCE = {"fake": dict(rtol=1e-5, atol=1e-6), "cupy": dict(rtol=2e-4, atol=2e-5)}
# After several optimizer steps (Adam divides by √v, which magnifies rounding where v is small).
STEP_TOLERANCE = {"fake": dict(rtol=1e-4, atol=1e-5), "cupy": dict(rtol=1e-3, atol=1e-4)}
