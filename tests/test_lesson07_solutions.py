"""Lesson 07's exercise solutions (lessons/solutions/07_tokens.py), run as a reader would: a fresh process."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((REPO / "lessons" / "solutions").glob("07_*.py"))


@pytest.mark.lesson
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solutions_run(path, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stderr[-3000:]}"
    assert not list(tmp_path.iterdir()), f"{path.name} wrote files into the folder it ran in"
