# The two commands a new user needs: `make demo` and `make test`. `make book` builds the course as a website.
# Both create (or reuse) a virtual environment in $(VENV) and install minembed into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.minembed-installed
BOOK_STAMP := $(VENV)/.minembed-book-installed

.PHONY: demo test lint bench book clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,lessons]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m minembed demo

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check minembed tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_embedding.py

$(BOOK_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,lessons,book]"
	touch $(BOOK_STAMP)

# The book: static HTML in book/_build/html (open book/_build/html/index.html). The lessons are executed once and
# cached (book/_build/.jupyter_cache) until a code cell changes; every warning is an error. MPLBACKEND is unset
# so that the lessons' figures are drawn inline.
book: $(BOOK_STAMP)
	env -u MPLBACKEND $(PY) -m sphinx -W --keep-going -b html book book/_build/html
	@echo "the book: book/_build/html/index.html"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache book/_build book/_generated
