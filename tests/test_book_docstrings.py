"""Every public module, class and function of minembed has a docstring: `make book` documents them all (its API
pages are generated from the package) and fails on a missing one. This test says so in seconds, without Sphinx."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import minembed_book  # noqa: E402


def test_every_public_name_has_a_docstring():
    index = minembed_book.PackageIndex()
    missing = [name for name, module in index.modules.items() if not (module.__doc__ or "").strip()]
    missing += [name for name, obj in index.objects.items() if minembed_book.own_docstring(obj) is None]
    assert not missing, f"public names without a docstring (the book's API reference needs one): {missing}"


def test_the_index_finds_every_package_and_one_home_per_object():
    index = minembed_book.PackageIndex()
    for group in ("nn", "kernels", "space", "text", "vision", "datasets", "cli"):
        assert group in index.group_order
    # an object exported by its package is documented under the package's name, once
    import minembed as me

    assert index.canonical[id(me.Embedding)] == "minembed.nn.Embedding"
    assert index.resolve("minembed.nn.embedding.Embedding") == "minembed.nn.Embedding"
    assert index.resolve("minembed.WordVectors") == index.resolve("minembed.space.KeyedVectors")
    assert len(set(index.canonical.values())) == len(index.canonical)


def test_lesson_scan_finds_the_minembed_names_a_notebook_uses():
    index = minembed_book.PackageIndex()
    notebook = {"cells": [
        {"cell_type": "code", "source": "import minembed as me\nfrom minembed.space import search as sim\n"
                                        "from minembed.vision import TinyCNN\n%matplotlib inline"},
        {"cell_type": "code", "source": "emb = me.Embedding(10, 4)\nids, _ = sim.topk(q, db, 3)\nm = TinyCNN()\n"
                                        "x = me.nn.Linear(2, 3).weight.data"},
        {"cell_type": "markdown", "source": "me.Word2Vec is only mentioned here"}]}
    used = minembed_book.names_used(notebook, index)
    assert used[:1] == ["minembed.space.search"]
    for name in ("minembed.nn.Embedding", "minembed.space.topk", "minembed.vision.TinyCNN", "minembed.nn.Linear"):
        assert name in used
    assert "minembed.text.Word2Vec" not in used


def documented_docstrings(index):
    """(name, what, docstring) of what the API pages document: modules, public classes and functions, and the
    public methods and properties a class defines itself (autodoc's ``:members:``, inherited ones left out)."""
    import inspect

    for name, module in index.modules.items():
        yield name, "module", module.__doc__
    for name, obj in index.objects.items():
        yield name, "class" if inspect.isclass(obj) else "function", minembed_book.own_docstring(obj)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                member = member.__func__ if isinstance(member, (staticmethod, classmethod)) else member
                if inspect.isfunction(member) or isinstance(member, property):
                    yield f"{name}.{attr}", "method", member.__doc__


def test_no_docstring_is_shown_as_plain_text():
    """The book shows a docstring that reStructuredText would misread "as written", in a literal block (issue 20:
    formulas with ``|x|`` norms, indented blocks after a paragraph). None should need that: the same decision as
    the extension's (napoleon's rewriting, then :func:`minembed_book.rst_problems`), without a Sphinx build."""
    import pytest

    pytest.importorskip("docutils", reason="needs the book extra (pip install -e '.[book]')")
    napoleon = pytest.importorskip("sphinx.ext.napoleon", reason="needs the book extra (pip install -e '.[book]')")
    from sphinx.ext.napoleon.docstring import GoogleDocstring, NumpyDocstring
    from sphinx.util.docstrings import prepare_docstring

    config = napoleon.Config(napoleon_google_docstring=True, napoleon_numpy_docstring=True)
    plain, seen = [], 0
    for name, what, doc in documented_docstrings(minembed_book.PackageIndex()):
        if not doc or not doc.strip():
            continue
        seen += 1
        lines = NumpyDocstring(prepare_docstring(doc), config, what=what, name=name).lines()   # napoleon's order
        lines = GoogleDocstring(lines, config, what=what, name=name).lines()
        problems = minembed_book.rst_problems("\n".join(lines))
        if problems:
            plain.append(f"{name}: {problems.strip().splitlines()[0]}")
    assert seen > 500  # the check really read the package
    assert not plain, "docstrings the book would show as plain text:\n" + "\n".join(plain)
