"""Check autograd against central differences, in float64, element by element.

We differentiate sum(c * f(x)) with a random c: a plain sum(f(x)) hides errors, since for
some ops (batch norm) the true gradient of the sum is zero whatever the code gets wrong.
"""
import numpy

from scratchgan import backend as B
from scratchgan.nn.module import Module
from scratchgan.tensor import Tensor, enable_grad, grad


class GradcheckError(AssertionError):
    """Autograd and finite differences disagree; the message names the worst element."""


def _float64_copy(t):
    data = t.array if isinstance(t, Tensor) else t
    copy = B.xp_of(data).array(data, dtype=numpy.float64, copy=True)
    return Tensor._wrap(copy, requires_grad=True)


def _as_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _weighted_sum(outputs, weights):
    total = None
    for o, w in zip(outputs, weights):
        term = (o * Tensor._wrap(w)).sum()
        total = term if total is None else total + term
    return total


def _random_like(shape, rng, like):
    return B.xp_of(like).asarray(rng.standard_normal(shape))


def _check(fn, inputs, eps, atol, rtol, seed, what):
    """Shared core: compare grad of sum(c * fn(*inputs)) with central differences."""
    rng = numpy.random.default_rng(seed)
    outputs = _as_outputs(fn(*inputs))
    weights = [_random_like(o.shape, rng, o.array) for o in outputs]

    def objective():
        return _weighted_sum(_as_outputs(fn(*inputs)), weights)

    loss = objective()
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if loss.requires_grad:
        analytic = grad(loss, diff, allow_unused=True)
    else:
        analytic = [None] * len(diff)
    worst = (0.0, None)
    for k, (x, g) in enumerate(zip(diff, analytic)):
        g = numpy.zeros(x.shape) if g is None else B.to_numpy(g.array)
        for index in numpy.ndindex(*x.shape):
            original = x.array[index].item()
            with enable_grad():  # the objective of gradgradcheck itself runs a backward pass
                x.array[index] = original + eps
                plus = objective().item()
                x.array[index] = original - eps
                minus = objective().item()
            x.array[index] = original
            numeric = (plus - minus) / (2 * eps)
            error = abs(numeric - g[index])
            excess = error / (atol + rtol * abs(numeric))
            if excess > worst[0]:
                rel = error / max(abs(numeric), 1e-12)
                worst = (excess, f"{what} failed for input {k} (shape {x.shape}) at index {index}: "
                                 f"autograd {g[index]:.8g}, finite differences {numeric:.8g}, "
                                 f"relative error {rel:.3g} (atol={atol}, rtol={rtol})")
    if worst[0] > 1:
        raise GradcheckError(worst[1])
    return True


def _prepare(fn, inputs):
    """float64 copies of the inputs; a Module's parameters (in float64) join the checked inputs."""
    inputs = [_float64_copy(x) if isinstance(x, Tensor) or hasattr(x, "shape") else x
              for x in inputs]
    if not isinstance(fn, Module):
        return fn, inputs, lambda: None
    module, params = fn, fn.parameters()
    saved = [p.array for p in params]
    module.double()  # parameters and buffers (running statistics) in float64

    def call(*args):
        return module(*args[:len(inputs)])  # the parameters themselves are the extra inputs

    def restore():
        for p, data in zip(params, saved):
            p.array = data
        module.float()
    return call, inputs + params, restore


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """True if autograd's gradient of ``fn`` matches central differences for every input element.

    ``fn`` takes Tensors and returns a Tensor (or a tuple of them); a Module's parameters are
    checked too. Raises GradcheckError naming the worst element otherwise.
    """
    call, xs, restore = _prepare(fn, inputs)
    try:
        return _check(call, xs, eps, atol, rtol, seed, "gradcheck")
    finally:
        restore()


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """gradcheck of the first gradient: the second derivatives of ``fn`` (what WGAN-GP needs)."""
    call, xs, restore = _prepare(fn, inputs)
    rng = numpy.random.default_rng(seed + 1)
    diff_index = [i for i, x in enumerate(xs) if isinstance(x, Tensor)]
    outputs = _as_outputs(call(*xs))
    out_weights = [_random_like(o.shape, rng, o.array) for o in outputs]
    grad_weights = [_random_like(xs[i].shape, rng, xs[i].array) for i in diff_index]

    def first_gradient(*args):
        loss = _weighted_sum(_as_outputs(call(*args)), out_weights)
        diff = [args[i] for i in diff_index]
        grads = (grad(loss, diff, create_graph=True, allow_unused=True) if loss.requires_grad
                 else [None] * len(diff))
        used = [(g, w) for g, w in zip(grads, grad_weights) if g is not None]
        if not used:
            return Tensor._wrap(B.xp_of(xs[diff_index[0]].array).zeros((), dtype=numpy.float64))
        return _weighted_sum([g for g, _ in used], [w for _, w in used])

    try:
        return _check(first_gradient, xs, eps, atol, rtol, seed, "gradgradcheck")
    finally:
        restore()
