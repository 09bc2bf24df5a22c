"""Execute every lesson notebook top to bottom, as a reader would (outputs are not saved), and every
solution script in lessons/solutions/.

A lesson runs with lessons/ as its working folder, as in Jupyter, and must leave that folder as it found it:
files it writes go to a temporary folder (tempfile), never beside the notebooks."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON_DIR = ROOT / "lessons"
LESSONS = sorted(LESSON_DIR.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((LESSON_DIR / "solutions").glob("[0-9][0-9]_*.py"))


def _tree(folder: Path) -> dict:
    """Every file under folder (caches of Python and Jupyter aside) -> (size, mtime)."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts:
            st = p.stat()
            out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return out


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


@pytest.mark.lesson
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_executes_and_leaves_lessons_unchanged(path, monkeypatch):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name} is committed with outputs; clear them"
    # The kernel imports this checkout's minembed and runs where a reader's Jupyter runs it: in lessons/.
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    before = _tree(LESSON_DIR)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(LESSON_DIR)}})
    start = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    after = _tree(LESSON_DIR)
    added = sorted(set(after) - set(before))
    changed = sorted(k for k in set(after) & set(before) if after[k] != before[k])
    assert not added and not changed, (
        f"{path.name} wrote into lessons/ (added {added}, changed {changed}): write to a tempfile folder instead")


def _check_cells(nb) -> list[str]:
    """Candidate check cells: code cells that say 'check yourself' or follow a Markdown cell that does, and the
    last code cell before the exercises (or the lesson's last code cell)."""
    out, end = [], len(nb.cells)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and re.search(r"^#+ .*exercises", cell.source, re.I | re.M):
            end = i
        if cell.cell_type == "code" and (re.search(r"check yourself", cell.source, re.I) or (
                i and nb.cells[i - 1].cell_type == "markdown"
                and re.search(r"check yourself", nb.cells[i - 1].source, re.I))):
            out.append(cell.source)
    code = [c.source for c in nb.cells[:end] if c.cell_type == "code"]
    return out + code[-1:]


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_checks_the_reader_and_has_solutions(path):
    nb = nbformat.read(path, as_version=4)
    assert any(re.search(r"^\s*assert\b", cell, re.M) for cell in _check_cells(nb)), (
        f"{path.name}: the last code cell before the exercises must check the reader with asserts "
        "(a '# check yourself' cell)")
    number = path.name[:2]
    assert list((LESSON_DIR / "solutions").glob(f"{number}_*.py")), (
        f"{path.name}: its exercises need solutions in lessons/solutions/{number}_<name>.py")
    text = "\n".join(c.source for c in nb.cells)
    assert f"solutions/{number}_" in text, f"{path.name} does not point the reader to its solutions file"


@pytest.mark.lesson
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_runs(path, tmp_path):
    # Each solution is a script a reader can run; it asserts its own answers. Run it in a scratch folder.
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")


def test_there_are_lessons():
    assert len(LESSONS) >= 2
