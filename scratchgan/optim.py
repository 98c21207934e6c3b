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
                self._update(p.array, p.grad.array, state)

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
