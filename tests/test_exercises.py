"""exercises/ grades itself: the solutions pass every grading test, the gap files as shipped fail
every one (so no test passes without the student's code), and the gaps are still there.

The grading tests run in a subprocess, `python -m pytest exercises/`, as a student runs them;
SCRATCHGAN_EXERCISES=solutions makes them grade exercises/solutions/ instead of the gap files.
"""
import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
# The grading tests of each exercise, and the gaps (raise NotImplementedError) of its file.
TESTS = {"e01_op_backward": 6, "e02_batch_norm": 7, "e03_gan_steps": 6,
         "e04_gradient_penalty": 6, "e05_inversion": 5}
GAPS = {"e01_op_backward": 2, "e02_batch_norm": 2, "e03_gan_steps": 2,
        "e04_gradient_penalty": 2, "e05_inversion": 2}


def grade(tmp_path, which):
    """Run pytest on exercises/ grading ``which`` ("student" or "solutions"); returns
    {exercise: {test name: outcome}} from its JUnit XML, and pytest's output."""
    env = dict(os.environ, SCRATCHGAN_EXERCISES=which, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SCRATCHGAN_BACKEND", None)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # small matrices: BLAS threads only wait
    report = tmp_path / f"{which}.xml"
    run = subprocess.run([sys.executable, "-m", "pytest", "exercises", "-q", "-p",
                          "no:cacheprovider", f"--junitxml={report}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert report.exists(), f"pytest wrote no report (exit status {run.returncode}):\n{output}"
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        exercise = case.get("classname").rsplit(".", 1)[-1].removeprefix("test_")
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes.setdefault(exercise, {})[case.get("name")] = kinds[0] if kinds else "passed"
    return outcomes, output


def test_the_solutions_pass_every_grading_test(tmp_path):
    outcomes, output = grade(tmp_path, "solutions")
    counts = {name: len(tests) for name, tests in outcomes.items()}
    assert counts == TESTS, f"grading tests per exercise {counts}, expected {TESTS}:\n{output}"
    bad = {f"{name}::{test}": outcome for name, tests in outcomes.items()
           for test, outcome in tests.items() if outcome != "passed"}
    assert not bad, f"the solutions do not pass {bad}:\n{output[-6000:]}"


def test_the_gap_files_fail_every_grading_test(tmp_path):
    outcomes, output = grade(tmp_path, "student")
    counts = {name: len(tests) for name, tests in outcomes.items()}
    assert counts == TESTS, f"grading tests per exercise {counts}, expected {TESTS}:\n{output}"
    # A failure, not an error: the test ran and reached the gap (an error would be a broken
    # fixture or module); a pass would grade nothing the student writes.
    bad = {f"{name}::{test}": outcome for name, tests in outcomes.items()
           for test, outcome in tests.items() if outcome != "failure"}
    assert not bad, f"grading tests that do not fail on the gap files: {bad}:\n{output[-6000:]}"
    assert "NotImplementedError" in output


def top_level_api(path):
    """{name: (arguments, docstring)} of the functions, classes and methods of a file."""
    api = {}

    def visit(nodes, prefix):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                name = prefix + node.name
                arguments = ast.unparse(node.args) if isinstance(node, ast.FunctionDef) else ""
                api[name] = (arguments, ast.get_docstring(node))
                if isinstance(node, ast.ClassDef):
                    visit(node.body, name + ".")

    tree = ast.parse(path.read_text())
    visit(tree.body, "")
    api["<module>"] = ("", ast.get_docstring(tree))
    return api


@pytest.mark.parametrize("name", sorted(GAPS))
def test_the_exercise_files_keep_their_gaps(name):
    exercise, solution = EXERCISES / f"{name}.py", EXERCISES / "solutions" / f"{name}.py"
    gaps = exercise.read_text().count("raise NotImplementedError(")
    assert gaps == GAPS[name], (f"{exercise.name} has {gaps} gaps (raise NotImplementedError), "
                                f"expected {GAPS[name]}: a solution committed into the exercise?")
    assert "NotImplementedError" not in solution.read_text(), f"solutions/{name}.py has a gap"
    # The same functions with the same arguments and docstrings: only the bodies differ.
    assert top_level_api(exercise) == top_level_api(solution), (
        f"{exercise.name} and solutions/{solution.name} differ in more than the gaps' bodies")
    assert (EXERCISES / f"test_{name}.py").exists()
