"""PyTorch's names for what scratchgan has, so that ``import scratchgan as torch`` runs the
well-known PyTorch GAN programs.

Everything here is an alias or a factory over the engine (tensor.py, functional/, nn/): nothing
is computed here that the engine does not compute. ``scratchgan/__init__.py`` re-exports these
names; a PyTorch name that scratchgan lacks fails there with a message that names it.
Differences from PyTorch that a program can notice are listed in the README's PyTorch table.
"""
import builtins
import io
import pickle
import types

import numpy

from scratchgan import backend as B
from scratchgan import functional as F
from scratchgan.tensor import Tensor, _GradMode, is_grad_enabled


class Size(tuple):
    """torch.Size: a tuple of dimensions (``x.size()``); ``torch.FloatTensor(x.size())`` reads it
    as a shape where a plain tuple is data."""

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return Size(item) if isinstance(index, slice) else item

    def __repr__(self):
        return f"scratchgan.Size({list(self)})"

    def numel(self):
        return builtins.int(numpy.prod(self, dtype=numpy.int64))


_DTYPES = dict(float32=numpy.float32, float=numpy.float32, float64=numpy.float64,
               double=numpy.float64, float16=numpy.float16, half=numpy.float16,
               int64=numpy.int64, long=numpy.int64, int32=numpy.int32, int=numpy.int32,
               uint8=numpy.uint8, bool=numpy.bool_)
globals().update(_DTYPES)  # torch.float, torch.long, ...: NumPy's dtypes under PyTorch's names


# -- devices: "cpu" is the NumPy backend, "cuda" the CuPy one --

class device:  # noqa: N801  (torch.device's name)
    """torch.device("cpu"), torch.device("cuda:0"): which backend tensors live on."""

    def __init__(self, type, index=None):  # noqa: A002  (PyTorch's names)
        if isinstance(type, device):
            type, index = type.type, type.index  # noqa: A001
        kind, _, number = str(type).partition(":")
        if kind not in B.DEVICES:
            raise RuntimeError(f"device: expected 'cpu' or 'cuda' (scratchgan has no {kind!r} "
                               f"device), got {type!r}")
        self.type, self.index = kind, builtins.int(number) if number else index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return f"device(type={self.type!r}" + (f", index={self.index})" if self.index is not None
                                               else ")")

    @classmethod
    def of(cls, array):
        """The device of a backend array: cpu for NumPy, cuda:0 for CuPy, else the backend's
        name (the tests' fake device)."""
        name = B.backend_of(array).name
        self = cls.__new__(cls)
        self.type = {"numpy": "cpu", "cupy": "cuda"}.get(name, name)
        self.index = 0 if name == "cupy" else None
        return self

    def __eq__(self, other):
        if isinstance(other, str) and other in _BACKEND_DEVICES:  # t.device == "numpy"
            return self.type == _BACKEND_DEVICES[other]
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash(str(self))


_BACKEND_DEVICES = {backend: kind for kind, backend in B.DEVICES.items()}


def _cuda_is_available():
    try:
        B.get_backend("cupy")
    except B.BackendError:
        return False
    return True


def manual_seed(seed):
    """Seed every backend's generator: weights, noise, dropout (torch.manual_seed)."""
    B.seed(builtins.int(seed))


def use_deterministic_algorithms(mode, warn_only=False):
    """Accepted and kept: scratchgan's CPU results never depend on timing or thread count."""
    _settings["deterministic"] = builtins.bool(mode)


def are_deterministic_algorithms_enabled():
    return _settings["deterministic"]


_settings = {"deterministic": False}


# -- factories: shapes as torch.zeros(2, 3) or torch.zeros((2, 3)), on device=, of dtype= --

def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _made(array, requires_grad):
    if requires_grad and array.dtype.kind != "f":
        raise RuntimeError(f"only floating tensors can require grad, got dtype {array.dtype}")
    return Tensor._wrap(array, requires_grad)


