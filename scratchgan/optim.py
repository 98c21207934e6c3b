"""Optimizers with PyTorch's update rules, updating parameters in place."""
import numpy

from scratchgan import backend as B


class Optimizer:
    def __init__(self, params, defaults):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        self.defaults = dict(defaults)
        self.state = [dict() for _ in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.data, p.grad.data, state)

    def _update(self, param, grad, state):
        raise NotImplementedError

    # Hyper-parameters are attributes (opt.lr = ...) as in a single PyTorch param_group.
    def __getattr__(self, name):
        defaults = self.__dict__.get("defaults", {})
        if name in defaults:
            return defaults[name]
        raise AttributeError(name)

    def state_dict(self):
        """{'state': {i: {name: host array or number}}, 'param_groups': [hyper-parameters]}."""
        state = {i: {k: (B.to_numpy(v) if hasattr(v, "shape") else v) for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        return {"state": state, "param_groups": [dict(self.defaults)]}

    def load_state_dict(self, state_dict):
        saved = state_dict["state"]
        for i, s in saved.items():
            i = int(i)
            if i >= len(self.params):
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter {i}, "
                                 f"but the optimizer has {len(self.params)}")
            p = self.params[i]
            owner = B.backend_of(p.data)
            restored = {}
            for k, v in s.items():
                if hasattr(v, "shape") and v.shape != ():
                    if tuple(v.shape) != p.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: {k} of parameter {i} "
                                         f"has shape {tuple(v.shape)}, the parameter {p.shape}")
                    v = owner.asarray(numpy.asarray(v, dtype=p.dtype))
                restored[k] = v.item() if hasattr(v, "shape") and v.shape == () else v
            self.state[i] = restored
        self.defaults.update(state_dict["param_groups"][0])


class SGD(Optimizer):
    """p -= lr * (g + weight_decay * p), with momentum buffer b = momentum * b + g."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += g
            g = state["momentum_buffer"]
        p -= self.lr * g


def _cache_blocks(p, size=65536):
    """Index ranges over p's first axis of about `size` elements each (all of p off the CPU).

    NumPy makes one pass over memory per operation; Adam's dozen passes over five arrays cost
    half as much when each pass runs over a block that is still in cache.
    """
    if p.ndim == 0 or B.backend_of(p) is not B.get_backend("numpy"):
        return [Ellipsis]
    rows = max(1, size // max(1, p.size // p.shape[0]))
    return [slice(i, i + rows) for i in range(0, p.shape[0], rows)]


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction: p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def _update(self, p, g, state):
        xp = B.xp_of(p)
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, exp_avg=xp.zeros_like(p), exp_avg_sq=xp.zeros_like(p))
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        if self.weight_decay:
            g = g + self.weight_decay * p
        work = self._work_array(p)  # every temporary goes here: no new array per parameter and step
        step_size, root_correction2 = self.lr / (1 - beta1 ** t), (1 - beta2 ** t) ** 0.5
        for rows in _cache_blocks(p):
            m_, v_, w_ = m[rows], v[rows], work[rows]
            m_ *= beta1
            m_ += xp.multiply(g[rows], 1 - beta1, out=w_)
            v_ *= beta2
            xp.multiply(g[rows], g[rows], out=w_)
            w_ *= 1 - beta2
            v_ += w_
            if step_size == 0:  # lr 0: the moments move, the parameters do not
                continue
            # step_size·m/(√v/c2 + eps) = m/(√v·(1/(c2·step_size)) + eps/step_size): one pass fewer
            denom = xp.sqrt(v_, out=w_)
            denom *= 1.0 / (root_correction2 * step_size)
            denom += self.eps / step_size
            p[rows] -= xp.divide(m_, denom, out=w_)

    def _work_array(self, p):
        """Scratch shaped like p, from one buffer sized for the largest parameter."""
        work = self.__dict__.get("_work")
        if work is None or B.xp_of(work) is not B.xp_of(p) or work.dtype != p.dtype:
            largest = max(q.data.size for q in self.params)
            work = self._work = B.xp_of(p).empty(max(largest, p.size), dtype=p.dtype)
        return work[:p.size].reshape(p.shape)
