"""Lesson 10's exercise solutions (lessons/solutions/10_subwords.py) run to the end, in a scratch folder."""
import runpy
from pathlib import Path

import pytest

SOLUTIONS = sorted((Path(__file__).resolve().parent.parent / "lessons" / "solutions").glob("10_*.py"))


@pytest.mark.lesson
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solutions_run(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    import matplotlib
    matplotlib.use("Agg")
    runpy.run_path(str(path), run_name="__main__")
    assert not list(path.parent.glob("*.png")), "a solution wrote a file into lessons/"


def test_the_solutions_file_exists():
    assert [p.name for p in SOLUTIONS] == ["10_subwords.py"]