def _backend(device):
    return B.get_backend(device)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None):
    array = _backend(device).normal(_shape(size), dtype or B.DTYPE)
    return _made(array, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None):
    array = _backend(device).uniform(_shape(size), dtype or B.DTYPE)
    return _made(array, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """As torch.full: the dtype follows ``fill_value`` (bool, int64, else the default float)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = (numpy.bool_ if isinstance(fill_value, (builtins.bool, numpy.bool_)) else
                 numpy.int64 if isinstance(fill_value, (builtins.int, numpy.integer)) else B.DTYPE)
    backend = _backend(device)
    array = backend.xp.full(_shape((size,)), fill_value, dtype=dtype)
    return _made(array, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape(size), 0, dtype or B.DTYPE, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return full(_shape(size), 1, dtype or B.DTYPE, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def _like(maker):
    def like(input, dtype=None, device=None, requires_grad=False):  # noqa: A002
        return maker(input.shape, dtype=dtype or input.dtype, device=device or input.device,
                     requires_grad=requires_grad)
    like.__name__ = maker.__name__ + "_like"
    return like


randn_like, rand_like, zeros_like, ones_like, empty_like = (
    _like(randn), _like(rand), _like(zeros), _like(ones), _like(empty))


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):  # noqa: A002
    return full(input.shape, fill_value, dtype or input.dtype, device or input.device,
                requires_grad)


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data``: an array keeps its dtype, Python floats become
    float32 and ints int64, as in PyTorch."""
    if isinstance(data, Tensor):
        data = data.array
    owner = B.backend_of(data)
    target = owner if device is None else _backend(device)
    if isinstance(data, owner.array_type):
        array = owner.xp.array(data, dtype=dtype, copy=True)
        if target is not owner:
            array = target.asarray(B.to_numpy(array))
    else:
        host = numpy.array(_host_values(data), dtype=dtype)
        if dtype is None and host.dtype == numpy.float64 and not isinstance(data, numpy.generic):
            host = host.astype(B.DTYPE)
        array = target.asarray(host)
    return _made(array, requires_grad)


def _host_values(data):
    """Lists of numbers and one-element tensors, as PyTorch reads them: each tensor its value."""
    if isinstance(data, Tensor):
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_host_values(d) for d in data]
    return data


def as_tensor(data, dtype=None, device=None):
    return data if isinstance(data, Tensor) and dtype is None and device is None else \
        tensor(data, dtype, device)


def from_numpy(array):
    """A CPU tensor that shares ``array``'s memory, as torch.from_numpy."""
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def numel(input):  # noqa: A002
    return input.numel()


def cat(tensors, dim=0):
    return F.concat(list(tensors), dim)


concat = cat


def stack(tensors, dim=0):
    return F.concat([t.unsqueeze(dim) for t in tensors], dim)


class set_grad_enabled:  # noqa: N801  (PyTorch's name)
    """Switch gradient recording on or off now, as torch.set_grad_enabled(False) does; used as
    ``with set_grad_enabled(mode):``, the previous mode is back after the block."""

    def __init__(self, mode):
        self._mode = _GradMode(builtins.bool(mode))
        self._mode.__enter__()

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        self._mode.__exit__(*exc)


# Math functions that PyTorch also has at the top level: torch.mean(x), torch.exp(x), ...
def mean(input, dim=None, keepdim=False):  # noqa: A002
    return input.mean(dim, keepdim)


def sum(input, dim=None, keepdim=False):  # noqa: A001, A002
    return input.sum(dim, keepdim)


exp, log, sqrt, tanh, sigmoid, relu, matmul, clamp = (F.exp, F.log, F.sqrt, F.tanh, F.sigmoid,
                                                      F.relu, F.matmul, F.clamp)
add, sub, mul, div = F.add, F.sub, F.mul, F.div


# -- legacy constructors (torch.FloatTensor(...), Variable): the older programs use them --

