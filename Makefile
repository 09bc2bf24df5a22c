# The two commands a new user needs: `make demo` and `make test`.
# Both create (or reuse) a virtual environment in $(VENV) and install minembed into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.minembed-installed

.PHONY: demo test lint bench clean

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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
