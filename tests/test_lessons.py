"""Every lesson in lessons/ runs to the end, in quick mode, as a student would start it, and keeps
the course's shape: a 'Lesson NN:' docstring that names what it builds on, notebook cells, command
line flags read only when run as a script, a figure saved, and a 'Try this' section.

Each lesson checks what it teaches with assertions (gradients against hand formulas, the adjoint
identity, the penalty falling...), so exit status 0 means those checks held. Lessons run in a
fresh process on the NumPy backend, from a temporary folder, writing their pictures there.
"""
import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON_DIR = ROOT / "lessons"
LESSONS = sorted(LESSON_DIR.glob("[0-9][0-9]_*.py"))
MAIN_GUARD = '__name__ == "__main__"'


def lesson_env():
    env = dict(os.environ, SCRATCHGAN_LESSON_QUICK="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SCRATCHGAN_BACKEND", None)  # lessons that use a GPU ask for it themselves
    # Quick lessons multiply small matrices, for which BLAS threads only spin and wait.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_there_are_sixteen_or_more_lessons_numbered_in_order():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(len(LESSONS))), f"lesson numbers {numbers} have gaps or repeats"
    assert len(LESSONS) >= 16


def test_readme_lists_every_lesson():
    readme = (LESSON_DIR / "README.md").read_text()
    missing = [p.name for p in LESSONS if p.name not in readme]
    assert not missing, f"lessons/README.md does not mention {missing}"


def _guarded(node):
    """Is ``node`` an ``if __name__ == "__main__"`` test (possibly and-ed with more)?"""
    return isinstance(node, ast.If) and MAIN_GUARD.replace('"', "'") in ast.unparse(node.test)


def _parse_args_calls_outside_the_guard(tree):
    bad = []

    def visit(node, inside):
        for child in ast.iter_child_nodes(node):
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr in ("parse_args", "parse_known_args")
                    and not inside and child.args == [] and not child.keywords):
                bad.append(child.lineno)
            visit(child, inside or _guarded(child))

    visit(tree, False)
    return bad


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_has_the_course_shape(lesson):
    source = lesson.read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree) or ""
    number = lesson.name[:2]
    assert doc.startswith(f"Lesson {number}: "), (
        f"{lesson.name}: the docstring must open 'Lesson {number}: '")
    if number != "00":
        assert "Builds on" in doc, f"{lesson.name}: the docstring must say what it builds on"
    assert source.count("\n# %%") >= 3, f"{lesson.name}: needs '# %%' cells to open as a notebook"
    assert "Try this" in source, f"{lesson.name}: needs a 'Try this' section of exercises"
    assert "--out" in source, f"{lesson.name}: must save its figure under --out"
    bad = _parse_args_calls_outside_the_guard(tree)
    assert not bad, (f"{lesson.name} line {bad}: read the command line only under "
                     f"`if {MAIN_GUARD}` so that the lesson runs as a notebook")
    assert not any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body), (
        f"{lesson.name}: the work runs in cells at module level, not in a main()")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs_and_saves_a_figure(lesson, tmp_path):
    command = [sys.executable, str(lesson), "--out", str(tmp_path / "out")]
    run = subprocess.run(command, cwd=tmp_path, env=lesson_env(), capture_output=True, text=True,
                         timeout=180)
    output = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, f"{lesson.name} exited with {run.returncode}:\n{output}"
    assert run.stdout.strip(), f"{lesson.name} printed nothing"
    pngs = list((tmp_path / "out").rglob("*.png"))
    assert pngs, f"{lesson.name} wrote no PNG under --out:\n{output}"