class _LegacyTensor:
    """torch.FloatTensor(data) or torch.FloatTensor(n, m) (uninitialised: zeros here)."""

    def __init__(self, dtype, device):
        self.dtype, self.device = dtype, device

    def __call__(self, *args):
        if len(args) == 1 and not isinstance(args[0], (builtins.int, Size)):
            return tensor(args[0], dtype=self.dtype, device=self.device)
        return zeros(*args, dtype=self.dtype, device=self.device)

    def __repr__(self):
        return f"<legacy tensor type {numpy.dtype(self.dtype).name} on {self.device}>"


FloatTensor, LongTensor = _LegacyTensor(numpy.float32, "cpu"), _LegacyTensor(numpy.int64, "cpu")
DoubleTensor = _LegacyTensor(numpy.float64, "cpu")


def Variable(data, requires_grad=False, volatile=False):  # noqa: N802  (torch.autograd's name)
    """PyTorch's old wrapper, now the tensor itself (a new leaf when asked to require grad)."""
    data = data if isinstance(data, Tensor) else tensor(data)
    return Tensor._wrap(data.array, True) if requires_grad else data


cuda = types.SimpleNamespace(
    is_available=_cuda_is_available,
    device_count=lambda: 1 if _cuda_is_available() else 0,
    manual_seed=manual_seed, manual_seed_all=manual_seed,
    synchronize=lambda device=None: B.synchronize() if _cuda_is_available() else None,
    FloatTensor=_LegacyTensor(numpy.float32, "cuda"),
    LongTensor=_LegacyTensor(numpy.int64, "cuda"),
)
backends = types.SimpleNamespace(
    cudnn=types.SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                                is_available=lambda: False),
    mps=types.SimpleNamespace(is_available=lambda: False, is_built=lambda: False),
)
cudnn = backends.cudnn


# -- save and load: tensors, arrays, numbers and containers of them, as torch.save/load --

class _HostArray:
    """A tensor on its way to disk: host array, whether it was a Tensor, and its backend."""

    backend = "numpy"

    def __init__(self, array, was_tensor, backend="numpy"):
        self.array, self.was_tensor, self.backend = array, was_tensor, backend


