"""The solutions of lesson 09's exercises run to the end; each asserts its own answer."""
import runpy
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "lessons" / "solutions" / "09_counting_vs_predicting.py"


@pytest.mark.lesson
def test_solutions_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(PATH), run_name="__main__")
    out = capsys.readouterr().out
    assert "exercise 1" in out and "exercise 2" in out and "exercise 3" in out
    assert not list(PATH.parent.glob("*.png"))
