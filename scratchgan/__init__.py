"""scratchgan: generative adversarial networks from scratch on NumPy, and on CuPy with one switch.

    import scratchgan as sg
    from scratchgan import nn, functional as F
"""
from scratchgan import functional, nn, optim
from scratchgan.backend import (BackendError, get_backend, get_num_threads, seed, set_num_threads,
                                to_numpy, use_backend)
from scratchgan.gradcheck import GradcheckError, gradcheck, gradgradcheck
from scratchgan.tensor import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad

__version__ = "0.1.0"


def tensor(data, requires_grad=False, dtype=None):
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


__all__ = ["Tensor", "Function", "tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled",
           "gradcheck", "gradgradcheck", "GradcheckError", "use_backend", "get_backend", "seed",
           "to_numpy", "BackendError", "set_num_threads", "get_num_threads", "functional", "nn",
           "optim"]
