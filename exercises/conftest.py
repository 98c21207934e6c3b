"""pytest's set-up for the exercises: the graded module of each test file, and a score.

Each test file names its exercise (``EXERCISE = "e01_op_backward"``) and its tests take the
``exercise`` fixture: that module, from your files or from the solutions (grading.py says which).
Every test is worth one point; the summary at the end adds them up per exercise.
"""
from collections import defaultdict

import pytest

from grading import graded, load
from scratchgan import backend as B

_points = defaultdict(lambda: [0, 0])  # exercise -> [passed, tests]


@pytest.fixture(scope="module")
def exercise(request):
    """The module that this test file grades."""
    return load(request.module.EXERCISE)


@pytest.fixture(autouse=True)
def numpy_backend_and_seed():
    """Every test starts on the NumPy backend with seeded generators."""
    B.use_backend("numpy")
    B.seed(0)
    yield
    B.use_backend("numpy")


def pytest_report_header(config):
    which, folder = graded()
    return f"grading the {which} files in {folder}"


def pytest_runtest_logreport(report):
    name = report.nodeid.split("::")[0].rsplit("/", 1)[-1].removeprefix("test_")
    name = name.removesuffix(".py")
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _points[name][1] += 1
        _points[name][0] += report.passed


def pytest_terminal_summary(terminalreporter):
    if not _points:
        return
    write = terminalreporter.write_line
    terminalreporter.section("score (one point per test)")
    for name, (passed, tests) in sorted(_points.items()):
        write(f"{name:24s} {passed:3d} / {tests}")
    passed, tests = (sum(column) for column in zip(*_points.values()))
    write(f"{'total':24s} {passed:3d} / {tests}")