def _to_host(obj):
    if isinstance(obj, Tensor):
        return _HostArray(B.to_numpy(obj.array), True, B.backend_of(obj.array).name)
    if isinstance(obj, numpy.ndarray) or (hasattr(obj, "shape") and hasattr(obj, "dtype")
                                          and not isinstance(obj, numpy.generic)):
        return _HostArray(B.to_numpy(obj), False)
    if isinstance(obj, dict):
        return type(obj)((k, _to_host(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_host(v) for v in obj)
    return obj


def _from_host(obj, backend):
    if isinstance(obj, _HostArray):
        target = _saved_backend(obj.backend) if backend is None else backend
        array = target.asarray(obj.array)
        return Tensor._wrap(array) if obj.was_tensor else obj.array
    if isinstance(obj, dict):
        return type(obj)((k, _from_host(v, backend)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(_from_host(v, backend) for v in obj)
    return obj


def save(obj, f):
    """Write tensors, arrays and containers of them (a state_dict, a checkpoint dict) to a path
    or a binary file object."""
    data = pickle.dumps(_to_host(obj), protocol=pickle.HIGHEST_PROTOCOL)
    if hasattr(f, "write"):
        f.write(data)
        return
    with open(f, "wb") as out:
        out.write(data)


class _SafeUnpickler(pickle.Unpickler):
    """Loads only what ``save`` writes: containers, numbers, strings and NumPy arrays."""

    ALLOWED = {("collections", "OrderedDict"), ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
               ("builtins", "slice"), (__name__, "_HostArray"), (__name__, "Size")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED or module == "numpy" and name.startswith("dtype"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"load: the file holds a {module}.{name}, which "
                                     "scratchgan.load does not read (only what save writes)")


def _saved_backend(name):
    try:
        return B.get_backend(name)
    except B.BackendError as e:
        raise RuntimeError(f"load: the file holds tensors saved on {name!r}, which is not "
                           f"available here ({e}); pass map_location='cpu'") from None


def _map_location(where):
    """The backend that ``map_location`` names; None keeps each tensor's saved device. A
    function (``lambda storage, loc: storage``) keeps tensors on the CPU, as PyTorch's does."""
    if where is None:
        return None
    if isinstance(where, dict):  # {"cuda:0": "cpu"}
        where = next(iter(where.values()), "cpu")
    elif callable(where):
        where = "cpu"
    return B.get_backend(where)


def load(f, map_location=None, weights_only=True):
    """Read what ``save`` wrote, onto the device ``map_location`` (default: each tensor's
    device when saved)."""
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(f, "rb") as source:
            data = source.read()
    try:
        obj = _SafeUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError) as e:
        raise RuntimeError(f"load: {getattr(f, 'name', f)} is not a file written by "
                           f"scratchgan.save ({e})") from None
    return _from_host(obj, _map_location(map_location))


# -- Tensor methods under PyTorch's names --

def _dims(dim):
    return None if dim is None else tuple(dim) if isinstance(dim, (tuple, list)) else dim


def _reduction(op):
    def method(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return op(self, _dims(dim if axis is None else axis),
                  keepdim if keepdims is None else keepdims)
    return method


def _view(self, *shape):
    """The same storage under another shape, where the memory allows it (else a copy)."""
    if len(shape) == 1 and not isinstance(shape[0], builtins.int):
        shape = tuple(shape[0])
    return F.reshape(self, shape)


def _squeeze(self, dim=None):
    if dim is None:
        return F.reshape(self, tuple(n for n in self.shape if n != 1))
    dim %= self.ndim
    if self.shape[dim] != 1:
        return self
    return F.reshape(self, self.shape[:dim] + self.shape[dim + 1:])


def _unsqueeze(self, dim):
    dim = dim % (self.ndim + 1)
    return F.reshape(self, self.shape[:dim] + (1,) + self.shape[dim:])


def _expand(self, *sizes):
    sizes = _shape(sizes)
    lead = len(sizes) - self.ndim
    target = tuple(n if n != -1 else self.shape[i - lead] for i, n in enumerate(sizes))
    return F.broadcast_to(self, target)


def _flatten(self, start_dim=0, end_dim=-1):
    start, end = start_dim % builtins.max(self.ndim, 1), end_dim % builtins.max(self.ndim, 1)
    return F.reshape(self, self.shape[:start] + (-1,) + self.shape[end + 1:])


def _norm(self, p=2, dim=None, keepdim=False):
    """The 2-norm over ``dim`` (all elements if None), √(Σ x²)."""
    if p not in (2, "fro"):
        raise NotImplementedError(f"norm: p={p!r} is not in scratchgan (only the 2-norm)")
    return F.sqrt((self * self).sum(_dims(dim), keepdim))


def _in_place(fill):
    """A method that changes the tensor's storage, and with it every view and .data of it."""
    def method(self, *args, **kwargs):
        if self.requires_grad and is_grad_enabled():
            if self.is_leaf:
                raise RuntimeError("a leaf tensor that requires grad is being used in an in-place "
                                   "operation; change its .data, or do it under no_grad()")
            # The engine records no in-place op: the gradient would silently be wrong.
            raise RuntimeError(f"{fill.__name__.strip('_')}_: scratchgan does not record in-place "
                               "operations in the graph, and this tensor is part of one; use "
                               "the out-of-place form (x = x * 2, not x.mul_(2))")
        fill(self, *args, **kwargs)
        return self
    method.__name__ = fill.__name__
    return method


def _fill(self, value):
    self.array[...] = value.item() if isinstance(value, Tensor) else value


def _zero(self):
    self.array[...] = 0


def _normal(self, mean=0.0, std=1.0):
    self.array[...] = B.backend_of(self.array).normal(self.shape, self.dtype) * std + mean


def _uniform(self, a=0.0, b=1.0):
    self.array[...] = B.backend_of(self.array).uniform(self.shape, self.dtype) * (b - a) + a


def _copy(self, src):
    host = B.to_numpy(src.array if isinstance(src, Tensor) else numpy.asarray(src))
    self.array[...] = B.backend_of(self.array).asarray(host.astype(self.dtype, copy=False))


def _clamp(self, min=None, max=None):  # noqa: A002
    xp = B.xp_of(self.array)
    xp.clip(self.array, min, max, out=self.array)


def _mul(self, other):
    self.array *= other.array if isinstance(other, Tensor) else other


def _add(self, other, alpha=1):
    self.array += (other.array if isinstance(other, Tensor) else other) * alpha


def _to(self, *args, **kwargs):
    """.to(device), .to(dtype), .to(device, dtype), .to(other_tensor), as PyTorch's."""
    target = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            target, dtype = a.device, a.dtype
        elif isinstance(a, (str, device)):
            target = a
        else:
            dtype = a
    moved = self if target is None else Tensor.to_backend(self, target)
    if dtype is not None and numpy.dtype(dtype) != moved.dtype:
        moved = Tensor._wrap(moved.array.astype(dtype), moved.requires_grad)
    return moved


_TYPE_NAMES = dict(float32="FloatTensor", float64="DoubleTensor", float16="HalfTensor",
                   int64="LongTensor", int32="IntTensor", uint8="ByteTensor", bool="BoolTensor")


def _type(self, kind=None):
    if kind is None:  # "torch.FloatTensor", "torch.cuda.FloatTensor", as PyTorch names them
        name = _TYPE_NAMES.get(numpy.dtype(self.dtype).name, numpy.dtype(self.dtype).name)
        return "torch." + ("cuda." if self.is_cuda else "") + name
    if isinstance(kind, _LegacyTensor):
        return _to(self, kind.device, kind.dtype)
    return _to(self, kind)


def _install_tensor_methods():
    T = Tensor
    T.to_backend = T.to
    T.to = _to
    T.sum, T.mean = _reduction(F.sum), _reduction(F.mean)
    T.view, T.squeeze, T.unsqueeze, T.expand, T.flatten = (_view, _squeeze, _unsqueeze, _expand,
                                                           _flatten)
    T.view_as = lambda self, other: _view(self, other.shape)
    T.expand_as = lambda self, other: _expand(self, other.shape)
    T.dim = lambda self: self.ndim
    T.size = lambda self, dim=None: Size(self.shape) if dim is None else self.shape[dim]
    T.device = property(lambda self: device.of(self.array))
    T.norm = _norm
    T.fill_, T.zero_, T.normal_, T.uniform_, T.copy_ = (
        _in_place(_fill), _in_place(_zero), _in_place(_normal), _in_place(_uniform),
        _in_place(_copy))
    T.clamp_, T.mul_, T.add_ = _in_place(_clamp), _in_place(_mul), _in_place(_add)
    T.cpu = lambda self: _to(self, "cpu")
    T.cuda = lambda self, device=None: _to(self, "cuda")
    T.is_cuda = property(lambda self: B.backend_of(self.array).name == "cupy")
    T.float = lambda self: _to(self, numpy.float32)
    T.double = lambda self: _to(self, numpy.float64)
    T.long = lambda self: _to(self, numpy.int64)
    T.type = _type
    T.transpose, T.permute = _transpose, _permute
    T.__array__ = _to_numpy_array


def _transpose(self, *dims):
    """PyTorch's ``transpose(dim0, dim1)`` swaps two axes; a whole permutation, NumPy's
    spelling that the engine uses, still works."""
    dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
    if len(dims) == 2 and self.ndim != 2:
        return F.swapaxes(self, *dims)
    return F.transpose(self, *dims)


def _permute(self, *dims):
    return F.transpose(self, *dims)


def _to_numpy_array(self, dtype=None, copy=None):
    """numpy.asarray(cpu_tensor), as PyTorch allows; a GPU tensor must come to the host first."""
    if B.backend_of(self.array).name != "numpy":
        raise TypeError(f"can't convert a {B.backend_of(self.array).name} tensor to a NumPy "
                        "array: use .cpu() (or .numpy()) first")
    return self.array if dtype is None else self.array.astype(dtype, copy=False)


_install_tensor_methods()
