"""Sphinx configuration of the minembed book (`make book`): executed lessons (myst-nb), the API reference
generated from the package (autodoc + napoleon), links both ways, a benchmarks page. Warnings are errors
(the Makefile runs sphinx-build -W)."""
import os
import sys
from pathlib import Path

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
sys.path.insert(0, str(ROOT))              # this checkout's minembed, also when it is not installed
sys.path.insert(0, str(BOOK / "_ext"))
# The notebooks' kernels inherit this environment: they must import this checkout and draw inline figures
# (MPLBACKEND=Agg, set by the test runner, would leave every plt.show() without a picture).
os.environ["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
os.environ.pop("MPLBACKEND", None)

import minembed_book  # noqa: E402

import minembed  # noqa: E402

(BOOK / "_generated" / "static").mkdir(parents=True, exist_ok=True)   # filled by _ext/minembed_book.py
minembed_book.favicon(BOOK / "_generated" / "static" / "favicon.png")  # checked before any builder hook runs

project = "minembed"
author = "the minembed authors"
copyright = "the minembed authors, MIT licence"
release = version = minembed.__version__

extensions = [
    "myst_nb",                     # Markdown pages and executed notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "minembed_book",               # _ext/minembed_book.py: generated pages, lesson <-> API links, MathJax copy
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "_ext", "_generated/static"]
html_theme = "furo"
html_title = f"minembed {release}"
html_static_path = ["_generated/static"]   # MathJax, copied there at build time
html_favicon = "_generated/static/favicon.png"   # drawn at build time (browsers ask for one)
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False

# --- notebooks: executed once, then served from the cache until a code cell changes ---------------------
nb_execution_mode = os.environ.get("MINEMBED_BOOK_EXECUTE", "cache")   # "off": a quick look without outputs
nb_execution_cache_path = str(BOOK / "_build" / ".jupyter_cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True     # a failing cell fails the build
nb_execution_in_temp = True            # a lesson's scratch files never land in the source tree
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
myst_update_mathjax = False            # the MathJax 2 configuration below is complete

# --- API reference ---------------------------------------------------------------------------------------
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = True
add_module_names = False

# Broken references fail the build for minembed's own names; names of other projects (numpy, the standard
# library) have no pages here (no intersphinx: the build runs without a network).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!minembed\b).*"), (r"py:.*", r"minembed\..*\.(np|numpy)\..*")]

# --- math: MathJax 2.7, copied into _static/mathjax at build time (no CDN, no network) --------------------------
# Debian's libjs-mathjax when installed (complete, TeX fonts), else the jupyter-server-mathjax wheel's copy.
MATHJAX_SOURCE, MATHJAX_KIND = minembed_book.mathjax_source()
# MathJax 2 measures fonts against a blank @font-face whose source is about:blank, which current Chromium refuses
# with a console error; a local() source that does not exist falls back the same way without a request.
_blank = {"@font-face": {"font-family": "MathJax_Blank", "src": "local('MathJax_Blank')"}}
if MATHJAX_KIND == "debian":
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"   # one file: nothing loaded on demand
    _fonts = {"availableFonts": ["TeX"], "preferredFont": "TeX", "webFont": "TeX", "imageFont": None}
else:   # the wheel ships the STIX-Web web fonts only
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
    _fonts = {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None}
mathjax2_config = {
    "HTML-CSS": {**_fonts, "styles": _blank},
    "messageStyle": "none",
    "menuSettings": {"zoom": "None", "CHTMLpreview": False},
    "fast-preview": {"disabled": True},
}
mathjax3_config = None
