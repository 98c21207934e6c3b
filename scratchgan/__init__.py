"""scratchgan: generative adversarial networks from scratch on NumPy, and on CuPy with one switch.

    import scratchgan as sg
    from scratchgan import nn, functional as F

PyTorch's names work too (scratchgan/compat.py), so ``import scratchgan as torch`` runs the
well-known PyTorch GAN programs; a name scratchgan lacks fails with a message that says so.
"""
from scratchgan import compat, functional, nn, optim
from scratchgan import autograd  # after compat: torch.autograd's names
from scratchgan.backend import (BackendError, get_backend, get_num_threads, seed, set_num_threads,
                                to_numpy, use_backend)
from scratchgan.compat import (DoubleTensor, FloatTensor, LongTensor, Size, Variable,
                               are_deterministic_algorithms_enabled, as_tensor, backends, cat,
                               concat, cuda, device, empty, empty_like, from_numpy, full,
                               full_like, is_tensor, load, manual_seed, numel, ones, ones_like,
                               rand, rand_like, randn, randn_like, save, set_grad_enabled, stack,
                               tensor, use_deterministic_algorithms, zeros, zeros_like)
from scratchgan.compat import (add, bool, clamp, div, double, exp, float, float16, float32,
                               float64, half, int, int32, int64, log, long, matmul, mean, mul,
                               relu, sigmoid, sqrt, sub, sum, tanh, uint8)
from scratchgan.gradcheck import GradcheckError, gradcheck, gradgradcheck
from scratchgan.tensor import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad

__version__ = "0.1.0"


def __getattr__(name):
    raise AttributeError(f"scratchgan has no {name!r}: it implements the part of PyTorch's API "
                         "that GAN programs use, and not this (see the README's PyTorch table)")
