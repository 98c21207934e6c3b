"""What the graders share: which exercise files are graded, and checks that explain a failure.

``SCRATCHGAN_EXERCISES`` picks the files: unset (or "student") grades yours, exercises/eNN_*.py;
"solutions" grades exercises/solutions/eNN_*.py (what tests/test_exercises.py does in CI).
"""
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

import scratchgan as sg

HERE = Path(__file__).resolve().parent
FOLDERS = {"student": HERE, "solutions": HERE / "solutions"}


def graded():
    """("student" or "solutions", the folder whose eNN_*.py files are graded)."""
    which = os.environ.get("SCRATCHGAN_EXERCISES") or "student"
    if which not in FOLDERS:
        raise ValueError(f"SCRATCHGAN_EXERCISES={which!r}: expected 'student' (or unset) or "
                         "'solutions'")
    return which, FOLDERS[which]


def load(name):
    """The module exercises/<name>.py, or exercises/solutions/<name>.py (see ``graded``)."""
    which, folder = graded()
    module_name = f"graded_{which}_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def numpy_of(x):
    if x is None:
        raise AssertionError("got None where a gradient (a Tensor) was expected: does your "
                             "backward return a gradient for every input?")
    return sg.to_numpy(x.array) if isinstance(x, sg.Tensor) else np.asarray(x)


def assert_close(got, expected, what, hint="", rtol=1e-5, atol=1e-6):
    """got ≈ expected element-wise, or an AssertionError that shows both and the hint."""
    got, expected = numpy_of(got), np.asarray(expected)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: expected shape {expected.shape}, got {got.shape}"
                             + (f"\nHint: {hint}" if hint else ""))
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = np.abs(got - expected).max()
        with np.printoptions(precision=5, suppress=True, threshold=20):
            raise AssertionError(f"{what}:\n  expected {expected}\n  got      {got}\n"
                                 f"  largest difference {worst:.3g}"
                                 + (f"\nHint: {hint}" if hint else ""))


def gradient_check(fn, inputs, what, hint, second_order=False):
    """scratchgan.gradcheck (or gradgradcheck) of fn at inputs; a failure says what and why."""
    check_shapes(fn, inputs, what, hint)
    check = sg.gradgradcheck if second_order else sg.gradcheck
    try:
        check(fn, inputs)
    except sg.GradcheckError as e:
        order = "second derivatives" if second_order else "gradient"
        raise AssertionError(f"{what}: the {order} disagrees with finite differences.\n  {e}\n"
                             f"Hint: {hint}") from None


def check_shapes(fn, inputs, what, hint):
    """fn's output has a graph, and every input's gradient has the input's shape (gradcheck
    would fail less clearly)."""
    inputs = [x.detach().requires_grad_() for x in inputs]
    out = fn(*inputs)
    if not out.requires_grad:
        raise AssertionError(f"{what}: the result has no graph back to the inputs (its "
                             f"requires_grad is False).\nHint: {hint}")
    weights = sg.tensor(np.random.default_rng(0).standard_normal(out.shape))
    grads = sg.grad((out * weights).sum(), inputs, allow_unused=True)
    for k, (x, g) in enumerate(zip(inputs, grads)):
        if g is not None and tuple(g.shape) != tuple(x.shape):
            raise AssertionError(f"{what}: the gradient of input {k} has shape {tuple(g.shape)}, "
                                 f"the input has shape {tuple(x.shape)}: a gradient has the shape "
                                 "of its input")
