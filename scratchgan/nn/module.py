"""Module: a container of parameters, buffers and sub-modules, with PyTorch's interface."""
from collections import OrderedDict

import numpy

from scratchgan import backend as B
from scratchgan.tensor import Tensor


def zeros_like(t):
    return Tensor._wrap(B.xp_of(t.array).zeros_like(t.array))


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates."""

    def __init__(self, data, requires_grad=True):
        super().__init__(data, requires_grad=requires_grad)


class Module:
    """Subclasses set parameters and layers as attributes in __init__ and define forward()."""

    def __init__(self):
        self.__dict__.update(_parameters=OrderedDict(), _buffers=OrderedDict(),
                             _modules=OrderedDict(), training=True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() "
                                 "before setting attributes")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name, value):
        """State that is saved and moved with the module but not trained (running statistics)."""
        setattr(self, name, value)
        self._buffers[name] = value

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # -- walking the tree --
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def named_children(self):
        return iter(self._modules.items())

    def add_module(self, name, module):
        setattr(self, name, module)

    def apply(self, fn):
        """Call fn on every sub-module, children before their parent, and on self; return self."""
        for child in self._modules.values():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(self, prefix=""):
        for path, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                yield (f"{path}.{name}" if path else name), p

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for path, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{path}.{name}" if path else name), b

    # -- modes and gradients --
    def train(self, mode=True):
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Gradients to None, or (set_to_none=False) the existing ones to zeros, as PyTorch."""
        for p in self.parameters():
            p.grad = None if set_to_none or p.grad is None else zeros_like(p.grad)

    def requires_grad_(self, flag=True):
        for p in self.parameters():
            p.requires_grad = flag
        return self

    # -- state --
    def _named_state(self):
        """Parameters and buffers by dotted name, module by module as PyTorch orders them."""
        for path, module in self.named_modules():
            for name, t in list(module._parameters.items()) + list(module._buffers.items()):
                yield (f"{path}.{name}" if path else name), t

    def state_dict(self):
        """Every parameter and buffer by dotted name, as host NumPy copies (np.savez-ready)."""
        return OrderedDict((name, B.to_numpy(t.array if isinstance(t, Tensor) else t))
                           for name, t in self._named_state())

    def load_state_dict(self, state, strict=True):
        """Copy arrays into the existing parameters and buffers, checking names and shapes."""
        targets = OrderedDict(self._named_state())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, target in targets.items():
            if name not in state:
                continue
            value = state[name].array if isinstance(state[name], Tensor) else state[name]
            if tuple(value.shape) != tuple(target.shape):
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has shape "
                                 f"{tuple(value.shape)} in the state but {tuple(target.shape)} "
                                 "in the model")
            host = B.to_numpy(value).astype(target.array.dtype, copy=False)
            target.array[...] = B.backend_of(target.array).asarray(host)
        return self

    def _apply(self, fn):
        for t in list(self._parameters.values()) + list(self._buffers.values()):
            t.array = fn(t.array)
            t.grad = None
        for child in self._modules.values():
            child._apply(fn)
        return self

    def to(self, *args, **kwargs):
        """.to(device), .to(dtype) or both, in place, as PyTorch's: "cpu" is the NumPy backend,
        "cuda" ("cuda:0", a scratchgan.device) CuPy; a dtype casts the floating parameters."""
        for a in args + tuple(kwargs.values()):
            if isinstance(a, (type, numpy.dtype)):
                self._apply(lambda t, dtype=a: t.astype(dtype) if t.dtype.kind == "f" else t)
            else:
                target = B.get_backend(a)
                self._apply(lambda t, to=target: t if B.backend_of(t) is to else
                            to.asarray(B.to_numpy(t)))
        return self

    def cuda(self, device=None):
        return self.to("cuda")

    def cpu(self):
        return self.to("cpu")

    def double(self):  # float64 parameters, for gradient checks
        return self.to(numpy.float64)

    def float(self):
        return self.to(numpy.float32)

    # -- printing --
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
