"""Pieces of `make book` that need neither Sphinx nor a browser: which lessons the book takes, the lesson map, and
the MathJax copy (a file left out of it makes MathJax wait forever in the browser: issue 20)."""
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import minembed_book  # noqa: E402


def notebook(*cells):
    return {"cells": [{"cell_type": kind, "metadata": {}, "source": text} for kind, text in cells],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture()
def course(tmp_path):
    """A repository with three lessons; 08 is new and mentions lesson 03, 12 declares what it builds on."""
    lessons = tmp_path / "lessons"
    (lessons / "solutions").mkdir(parents=True)
    pages = {
        "01_first.ipynb": notebook(("markdown", "# First"), ("code", "import minembed as me\nme.Embedding(3, 2)")),
        "08_new.ipynb": notebook(("markdown", "# A new lesson\nAfter lesson 03 and lesson 01."),
                                 ("code", "from minembed.nn import Linear\nLinear(2, 3)")),
        "12_declared.ipynb": {**notebook(("markdown", "# Declared"), ("code", "x = 1")),
                              "metadata": {"minembed": {"builds_on": ["8"]}}},
    }
    for name, nb in pages.items():
        (lessons / name).write_text(json.dumps(nb))
    (lessons / "solutions" / "08_new.py").write_text("print('ok')\n")
    (lessons / "notes.ipynb").write_text(json.dumps(notebook()))        # not NN_*: not a lesson
    return tmp_path


def test_a_new_lesson_joins_the_book_without_an_edit(course, tmp_path, monkeypatch):
    monkeypatch.delenv("MINEMBED_BOOK_LESSONS", raising=False)
    index = minembed_book.PackageIndex()
    out = tmp_path / "generated"
    uses, info = minembed_book.prepare_lessons(course, out, index)
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["01_first.ipynb", "08_new.ipynb", "12_declared.ipynb"]
    assert uses["08_new"] == ["minembed.nn.Linear"]
    assert info["08_new"]["builds_on"] == ["01", "03"]       # mentioned in the text ("03" is not in this course)
    assert info["12_declared"]["builds_on"] == ["08"]         # declared in the notebook's metadata
    page = json.loads((out / "08_new.ipynb").read_text())
    assert "lessons/solutions/08_new.py" in page["cells"][-1]["source"]
    table = minembed_book.lesson_map(info)
    assert "A new lesson </_generated/lessons/08_new>" in table
    assert "{doc}`08 </_generated/lessons/08_new>`" in table   # 12's row links 08
    assert "{doc}`03" not in table                             # a lesson that does not exist is not linked
    assert table.count("start here") == 1 and "First </_generated/lessons/01_first>` | — (start here)" in table


def test_a_quick_build_takes_only_the_lessons_asked_for(course, tmp_path, monkeypatch):
    monkeypatch.setenv("MINEMBED_BOOK_LESSONS", "1, 12")
    assert [p.name for p in minembed_book.lesson_files(course)] == ["01_first.ipynb", "12_declared.ipynb"]
    out = tmp_path / "generated"
    (out).mkdir()
    (out / "08_new.ipynb").write_text("{}")                  # left by an earlier full build: removed
    minembed_book.prepare_lessons(course, out, minembed_book.PackageIndex())
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["01_first.ipynb", "12_declared.ipynb"]
    assert len(minembed_book.lesson_files(course, only="")) == 3
    with pytest.raises(ValueError, match=r"MINEMBED_BOOK_LESSONS='05'.*\['05'\]"):
        minembed_book.lesson_files(course, only="05")


def test_every_lesson_title_has_one_form_in_the_book(course, tmp_path):
    for heading, expected in [("Lesson 03 — word2vec: skip-gram", "03 · word2vec: skip-gram"),
                              ("05 · Image embeddings from a tiny CNN", "05 · Image embeddings from a tiny CNN"),
                              ("Lesson 14: Clusters, outliers", "14 · Clusters, outliers"),
                              ("Tokens", "07 · Tokens"), ("3D maps", "03 · 3D maps")]:
        number = expected[:2]
        assert minembed_book.uniform_title(number, heading) == expected
    _, info = minembed_book.prepare_lessons(course, tmp_path / "generated", minembed_book.PackageIndex())
    assert info["08_new"]["title"] == "08 · A new lesson"
    page = json.loads((tmp_path / "generated" / "08_new.ipynb").read_text())
    assert page["cells"][0]["source"].splitlines()[0] == "# 08 · A new lesson"      # the page's own title too
    assert "After lesson 03" in page["cells"][0]["source"]


def fake_mathjax(root: Path) -> None:
    files = ["MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js", "unpacked/MathJax.js", "test/index.html",
             "fonts/HTML-CSS/TeX/woff/MathJax_Main-Regular.woff", "fonts/HTML-CSS/Asana-Math/woff/A.woff",
             "fonts/HTML-CSS/STIX-Web/woff/S.woff",
             "jax/output/HTML-CSS/fonts/TeX/fontdata.js", "jax/output/HTML-CSS/fonts/TeX/AMS/Regular/Main.js",
             "jax/output/HTML-CSS/fonts/TeX/Main/Italic/LetterlikeSymbols.js",
             "jax/output/HTML-CSS/fonts/Gyre-Pagella/fontdata.js", "jax/output/SVG/fonts/TeX/Main/Regular/Main.js",
             "jax/output/SVG/fonts/Neo-Euler/fontdata.js"]
    for f in files:
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("x")


def test_the_mathjax_copy_keeps_every_glyph_file_of_the_tex_fonts(tmp_path, monkeypatch):
    source = tmp_path / "mathjax"
    fake_mathjax(source)
    monkeypatch.setattr(minembed_book, "mathjax_source", lambda: (source, "debian"))
    minembed_book.copy_mathjax(tmp_path / "static")
    copied = {p.relative_to(tmp_path / "static" / "mathjax").as_posix()
              for p in (tmp_path / "static" / "mathjax").rglob("*") if p.is_file()}
    for needed in minembed_book.MATHJAX_REQUIRED + ["jax/output/SVG/fonts/TeX/Main/Regular/Main.js",
                                                     "fonts/HTML-CSS/TeX/woff/MathJax_Main-Regular.woff",
                                                     "fonts/HTML-CSS/STIX-Web/woff/S.woff"]:
        assert needed in copied
    # left out: the unpacked sources, the tests, the other font families
    assert not any(p.startswith(("unpacked/", "test/")) or "Asana" in p or "Gyre" in p or "Euler" in p
                   for p in copied)


def test_a_mathjax_without_the_tex_glyph_files_fails_the_build(tmp_path, monkeypatch):
    source = tmp_path / "mathjax"
    fake_mathjax(source)
    (source / "jax/output/HTML-CSS/fonts/TeX/AMS/Regular/Main.js").unlink()
    monkeypatch.setattr(minembed_book, "mathjax_source", lambda: (source, "debian"))
    with pytest.raises(RuntimeError, match="AMS/Regular/Main.js"):
        minembed_book.copy_mathjax(tmp_path / "static")


@pytest.mark.skipif(not Path(minembed_book.DEBIAN_MATHJAX, "MathJax.js").exists(), reason="no libjs-mathjax")
def test_debians_mathjax_copies_with_everything_the_pages_load(tmp_path):
    minembed_book.copy_mathjax(tmp_path)
    assert all((tmp_path / "mathjax" / f).exists() for f in minembed_book.MATHJAX_REQUIRED)
