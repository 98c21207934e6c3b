"""Tensor and reverse-mode autograd.

A ``Function`` computes its ``forward`` on raw backend arrays and writes its ``backward`` with
differentiable ops on Tensors. Under ``create_graph=True`` that backward builds a graph of its
own, which is all a gradient of a gradient (WGAN-GP) needs. Operators such as ``+`` and ``@``
are attached to Tensor by ``scratchgan.functional``, where the ops live.
"""
import contextlib
import functools
import weakref

from scratchgan import backend as B

_grad_enabled = True


def is_grad_enabled():
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _grad_enabled
        self.previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous


def no_grad():
    """Context manager / decorator: ops inside record no graph (inference, optimizer steps)."""
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


class Tensor:
    """A backend array, an optional gradient, and the Function that made it."""

    __array_ufunc__ = None  # numpy_array + tensor -> Tensor.__radd__, never an object array
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            data = data.array
        owner = B.backend_of(data)
        if dtype is None and not _is_floating_array(data, owner):
            # Python numbers and lists become float32; integer arrays (labels) keep their type.
            if not (isinstance(data, owner.array_type) and data.dtype.kind in "iub"):
                dtype = B.DTYPE
        self.array = owner.asarray(data, dtype=dtype)
        if requires_grad and self.array.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.array.dtype}")
        self.requires_grad = requires_grad
        self.grad = None
        self.creator = None

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """Fast path for ops: the array is already a backend array of the right dtype."""
        t = cls.__new__(cls)
        t.array, t.requires_grad, t.grad, t.creator = array, requires_grad, None, None
        return t

    # -- what a user reads --
    shape = property(lambda self: self.array.shape)
    dtype = property(lambda self: self.array.dtype)
    ndim = property(lambda self: self.array.ndim)
    device = property(lambda self: B.backend_of(self.array).name)
    is_leaf = property(lambda self: self.creator is None)

    def size(self, dim=None):
        """The shape, or its length along ``dim`` (PyTorch's spelling)."""
        return self.shape if dim is None else self.shape[dim]

    def numel(self):
        return self.array.size

    @property
    def data(self):
        """This tensor's storage as a Tensor that records no graph (as PyTorch's ``.data``): an
        in-place change to it, ``m.weight.data.normal_(0, 0.02)``, changes this tensor. The
        engine itself reads the raw array, ``.array``."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        self.array = value.array if isinstance(value, Tensor) else value

    def __len__(self):
        return len(self.array)

    def __repr__(self):
        body = repr(self.numpy()).replace("array(", "tensor(", 1)
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.creator is not None:
            extra = f", grad_fn={type(self.creator).__name__}"
        return body[:-1] + extra + ")" if extra else body

    def numpy(self):
        """A host NumPy copy, whether or not the tensor requires grad."""
        return B.to_numpy(self.array)

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self):
        """The same data, cut from the graph."""
        return Tensor._wrap(self.array)

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    def to(self, backend):
        """A copy of this tensor on another backend ("numpy" or "cupy")."""
        target = B.get_backend(backend)
        if B.backend_of(self.array) is target:
            return self
        moved = Tensor._wrap(target.asarray(B.to_numpy(self.array)), self.requires_grad)
        return moved

    def zero_grad(self):
        self.grad = None

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``, as PyTorch does; the graph is
        freed on the way unless ``retain_graph`` (which defaults to ``create_graph``)."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: "
                               "no input of the computation has requires_grad=True")
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(f"backward() on a non-scalar tensor of shape {self.shape} "
                                   "needs a gradient argument of the same shape (or reduce it "
                                   "with .sum())")
            gradient = Tensor._wrap(B.xp_of(self.array).ones_like(self.array))
        keep = create_graph if retain_graph is None else retain_graph
        _backpropagate([self], [_as_grad(gradient, self)], create_graph, keep, inputs=None)


def _is_floating_array(data, owner):
    return isinstance(data, owner.array_type) and data.dtype.kind == "f"


def _as_grad(g, like):
    g = g if isinstance(g, Tensor) else Tensor(g, dtype=like.dtype)
    if g.shape != like.shape:
        raise RuntimeError(f"gradient of shape {g.shape} given for a tensor of shape {like.shape}")
    return g


class Function:
    """One differentiable op: ``forward`` on arrays, ``backward`` with ops on Tensors.

    ``backward`` receives the output's gradient and returns one gradient (or None) per input.
    Inside it, ``self.inputs`` are the input Tensors and ``self.output`` the output Tensor.

    An op may also define ``fast_backward``: the same derivatives on raw arrays, fused into a
    backend kernel. The engine calls it instead when no graph of the gradient is being built
    (``create_graph=False``, the usual first-order backward); tests check the two agree.
    """

    def __call__(self, *inputs):
        inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        out = Tensor._wrap(self.forward(*[x.array for x in inputs]))
        if _grad_enabled and any(x.requires_grad for x in inputs):
            out.requires_grad, out.creator = True, self
            self.inputs = inputs
            # backward may skip the rest
            self.needs_input_grad = tuple(x.requires_grad for x in inputs)
            self._output = weakref.ref(out)  # a strong reference would be a cycle
        return out

    @property
    def output(self):
        return self._output()

    def free(self):
        """Let go of what backward needed (inputs, saved arrays): called after it ran, unless
        the graph is retained. A second backward through this op then raises."""
        self.__dict__ = {"freed": True}

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError


def _topological_order(roots):
    """Tensors reachable from ``roots`` that require grad, each after everything it feeds."""
    order, seen = [], set()
    stack = [(r, False) for r in roots if r.requires_grad]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        if t.creator is not None:
            if "freed" in vars(t.creator):
                raise RuntimeError(
                    f"backward through the graph a second time: {type(t.creator).__name__}'s "
                    "saved values were freed by the first backward; pass retain_graph=True to "
                    "the first backward() or grad() if you need to go through it again")
            stack.extend((x, False) for x in t.creator.inputs
                         if x.requires_grad and id(x) not in seen)
    return order[::-1]


def _leading_to(order, wanted):
    """ids of the tensors in ``order`` from which some wanted tensor can be reached."""
    relevant = set()
    for t in reversed(order):  # producers before consumers
        if id(t) in wanted or (t.creator is not None and
                               any(id(x) in relevant for x in t.creator.inputs)):
            relevant.add(id(t))
    return relevant


def _backpropagate(outputs, grad_outputs, create_graph, retain_graph, inputs):
    """Run backward from ``outputs``; return grads of ``inputs``, or accumulate into leaves."""
    grads = {}
    for o, g in zip(outputs, grad_outputs):
        grads[id(o)] = grads[id(o)] + g if id(o) in grads else g
    order = _topological_order(outputs)
    wanted = relevant = None
    if inputs is not None:  # grad(): walk only the part of the graph that reaches the inputs
        wanted = {id(x) for x in inputs}
        relevant = _leading_to(order, wanted)
    found = {}
    with _GradMode(create_graph):
        for t in order:
            if relevant is not None and id(t) not in relevant:
                continue
            g = grads.pop(id(t), None)
            if g is None:
                continue
            if wanted is not None and id(t) in wanted:
                found[id(t)] = g
            if t.creator is None:
                if wanted is None:
                    # A new Tensor, never `+=`: g may be shared with another input's gradient.
                    t.grad = g if t.grad is None else t.grad + g
                    if not create_graph:
                        t.grad = _laid_out_like(t.grad.detach(), t)
                continue
            f = t.creator
            f.needs_input_grad = tuple(x.requires_grad if relevant is None else id(x) in relevant
                                       for x in f.inputs)
            if create_graph or not hasattr(f, "fast_backward"):
                gxs = f.backward(g)
            else:
                gxs = tuple(None if a is None else Tensor._wrap(a)
                            for a in f.fast_backward(g.array))
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx, needed in zip(f.inputs, gxs, f.needs_input_grad):
                if gx is None or not needed:
                    continue
                grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx
            if not retain_graph:
                f.free()
    return found


def _laid_out_like(g, t):
    """g in t's memory layout, as PyTorch's .grad is: a Linear weight's gradient arrives
    transposed, and the optimizer would stride through it in every one of its passes."""
    if t.array.flags.c_contiguous and not g.array.flags.c_contiguous:
        return Tensor._wrap(B.xp_of(g.array).ascontiguousarray(g.array))
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=False):
    """d(outputs)/d(inputs) as a tuple of Tensors, leaving every ``.grad`` untouched.

    As torch.autograd.grad: the graph is freed unless ``retain_graph`` (default: ``create_graph``);
    ``only_inputs`` is accepted and ignored, as PyTorch does.
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    seeds = []
    for o, g in zip(outputs, grad_outputs):
        if not o.requires_grad:
            raise RuntimeError("grad(): an output does not require grad")
        if g is None:
            if o.array.size != 1:
                raise RuntimeError(f"grad(): output of shape {o.shape} is not a scalar; "
                                   "pass grad_outputs of the same shape")
            g = Tensor._wrap(B.xp_of(o.array).ones_like(o.array))
        seeds.append(_as_grad(g, o))
    keep = create_graph if retain_graph is None else retain_graph
    found = _backpropagate(outputs, seeds, create_graph, keep, inputs)
    result = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def as_tensor(x, like=None):
    """A Tensor for ``x``; numbers take the dtype and backend of ``like``."""
    if isinstance(x, Tensor):
        return x
    if like is not None and not isinstance(x, B.backend_of(like.array).array_type):
        return Tensor._wrap(B.xp_of(like.array).asarray(x, dtype=like.dtype))
    return Tensor(x)


def inference(fn):
    """Decorator: run ``fn`` without recording a graph."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with no_grad():
            return fn(*args, **kwargs)
    return wrapper
