# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create and reuse .venv; torch is the CPU wheel (torch==2.13.0), never a CUDA build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.plkg-installed
DOCS_STAMP := $(VENV)/.plkg-docs-installed
TORCH_SPEC ?= torch==2.13.0
SRC := $(wildcard plkg tests scripts)

# Tests run a second time under another numeric personality (docs/reliability.md): NumPy's
# baseline SIMD kernels, OpenBLAS's oldest kernels and one BLAS/OpenMP thread, MKL's compatible
# path, torch's non-vectorised kernels. scripts/numeric_personality.py asks NumPy which dispatch
# targets exist here, so the variables never name a feature NumPy would refuse. Tests marked
# `surface` (input handling, CLI semantics: no floating-point kernel decides their outcome) run
# once, in the native personality.
PORTABLE_TESTS ?= tests

.PHONY: venv test test-native test-portable lint demo reproduce bench docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check "$(TORCH_SPEC)"
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)

test: lint
	$(MAKE) --no-print-directory test-native
	$(MAKE) --no-print-directory test-portable

test-native: $(STAMP)
	@echo "personality: native (kernels picked for this CPU, default threads;" \
	  "NPY_DISABLE_CPU_FEATURES=$${NPY_DISABLE_CPU_FEATURES:-} OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-auto})"
	$(VENV)/bin/pytest -q

test-portable: $(STAMP)
	$(PY) scripts/numeric_personality.py -- $(VENV)/bin/pytest -q -m "not surface" $(PORTABLE_TESTS)

demo: $(STAMP)
	$(VENV)/bin/plkg demo

reproduce: $(STAMP)
	$(VENV)/bin/plkg reproduce all

bench: $(STAMP)
	$(VENV)/bin/plkg bench --json

# The API reference (numpydoc docstrings) and the user guide (docs/*.md) as HTML in build/docs/html;
# every Sphinx warning is an error. The `docs` extra (Sphinx, numpydoc, MyST) is installed once.
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	$(VENV)/bin/sphinx-build -E -W --keep-going -b html docs build/docs/html

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
