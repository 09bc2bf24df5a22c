"""Sphinx extension of the minembed book: everything that is generated from the repository at build time.

* ``_generated/api/``: one page per package of minembed (nn, kernels, space, text, vision, datasets, cli, ...,
  found with pkgutil, so a new package or module gets its page without a hand edit). Each public class or
  function is documented once, under the name users import it by (``minembed.nn.Embedding``, not
  ``minembed.nn.embedding.Embedding``); references to the other names of the same object are resolved to it.
  A public name without a docstring is a warning, and the build runs with -W.
* ``_generated/lessons/``: the notebooks of ``lessons/`` (every ``NN_*.ipynb``; ``MINEMBED_BOOK_LESSONS=01,03``
  for a quick build with only those), each with a last Markdown cell linking the API pages of the minembed names
  its code uses. The API pages list the lessons back ("Used in lessons").
* ``_generated/lesson_map.md``: which lesson builds on which (each notebook's ``metadata.minembed.builds_on``,
  else the earlier lessons its text mentions).
* ``_generated/benchmarks.md``: the README's benchmark tables and the commands that reproduce them, and
  ``benchmarks/README.md``.
* ``_generated/embedding.png``: the home page's picture; ``_generated/static/mathjax``: MathJax, served locally.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import pkgutil
import re
import shutil
from collections import defaultdict
from pathlib import Path


class _Logger:
    """Sphinx's logger, imported when first used: the package index works without Sphinx (tests use it)."""

    def __getattr__(self, name):
        from sphinx.util import logging

        return getattr(logging.getLogger(__name__), name)


logger = _Logger()

# Packages in the order of the architecture (README "How it is built"); any other package or module follows.
PACKAGE_ORDER = ["nn", "kernels", "space", "text", "vision", "recsys", "audio", "datasets", "cli"]
TOP_LEVEL_HELPERS = "minembed (top level)"
DEBIAN_MATHJAX = "/usr/share/javascript/mathjax"   # apt-get install libjs-mathjax


# ----------------------------------------------------------------------------------------------- helpers
def write_if_changed(path: Path, text: str | bytes) -> None:
    """Write only when the content changes, so Sphinx rebuilds only what changed."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if path.exists() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def is_public_module(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split("."))


def public_names(module) -> list[str]:
    """A module's public names: its ``__all__``, or else every class and function it defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
                 and getattr(v, "__module__", None) == module.__name__]
    return list(names)


