"""Exercise 04: the WGAN-GP gradient penalty (after lesson 12).

A WGAN critic D must be 1-Lipschitz: its gradient with respect to its input should have norm 1.
WGAN-GP (Gulrajani et al. 2017) asks for it softly, adding λ·penalty to the critic's loss, at
points x̂ on the segments between real and fake samples:

  x̂ = ε·x + (1 − ε)·x̃         one ε in [0, 1) per sample: shape (N, 1, ..., 1)
  g = ∂ Σ D(x̂) / ∂x̂           (N, ...): each sample's own gradient, D(x̂)_i depends on x̂_i only
  ‖g_i‖ = √(Σ g_i² + 1e-12)   over every axis but the batch one; 1e-12 keeps √ differentiable
  penalty = mean_i (‖g_i‖ − 1)²

The penalty is a function of a gradient, and the critic's optimiser needs *its* gradient with
respect to D's parameters: a gradient of a gradient. ``sg.grad(out, x̂, create_graph=True)``
returns g with the graph of its computation, so that the penalty can be differentiated again
(lesson 12). x̂ must be a leaf that requires grad: build it from the values, then
``.requires_grad_()``.

Grade it:  pytest exercises/test_e04_gradient_penalty.py
"""
import scratchgan as sg  # noqa: F401 (for your code)
from scratchgan import functional as F  # noqa: F401 (for your code)


def per_sample_norms(g):
    """g: Tensor (N, ...). Returns the Tensor (N,) of √(Σ g_i² + 1e-12), the sum over every
    axis of sample i, made of Tensor ops (it will be differentiated)."""
    raise NotImplementedError("write per_sample_norms: see lesson 12")


def gradient_penalty(D, real, fake, eps):
    """The penalty mean_i (‖∇D(x̂)_i‖ − 1)² at x̂ = ε·real + (1 − ε)·fake (a scalar Tensor).

    D: the critic, a callable (N, ...) -> (N, 1); real, fake: Tensors (N, ...) that need no
    gradient (detach ``fake`` first if it comes from G with its graph); eps: Tensor (N, 1, ..., 1)
    in [0, 1). The result must be differentiable with respect to D's parameters.
    """
    raise NotImplementedError("write gradient_penalty: see lesson 12")
