"""Optimizers with PyTorch's update rules, updating parameters in place."""
import numpy

from scratchgan import backend as B
from scratchgan.nn.module import zeros_like


class Optimizer:
    """One parameter group, as PyTorch's ``param_groups[0]``: {"params": [...], "lr": ...}."""

    def __init__(self, params, defaults):
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if isinstance(params[0], dict):
            raise NotImplementedError(f"{type(self).__name__}: scratchgan takes one parameter "
                                      "group (an iterable of parameters), not a list of dicts")
        self.params = params
        # The group is also ``defaults``, so that changing either (run/loop.py updates defaults,
        # PyTorch programs group["lr"]) changes what step() uses.
        self.defaults = dict(defaults, params=params)
        self.param_groups = [self.defaults]
        self.state = [dict() for _ in self.params]

    def zero_grad(self, set_to_none=True):
        """Gradients to None, or (set_to_none=False) the existing ones to zeros, as PyTorch."""
        for p in self.params:
            p.grad = None if set_to_none or p.grad is None else zeros_like(p.grad)

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                self._update(p.array, p.grad.array, state)
        return loss

    def _update(self, param, grad, state):
        raise NotImplementedError

    # Hyper-parameters are also attributes (opt.lr), read from the one group.
    def __getattr__(self, name):
        group = self.__dict__.get("defaults", {})
        if name in group and name != "params":
            return group[name]
        raise AttributeError(name)

    def state_dict(self):
        """{'state': {i: {name: host array or number}}, 'param_groups': [hyper-parameters and
        'params': the parameters' indices]}, as PyTorch's."""
        state = {i: {k: (B.to_numpy(v) if hasattr(v, "shape") else v) for k, v in s.items()}
                 for i, s in enumerate(self.state) if s}
        group = {k: v for k, v in self.defaults.items() if k != "params"}
        return {"state": state, "param_groups": [dict(group, params=list(range(len(self.params))))]}

    def load_state_dict(self, state_dict):
        saved = state_dict["state"]
        for i, s in saved.items():
            i = int(i)
            if i >= len(self.params):
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter {i}, "
                                 f"but the optimizer has {len(self.params)}")
            p = self.params[i]
            owner = B.backend_of(p.array)
            restored = {}
            for k, v in s.items():
                if hasattr(v, "shape") and v.shape != ():
                    if tuple(v.shape) != p.shape:
                        raise ValueError(f"{type(self).__name__}.load_state_dict: {k} of "
                                         f"parameter {i} has shape {tuple(v.shape)}, "
                                         f"the parameter {p.shape}")
                    v = owner.asarray(numpy.asarray(v, dtype=p.dtype))
                restored[k] = v.item() if hasattr(v, "shape") and v.shape == () else v
            self.state[i] = restored
        self.defaults.update((k, v) for k, v in state_dict["param_groups"][0].items()
                             if k != "params")


class SGD(Optimizer):
    """p -= lr * d with d = g + weight_decay * p, and with momentum the buffer
    b = momentum * b + (1 - dampening) * d (b = d on the first step) in place of d, or
    d + momentum * b with nesterov, as torch.optim.SGD."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.copy()
            else:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            buf = state["momentum_buffer"]
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class RMSprop(Optimizer):
    """v = alpha * v + (1 - alpha) * g²;  p -= lr * g / (√v + eps), as torch.optim.RMSprop
    (centered: v less the squared running mean of g; momentum: a buffer of g / (√v + eps))."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, p, g, state):
        xp = B.xp_of(p)
        if not state:
            state.update(step=0, square_avg=xp.zeros_like(p))
            if self.momentum:
                state["momentum_buffer"] = xp.zeros_like(p)
            if self.centered:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        if self.weight_decay:
            g = g + self.weight_decay * p
        a, v = self.alpha, state["square_avg"]
        v *= a
        v += (1 - a) * g * g
        if self.centered:
            mean = state["grad_avg"]
            mean *= a
            mean += (1 - a) * g
            avg = xp.sqrt(v - mean * mean) + self.eps
        else:
            avg = xp.sqrt(v) + self.eps
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p -= self.lr * buf
        else:
            p -= self.lr * (g / avg)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with PyTorch's bias correction:
    p -= lr/(1-β1ᵗ) · m / (√v/√(1-β2ᵗ) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    def _update(self, p, g, state):
        # m = β1·m + (1 − β1)·g,  v = β2·v + (1 − β2)·g²,
        # p −= lr/(1 − β1ᵗ) · m/(√v/√(1 − β2ᵗ) + eps)
        if not state:
            xp = B.xp_of(p)
            state.update(step=0, exp_avg=xp.zeros_like(p), exp_avg_sq=xp.zeros_like(p))
        state["step"] += 1
        beta1, beta2 = self.betas
        t = state["step"]
        if self.weight_decay:
            g = g + self.weight_decay * p
        B.adam(p, g, state["exp_avg"], state["exp_avg_sq"], beta1, beta2,
               step_size=self.lr / (1 - beta1 ** t), root_correction2=(1 - beta2 ** t) ** 0.5,
               eps=self.eps)
