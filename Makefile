# Two commands for a fresh machine:
#   make book   create .venv, install everything, build the HTML book into _build/html
#   make test   the whole test suite, including a book build with warnings as errors
# Other targets: make install, make lab, make student, make clean.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STAMP  := $(VENV)/.installed

.PHONY: book test install lab clean browser-deps

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(JB) build . --builder html
	@echo
	@echo "The book is built. Open $(CURDIR)/_build/html/index.html in a browser."

# The test build starts from an empty execution cache, so a failing cell cannot hide behind a
# cached result, and turns every Sphinx warning into an error (-W), listing them all first.
test: $(STAMP)
	rm -rf _build/.jupyter_cache
	$(JB) build . --builder html -W -n --keep-going
	$(PY) -m pytest

lab: $(STAMP)
	$(VENV)/bin/jupyter lab chapters/

# Chromium for the browser tests (Debian or Ubuntu, as root). Without it they are skipped.
browser-deps:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

clean:
	rm -rf _build
