"""torch.autograd's names: ``import scratchgan.autograd as autograd``, then ``autograd.grad``."""
from scratchgan.compat import Variable
from scratchgan.tensor import Function, enable_grad, grad, no_grad

__all__ = ["Function", "Variable", "enable_grad", "grad", "no_grad"]
