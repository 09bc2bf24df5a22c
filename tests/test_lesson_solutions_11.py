"""The solutions of lesson 11's exercises run and their own checks pass."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_lesson_11_solutions_run():
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, str(REPO / "lessons" / "solutions" / "11_recommendations.py")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "3. BPR gradients match finite differences" in out.stdout
