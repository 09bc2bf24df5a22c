"""Lesson 15's solutions script runs and checks its own answers (real recordings when installed, else
synthetic signals). Skipped when tests/test_lessons.py already runs every solutions script."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "lessons" / "solutions" / "15_listening_with_vectors.py"


@pytest.mark.lesson
def test_lesson15_solutions_run(tmp_path):
    if "solutions" in (ROOT / "tests" / "test_lessons.py").read_text(encoding="utf-8"):
        pytest.skip("tests/test_lessons.py runs every solutions script, this one included")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{SCRIPT.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "all solutions check out" in done.stdout
