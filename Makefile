# The README's two commands. Each creates .venv and installs into it on first use.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench

$(VENV)/.app: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -qq -e .
	touch $@

$(VENV)/.test: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -qq -e '.[test]'
	touch $(VENV)/.app $@

demo: $(VENV)/.app
	$(VENV)/bin/unrolled serve --open --preset vanishing-tanh

test: $(VENV)/.test
	CI=$${CI:-} $(PY) -m pytest -q -p no:cacheprovider
	node --test tests/static/js/

bench: $(VENV)/.test
	$(PY) benchmarks/bench_engine.py
