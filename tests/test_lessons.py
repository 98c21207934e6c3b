"""Every lesson in lessons/ runs to the end, in quick mode, as a student would start it.

Each lesson checks what it teaches with assertions (gradients against hand formulas, the adjoint
identity, the penalty falling...), so exit status 0 means those checks held. Lessons run in a
fresh process on the NumPy backend, from a temporary folder, writing any pictures there.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON_DIR = ROOT / "lessons"
LESSONS = sorted(LESSON_DIR.glob("[0-9][0-9]_*.py"))


def lesson_env():
    env = dict(os.environ, SCRATCHGAN_LESSON_QUICK="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("SCRATCHGAN_BACKEND", None)  # lessons that use a GPU ask for it themselves
    # Quick lessons multiply small matrices, for which BLAS threads only spin and wait.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def test_there_are_lessons_numbered_in_order():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(1, len(LESSONS) + 1)), (
        f"lesson numbers {numbers} have gaps or repeats")


def test_readme_lists_every_lesson():
    readme = (LESSON_DIR / "README.md").read_text()
    missing = [p.name for p in LESSONS if p.name not in readme]
    assert not missing, f"lessons/README.md does not mention {missing}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_runs(lesson, tmp_path):
    source = lesson.read_text()
    assert re.match(r'^"""Lesson \d\d: ', source), (
        f"{lesson.name} must open with a 'Lesson NN: ...' docstring")
    command = [sys.executable, str(lesson)]
    writes_files = "--out" in source
    if writes_files:
        command += ["--out", str(tmp_path / "out")]
    run = subprocess.run(command, cwd=tmp_path, env=lesson_env(), capture_output=True, text=True,
                         timeout=180)
    output = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, f"{lesson.name} exited with {run.returncode}:\n{output}"
    assert run.stdout.strip(), f"{lesson.name} printed nothing"
    if writes_files:
        pngs = list((tmp_path / "out").rglob("*.png"))
        assert pngs, f"{lesson.name} wrote no PNG under --out:\n{output}"
