# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create and reuse .venv; torch is the CPU wheel (torch==2.13.0), never a CUDA build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.plkg-installed
TORCH_SPEC ?= torch==2.13.0
SRC := $(wildcard plkg tests scripts)

.PHONY: venv test lint demo reproduce bench clean

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
	$(VENV)/bin/pytest -q

demo: $(STAMP)
	$(VENV)/bin/plkg demo

reproduce: $(STAMP)
	$(VENV)/bin/plkg reproduce all

bench: $(STAMP)
	$(VENV)/bin/plkg bench --json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