def module_constants(module) -> list[str]:
    """Public ALL_CAPS names a module assigns at its top level (``FASTMATH``, ``MNIST_MEAN``): documented as data."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        else:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            for leaf in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if isinstance(leaf, ast.Name) and re.fullmatch(r"[A-Z][A-Z0-9_]*", leaf.id) and leaf.id not in names:
                    names.append(leaf.id)
    return names


def documentable(obj) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj)


def own_docstring(obj) -> str | None:
    doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
    return doc.strip() if isinstance(doc, str) and doc.strip() else None


# ------------------------------------------------------------------------------------------- the package
class PackageIndex:
    """Every public module and documentable object of minembed, each object with one canonical name."""

    def __init__(self):
        import minembed

        self.root = minembed
        self.modules: dict[str, object] = {"minembed": minembed}
        for info in pkgutil.walk_packages(minembed.__path__, "minembed."):
            if is_public_module(info.name):
                self.modules[info.name] = importlib.import_module(info.name)
        # group = the first level below minembed; plain top-level modules (rng, io, ...) share one group
        self.groups: dict[str, list[str]] = defaultdict(list)
        for name in self.modules:
            parts = name.split(".")
            if len(parts) == 1:
                continue
            top = parts[1]
            is_package = hasattr(self.modules.get("minembed." + top), "__path__")
            self.groups[top if is_package or top == "cli" else TOP_LEVEL_HELPERS].append(name)
        order = [g for g in PACKAGE_ORDER if g in self.groups]
        order += sorted(g for g in self.groups if g not in order and g != TOP_LEVEL_HELPERS)
        self.group_order = order + ([TOP_LEVEL_HELPERS] if TOP_LEVEL_HELPERS in self.groups else [])

        # canonical name of each object: the shortest public path inside the package that defines it
        self.canonical: dict[int, str] = {}
        self.objects: dict[str, object] = {}
        self.defined_in: dict[str, list[str]] = defaultdict(list)      # module -> canonical names it defines
        self.constants: dict[str, list[str]] = {m: module_constants(mod) for m, mod in self.modules.items()}
        for modname, module in self.modules.items():
            for name, obj in vars(module).items():
                if name.startswith("_") or not documentable(obj):
                    continue
                if getattr(obj, "__module__", None) != modname:
                    continue
                home = self._public_home(obj, modname, name)
                if id(obj) not in self.canonical:
                    self.canonical[id(obj)] = home
                    self.objects[home] = obj
                    self.defined_in[modname].append(home)

    def _public_home(self, obj, modname: str, name: str) -> str:
        """``minembed.nn.Embedding`` when ``minembed.nn`` exports it, else ``minembed.nn.embedding.Embedding``."""
        parts = modname.split(".")
        for i in range(2, len(parts)):
            pkg = ".".join(parts[:i])
            module = self.modules.get(pkg)
            if module is not None and getattr(module, name, None) is obj and name in public_names(module) \
                    and f"{pkg}.{name}" not in self.modules:      # minembed.text.tokenize is also a module
                return f"{pkg}.{name}"
        return f"{modname}.{name}"

    def resolve(self, dotted: str):
        """The canonical name of what ``dotted`` (any public path) names: an object or a module, else None."""
        if dotted in self.modules:
            return dotted
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            modname = ".".join(parts[:i])
            if modname in self.modules:
                obj = self.modules[modname]
                for attr in parts[i:]:
                    obj = getattr(obj, attr, None)
                    if obj is None:
                        return None
                    if inspect.ismodule(obj):
                        return obj.__name__ if obj.__name__ in self.modules else None
                return self.canonical.get(id(obj))
        return None

    def group_of(self, canonical: str) -> str:
        parts = canonical.split(".")
        for group, modules in self.groups.items():
            if any(canonical == m or canonical.startswith(m + ".") for m in modules):
                return group
        return parts[1] if len(parts) > 1 else TOP_LEVEL_HELPERS


def group_slug(group: str) -> str:
    return "minembed" if group == TOP_LEVEL_HELPERS else group


# --------------------------------------------------------------------------------------------- API pages
def api_pages(index: PackageIndex) -> dict[str, str]:
    """reStructuredText of every API page, by file name."""
    pages = {}
    toc = []
    for group in index.group_order:
        slug = group_slug(group)
        toc.append(slug)
        if group == TOP_LEVEL_HELPERS:
            title = "minembed: the top level, rng, io, progress, demo"
        else:
            title = f"minembed.{group}"
        lines = [title, "=" * len(title), ""]
        if group == TOP_LEVEL_HELPERS:
            lines += [".. automodule:: minembed", "   :no-members:", "",
                      "Names importable from ``minembed`` itself (``import minembed as me``):", ""]
            for name in public_names(index.root):
                target = index.resolve(f"minembed.{name}")
                if target is None:
                    continue
                role = "mod" if target in index.modules else "obj"
                lines.append(f"* ``me.{name}``: :py:{role}:`~{target}`")
            lines.append("")
        for modname in sorted(index.groups[group], key=lambda m: (m.count("."), m)):
            is_group_package = modname == f"minembed.{group}"
            heading = modname if not is_group_package else f"{modname} (package)"
            if not is_group_package or group == TOP_LEVEL_HELPERS:
                lines += [heading, "-" * len(heading), ""]
            lines += [f".. automodule:: {modname}", "   :no-members:", ""]
            for constant in index.constants.get(modname, []):
                lines += [f".. autodata:: {modname}.{constant}", "   :no-value:", ""]
            for canonical in index.defined_in.get(modname, []):
                obj = index.objects[canonical]
                if inspect.isclass(obj):
                    lines += [f".. autoclass:: {canonical}", "   :members:", ""]
                else:
                    lines += [f".. autofunction:: {canonical}", ""]
        pages[f"{slug}.rst"] = "\n".join(lines) + "\n"
    head = ["API reference", "=============", "",
            "Generated from the package at build time: every public class and function of minembed, grouped as "
            "the package is (README, \"How it is built\"). Each object is documented once, under the name you "
            "import it by; the other names of the same object link here. A page lists the lessons that use "
            "a name under \"Used in lessons\".", "",
            ".. toctree::", "   :maxdepth: 1", ""]
    pages["index.rst"] = "\n".join(head + [f"   {slug}" for slug in toc]) + "\n"
    return pages


def check_docstrings(index: PackageIndex) -> None:
    for modname, module in index.modules.items():
        if not (module.__doc__ or "").strip():
            logger.warning(f"minembed book: module {modname} has no docstring", type="minembed", subtype="doc")
    for canonical, obj in index.objects.items():
        if own_docstring(obj) is None:
            logger.warning(f"minembed book: public {canonical} has no docstring", type="minembed", subtype="doc")


# ------------------------------------------------------------------------------------------------ lessons
def code_of(cell) -> str:
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    # IPython syntax (%magic, !shell) is not Python: blank it out before parsing
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def names_used(notebook: dict, index: PackageIndex) -> list[str]:
    """Canonical names of the minembed modules and objects a notebook's code refers to, in order of first use."""
    aliases: dict[str, str] = {}
    found: list[str] = []

    def add(dotted: str) -> None:
        target = index.resolve(dotted)
        if target and target != "minembed" and target not in found:
            found.append(target)

    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse(code_of(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.split(".")[0] == "minembed":
                        aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else "minembed"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "minembed":
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    add(f"{node.module}.{a.name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                chain, cur = [], node
                while isinstance(cur, ast.Attribute):
                    chain.append(cur.attr)
                    cur = cur.value
                if isinstance(cur, ast.Name) and cur.id in aliases:
                    dotted = ".".join([aliases[cur.id]] + chain[::-1])
                    # the longest prefix that names something documented (me.topk(...).shape -> me.topk)
                    parts = dotted.split(".")
                    for i in range(len(parts), 1, -1):
                        if index.resolve(".".join(parts[:i])):
                            add(".".join(parts[:i]))
                            break
            elif isinstance(node, ast.Name) and node.id in aliases and isinstance(node.ctx, ast.Load):
                add(aliases[node.id])
    return found


def lesson_title(notebook: dict, fallback: str) -> str:
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def uniform_title(number: str, title: str) -> str:
    """One form for every lesson in the book's menu and map, whatever its notebook's heading says:
    "Lesson 03 — word2vec", "05 · Image embeddings", "Lesson 14: Clusters" -> "03 · word2vec", ..."""
    rest = re.sub(r"^(?:lesson\s*\d+\s*(?:[—–·:.|-]\s*)?|\d+\s*[—–·:.|-]\s*)", "", title, flags=re.I).strip()
    return f"{number} · {rest or title}"


def set_title(notebook: dict, title: str) -> None:
    """Replace the first "# " heading of the notebook (the page's title) by ``title``."""
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = source.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("# "):
                lines[i] = f"# {title}"
                cell["source"] = "\n".join(lines)
                return


def lessons_mentioned(notebook: dict, own: str) -> list[str]:
    """Numbers of the earlier lessons a lesson mentions ("lesson 03", "lessons 01 and 02") or declares in its
    metadata (``{"minembed": {"builds_on": ["01"]}}``)."""
    declared = notebook.get("metadata", {}).get("minembed", {}).get("builds_on")
    if declared is not None:
        return sorted({f"{int(n):02d}" for n in declared})
    text = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "markdown")
    found = set()
    for match in re.finditer(r"[Ll]essons? ((?:\d\d(?:,\s*|\s+and\s+|\s*[-–]\s*)?)+)", text):
        found.update(re.findall(r"\d\d", match.group(1)))
    return sorted(n for n in found if n < own)


def lesson_files(root: Path, only: str | None = None) -> list[Path]:
    """Every ``lessons/NN_*.ipynb``: a new lesson joins the book (pages, toc, lesson map, "Used in" links) by
    being there, with no edit anywhere else.

    ``only`` (default: the environment variable ``MINEMBED_BOOK_LESSONS``), e.g. ``"01,03"``, keeps just those
    lessons: a quick build while working on the book or on one lesson. Unset or empty: all of them."""
    import os

    paths = sorted((root / "lessons").glob("[0-9][0-9]_*.ipynb"))
    only = os.environ.get("MINEMBED_BOOK_LESSONS", "") if only is None else only
    wanted = {f"{int(n):02d}" for n in re.findall(r"\d+", only)}
    if not wanted:
        return paths
    unknown = wanted - {p.name[:2] for p in paths}
    if unknown:
        raise ValueError(f"MINEMBED_BOOK_LESSONS={only!r}: no lesson {sorted(unknown)} in {root / 'lessons'}")
    return [p for p in paths if p.name[:2] in wanted]


def prepare_lessons(root: Path, out: Path, index: PackageIndex) -> tuple[dict, dict]:
    """Copy every lessons/NN_*.ipynb into ``out`` with a last cell linking the API; return
    (uses by lesson, lesson info)."""
    uses, info = {}, {}
    wanted = set()
    for path in lesson_files(root):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        number = path.name[:2]
        used = names_used(notebook, index)
        uses[path.stem] = used
        title = uniform_title(number, lesson_title(notebook, path.stem))
        set_title(notebook, title)
        info[path.stem] = {"number": number, "title": title, "builds_on": lessons_mentioned(notebook, number)}
        links = ", ".join(f"{{py:{'mod' if n in index.modules else 'obj'}}}`{n.removeprefix('minembed.')} <{n}>`"
                          for n in used)
        solutions = sorted((root / "lessons" / "solutions").glob(f"{number}_*.py"))
        text = ["---", "", "**minembed in this lesson** (API reference): " + (links or "none") + "."]
        if solutions:
            text += ["", f"Solutions to the exercises: `lessons/solutions/{solutions[0].name}` in the repository "
                         "(a script that checks its own answers)."]
        text += ["", f"Run it yourself: `lessons/{path.name}` (Jupyter, inside a checkout after `make demo`)."]
        notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "\n".join(text)})
        notebook["cells"][-1]["id"] = "minembed-book-api-links"   # nbformat 4.5: every cell has an id
        write_if_changed(out / path.name, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        wanted.add(path.name)
    for stale in out.glob("*.ipynb"):       # a lesson removed from lessons/ leaves the book too
        if stale.name not in wanted:
            stale.unlink()
    return uses, info


def lesson_map(info: dict) -> str:
    lines = ["| lesson | builds on |", "|---|---|"]
    by_number = {v["number"]: k for k, v in info.items()}
    first = min(by_number, default=None)
    for stem, item in info.items():
        deps = ", ".join(f"{{doc}}`{n} </_generated/lessons/{by_number[n]}>`" for n in item["builds_on"]
                         if n in by_number)
        # "start here" only for the first lesson: a later one that names nothing has just not said what it uses
        empty = "— (start here)" if item["number"] == first else "—"
        lines.append(f"| {{doc}}`{item['title']} </_generated/lessons/{stem}>` | {deps or empty} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- benchmarks
def readme_section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    return match.group(1).strip() if match else ""


def unlink_relative(markdown: str) -> str:
    """Relative links of a README point into the repository, not into the book: keep their text, as code."""
    return re.sub(r"\[([^\]]+)\]\((?!https?://|#)([^)]+)\)", lambda m: f"{m.group(1)} (`{m.group(2)}`)", markdown)


def benchmarks_page(root: Path) -> str:
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme_section(readme, "Benchmarks")
    commands = []
    for row in re.findall(r"^\|(.*)\|\s*$", section, re.M):
        for cmd in re.findall(r"`((?:python )?(?:benchmarks/)?(?:bench|compare)_\w+\.py[^`]*)`", row.split("|")[0]):
            script = cmd if cmd.startswith(("python", "benchmarks/")) else f"benchmarks/{cmd}"
            full = script if script.startswith("python") else f"python {script}"
            if full not in commands:
                commands.append(full)
    lines = ["# Benchmarks", "",
             "Generated from the README's benchmark section and `benchmarks/README.md` when the book is built: "
             "the figures are the ones measured there, with the machine, load and settings they were measured "
             "under. Run a command below from the root of a checkout (install the peer libraries yourself: "
             "they are never dependencies of minembed).", "",
             "## Commands that reproduce the tables", ""]
    lines += [f"```bash\n{c}\n```" for c in commands] or ["(no commands found in the README)"]
    lines += ["", "## Figures (from the README)", "", unlink_relative(section) or "(no benchmark section)", ""]
    howto = root / "benchmarks" / "README.md"
    if howto.exists():
        body = howto.read_text(encoding="utf-8")
        body = re.sub(r"^# .*\n", "", body, count=1)
        body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)  # one level down
        lines += ["## How the benchmarks measure (benchmarks/README.md)", "", unlink_relative(body)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------- the picture
def embedding_picture(path: Path) -> None:
    """Words -> ids -> rows of a table -> points in a space where similar words are close."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    words = ["king", "queen", "prince", "apple", "pear", "plum"]
    points = np.array([[1.3, 3.3], [2.5, 3.7], [1.9, 2.4], [-2.6, -0.5], [-1.6, -1.3], [-3.0, -1.9]])
    table = np.column_stack([points, np.random.default_rng(0).normal(0, 0.6, (6, 2))])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), gridspec_kw={"width_ratios": [1.0, 1.3, 1.6]})
    ax = axes[0]
    ax.axis("off")
    ax.set_title("1. a word gets an id", fontsize=11)
    for i, w in enumerate(words):
        ax.text(0.05, 0.88 - i * 0.15, f"{w:>7s}  →  {i}", family="monospace", fontsize=11, transform=ax.transAxes)
    ax = axes[1]
    image = ax.imshow(table, cmap="coolwarm", vmin=-3.5, vmax=3.5, aspect="auto")
    ax.set_yticks(range(6), [f"{i}" for i in range(6)])
    ax.set_xticks(range(4), [f"d{j}" for j in range(4)])
    ax.set_title("2. the id picks a row of a learned table W", fontsize=11)
    fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
    ax = axes[2]
    ax.scatter(points[:3, 0], points[:3, 1], c="tab:red", s=40)
    ax.scatter(points[3:, 0], points[3:, 1], c="tab:green", s=40)
    for (x, y), w in zip(points, words, strict=True):
        ax.annotate(w, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=10)
    ax.set_title("3. the rows are points: similar words close", fontsize=11)
    ax.set_xlabel("d0")
    ax.set_ylabel("d1")
    ax.set_xlim(-4, 4)
    ax.set_ylim(-3, 4.5)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_if_changed(path, png.getvalue())


def favicon(path: Path) -> None:
    """A 32x32 icon: three dots, two close together (similar things land close)."""
    if path.exists():
        return
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(0.32, 0.32), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.scatter([0.25, 0.42, 0.78], [0.72, 0.58, 0.22], s=[60, 60, 60], c=["tab:red", "tab:red", "tab:green"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, transparent=True)
    plt.close(fig)


# --------------------------------------------------------------------------------------------- MathJax
def mathjax_source() -> tuple[Path, str]:
    """Where the site's MathJax 2.7 comes from: Debian's complete copy (``apt-get install libjs-mathjax``, with its
    TeX fonts) when installed, else the copy in the ``jupyter-server-mathjax`` wheel (STIX-Web fonts only)."""
    debian = Path(DEBIAN_MATHJAX)
    if (debian / "MathJax.js").exists() and (debian / "fonts" / "HTML-CSS" / "TeX").is_dir():
        return debian, "debian"
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static", "pip"


def copy_mathjax(static: Path) -> None:
    """Copy MathJax into the site (``_static/mathjax``): the pages never load it from elsewhere."""
    source, kind = mathjax_source()
    target = static / "mathjax"
    if not (source / "MathJax.js").exists():
        raise RuntimeError(f"no MathJax.js under {source}")
    stamp = target / ".source"
    label = f"{kind} {source} {COPY_RULES}"
    if stamp.exists() and stamp.read_text() == label:
        return
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=functools.partial(mathjax_skip, source))
    missing = [f for f in MATHJAX_REQUIRED if not (target / f).exists()]
    if missing:
        raise RuntimeError(f"MathJax copied from {source} into {target} lacks {missing}")
    stamp.write_text(label)


# Bump when mathjax_skip changes: an older copy in book/_generated/static is then replaced.
COPY_RULES = "rules-2"
KEEP_FONTS = {"TeX", "STIX-Web"}
# Files MathJax 2 loads on demand for the TeX fonts (\mathbb, \mathcal, italic letters); a missing one leaves its
# typeset queue waiting forever. rules-1 dropped them: it treated the glyph folders (Main, AMS) as font families.
MATHJAX_REQUIRED = ["MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js",
                    "jax/output/HTML-CSS/fonts/TeX/fontdata.js", "jax/output/HTML-CSS/fonts/TeX/AMS/Regular/Main.js",
                    "jax/output/HTML-CSS/fonts/TeX/Main/Italic/LetterlikeSymbols.js"]


def mathjax_skip(source: Path, folder: str, names: list[str]) -> list[str]:
    """What not to copy of MathJax: its unpacked sources and tests, and the font families other than TeX and
    STIX-Web -- only in the two folders that list families (``fonts/HTML-CSS``, ``jax/output/*/fonts``); the
    folders inside a family (``Main``, ``AMS``, ``woff``) are all needed."""
    parts = Path(folder).relative_to(source).parts
    if not parts:
        return [n for n in names if n in ("unpacked", "test")]
    lists_families = (len(parts) == 2 and parts[0] == "fonts") or \
        (len(parts) == 4 and parts[:2] == ("jax", "output") and parts[3] == "fonts")
    if lists_families:
        return [n for n in names if (Path(folder) / n).is_dir() and n not in KEEP_FONTS]
    return []


# ------------------------------------------------------------------------------------------- Sphinx hooks
def on_builder_inited(app) -> None:
    book = Path(app.srcdir)
    root = book.parent
    generated = book / "_generated"
    index = PackageIndex()
    app.env.minembed_index = index  # not pickled (see env-updated); rebuilt each run
    app.minembed_index = index
    check_docstrings(index)
    api_dir = generated / "api"
    pages = api_pages(index)
    for name, text in pages.items():
        write_if_changed(api_dir / name, text)
    for stale in api_dir.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    uses, info = prepare_lessons(root, generated / "lessons", index)
    app.minembed_used_in = defaultdict(list)
    for stem, names in uses.items():
        for name in names:
            app.minembed_used_in[name].append(stem)
    app.minembed_lessons = info
    app.minembed_plain = []
    write_if_changed(generated / "lesson_map.md", lesson_map(info))
    write_if_changed(generated / "benchmarks.md", benchmarks_page(root))
    embedding_picture(generated / "embedding.png")
    copy_mathjax(generated / "static")
    favicon(generated / "static" / "favicon.png")


ROLE = re.compile(r":(?:[\w-]+:)?[\w-]+:`([^`]*)`")


def rst_problems(text: str) -> str:
    """What docutils reports about ``text`` (Sphinx roles replaced by literals first; empty when it parses)."""
    import io

    from docutils.core import publish_doctree

    stream = io.StringIO()
    try:
        publish_doctree(ROLE.sub(lambda m: f"``{m.group(1)}``", text),
                        settings_overrides={"report_level": 2, "halt_level": 5, "warning_stream": stream,
                                            "file_insertion_enabled": False, "raw_enabled": False})
    except Exception:   # a Sphinx directive (.. math::) needs Sphinx to parse it: leave the check to Sphinx
        return ""
    return stream.getvalue()


def on_process_docstring(app, what, name, obj, options, lines) -> None:
    """Keep every docstring readable, then append "Used in lessons" to the docstring of every module, class and
    function a lesson uses.

    Most of minembed's docstrings are reStructuredText; some are laid out as plain text (aligned columns,
    ``|q|`` for a norm) that reStructuredText would misread. Those are shown exactly as written, in a literal
    block, rather than mangled (the build lists them with -v)."""
    if what == "data":
        # a constant has no docstring of its own: autodoc would show its type's (np.dtype's, set's) instead
        type_doc = inspect.getdoc(type(obj)) or ""
        if lines and type_doc and lines[0].strip() == type_doc.splitlines()[0].strip():
            lines[:] = []
    if lines and rst_problems("\n".join(lines)):
        logger.verbose(f"minembed book: {name}: docstring shown as plain text")
        getattr(app, "minembed_plain", []).append(name)
        original = list(lines)
        lines[:] = ["::", ""] + [("    " + line) if line.strip() else "" for line in original] + [""]
    used = getattr(app, "minembed_used_in", {}).get(name)
    if not used or what not in ("module", "class", "function"):
        return
    info = app.minembed_lessons
    links = ", ".join(f":doc:`lesson {info[s]['number']} </_generated/lessons/{s}>`" for s in used)
    lines.extend(["", f"**Used in** {links}.", ""])


def on_missing_reference(app, env, node, contnode):
    """A reference to another public name of a documented object (``minembed.nn.embedding.Embedding``,
    ``minembed.text.WordVectors``) resolves to its canonical entry."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    index = getattr(app, "minembed_index", None)
    if index is None or not target.startswith("minembed"):
        return None
    canonical = index.resolve(target)
    if canonical is None or canonical == target:
        return None
    domain = env.get_domain("py")
    for typ in ("class", "function", "module", "obj"):
        found = domain.resolve_xref(env, node["refdoc"], app.builder, typ, canonical, node, contnode)
        if found is not None:
            return found
    return None


def on_env_updated(app, env):
    # keep the environment picklable
    if hasattr(env, "minembed_index"):
        del env.minembed_index


def setup(app):
    app.connect("builder-inited", on_builder_inited)
    app.connect("autodoc-process-docstring", on_process_docstring)
    app.connect("missing-reference", on_missing_reference)
    app.connect("env-updated", on_env_updated)
    # the version is this file's hash: editing the extension makes Sphinx re-read every page
    import hashlib

    version = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return {"version": version, "parallel_read_safe": False, "parallel_write_safe": True, "env_version": 1}


