"""Grades exercise 01: LogCosh.backward and Hypot.backward (lesson 03)."""
import numpy as np

import scratchgan as sg
from grading import assert_close, gradient_check

EXERCISE = "e01_op_backward"
RAW_ARRAYS = ("write the backward with Tensor ops (gy * F.tanh(x)), not on raw arrays: a "
              "gradient computed from .array or numpy is a constant to autograd, so its own "
              "derivative is lost (lesson 03)")


def random(*shape, seed=0):
    return sg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_logcosh_derivative_is_tanh(exercise):
    x = sg.tensor([-3.0, -0.5, 0.0, 0.25, 2.0], requires_grad=True)
    exercise.logcosh(x).sum().backward()
    assert_close(x.grad, np.tanh(x.numpy()), "d logcosh(x)/dx at x = [-3, -0.5, 0, 0.25, 2]",
                 "the derivative of log(cosh x) is sinh x / cosh x = tanh x; "
                 "multiply it by gy")


def test_logcosh_gradcheck(exercise):
    gradient_check(exercise.logcosh, [random(3, 4)], "LogCosh on a (3, 4) input",
                   "return gy * tanh(x), element by element, x's shape")


def test_logcosh_second_derivative(exercise):
    x = sg.tensor([-2.0, 0.0, 1.5], requires_grad=True)
    (dx,) = sg.grad(exercise.logcosh(x).sum(), x, create_graph=True)
    if not dx.requires_grad:
        raise AssertionError("the gradient of logcosh has no graph under create_graph=True. "
                             f"Hint: {RAW_ARRAYS}")
    (d2x,) = sg.grad(dx.sum(), x)
    assert_close(d2x, 1 - np.tanh(x.numpy()) ** 2, "d² logcosh(x)/dx² = 1 − tanh² x", RAW_ARRAYS)
    gradient_check(exercise.logcosh, [random(2, 3)], "LogCosh", RAW_ARRAYS, second_order=True)


def test_hypot_derivatives(exercise):
    a = sg.tensor([3.0, -5.0], requires_grad=True)
    b = sg.tensor([4.0, 12.0], requires_grad=True)
    (exercise.hypot(a, b) * sg.tensor([1.0, 2.0])).sum().backward()  # gy = [1, 2]
    hint = "dy/da = a / y and dy/db = b / y, each times gy; return the pair (da, db)"
    assert_close(a.grad, [3 / 5, 2 * -5 / 13], "d/da of hypot at (3, 4) and (-5, 12), gy = [1, 2]",
                 hint)
    assert_close(b.grad, [4 / 5, 2 * 12 / 13], "d/db of hypot at (3, 4) and (-5, 12), gy = [1, 2]",
                 hint)


def test_hypot_gradcheck(exercise):
    gradient_check(exercise.hypot, [random(3, 4, seed=1), random(3, 4, seed=2)],
                   "Hypot on (3, 4) inputs", "return (gy * a / y, gy * b / y), in that order")


def test_hypot_second_order(exercise):
    gradient_check(exercise.hypot, [random(2, 3, seed=3), random(2, 3, seed=4)], "Hypot",
                   RAW_ARRAYS + "; self.output is a Tensor whose graph leads back to a and b",
                   second_order=True)
