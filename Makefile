# Two commands for a fresh machine:
#   make book   create .venv, install everything, build the HTML book into _build/html
#   make test   the test suite, including a book build with warnings as errors (the tests marked
#               slow left out: make test-slow runs only them, make test-all both)
# Other targets: make test-all, make test-slow, make install, make lab, make lab-student, make student, make pdf, make handouts,
# make assignments, make site, make publish-check, make clean.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
JB     := $(VENV)/bin/jupyter-book
STAMP  := $(VENV)/.installed
# TORCH_INDEX=https://download.pytorch.org/whl/cpu installs the CPU-only torch first (see README).
TORCH_INDEX ?=
TORCH_VERSION := $(shell sed -n 's/^torch==\([^ ]*\).*/\1/p' requirements.txt)

.PHONY: site publish-check check-repository book student test test-all test-slow install lab lab-student pdf handouts assignments clean browser-deps

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_INDEX),$(PY) -m pip install --quiet --disable-pip-version-check torch==$(TORCH_VERSION) --index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The pages are executed first, several at a time (cnnbook_lib.execute: one per core, in kernels
# forked from a process that has already imported torch, sympy and matplotlib), into the cache the
# build then reads. A page that fails there is left out of the cache: the build runs it again and
# reports its error as it always does (hence the leading "-").
EXECUTE := $(PY) -m cnnbook_lib.execute

book: $(STAMP)
	-$(EXECUTE)
	$(JB) build . --builder html
	@echo
	@echo "The book is built. Open $(CURDIR)/_build/html/index.html in a browser."

# The student edition: the same book with every solution removed (sphinx-exercise's
# hide_solutions), built from a generated copy of _config.yml into _build/student/html.
student: $(STAMP)
	mkdir -p _build
	$(PY) -c "import yaml; c = yaml.safe_load(open('_config.yml')); \
	c['title'] += ' (student edition)'; c['sphinx']['config']['hide_solutions'] = True; \
	c['execute']['cache'] = '$(CURDIR)/_build/.jupyter_cache'; \
	yaml.safe_dump(c, open('_build/student_config.yml', 'w'), sort_keys=False)"
	rm -rf _build/student
	$(JB) build . --builder html --config _build/student_config.yml --path-output _build/student $(JBFLAGS)
	mv _build/student/_build/html _build/student/html
	rm -rf _build/student/_build     # its doctrees and executed notebooks still hold the solutions
	@echo "The student edition is built. Open $(CURDIR)/_build/student/html/index.html"

# The tests that read the built book (_build). Every other test file tests the library alone.
BUILT_BOOK_TESTS := tests/test_book_pages.py tests/test_book_interactives.py tests/test_handouts.py tests/test_jupyterlab.py tests/test_notebooks.py \
	tests/test_pdf.py tests/test_site.py tests/test_student_edition.py

# The test build starts from an empty execution cache and an empty HTML folder (no page left over
# from a renamed source) and rereads every page (--all: no pickled Sphinx environment), so neither
# a failing cell nor an output of older library code can hide behind a cached result, and turns
# every Sphinx warning into an error (-W), listing them all first.
# The library's tests run in the background (their report is printed at the end; the log is
# _build/library-tests.log) while the pages execute, both editions build from the executed pages,
# and the tests of the built book run on two workers. The library's tests are one process, the
# longest part on one core; the rest runs at a lower priority (nice) and takes what they leave, so
# that both end together. The tests marked slow (the exhaustive network-by-network checks, of
# which make test runs a sample, and the PDF edition) are left to make test-slow.
AFTER := nice -n 10
test: $(STAMP)
	rm -rf _build/.jupyter_cache _build/html
	mkdir -p _build
	@echo "make test: $$(date +%T) the library's tests run in the background while the pages execute and the book builds."
	$(PY) -m pytest -m "not slow" --durations=15 $(addprefix --ignore=,$(BUILT_BOOK_TESTS)) > _build/library-tests.log 2>&1 & tests=$$!; \
	$(AFTER) $(EXECUTE); echo "make test: $$(date +%T) pages executed"; \
	$(AFTER) $(JB) build . --all --builder html -W -n --keep-going && $(AFTER) $(MAKE) student JBFLAGS="-W -n --keep-going"; \
	built=$$?; echo "make test: $$(date +%T) both editions built"; book=1; \
	if test $$built -eq 0; then \
	  $(AFTER) $(PY) -m pytest -n 2 --dist loadfile -m "not slow" --durations=15 $(BUILT_BOOK_TESTS); book=$$?; fi; \
	wait $$tests; passed=$$?; \
	echo; echo "make test: $$(date +%T) the library's tests (_build/library-tests.log):"; cat _build/library-tests.log; \
	echo "make test: book build $$(test $$built -eq 0 && echo passed || echo FAILED)," \
	  "built book's tests $$(test $$book -eq 0 && echo passed || echo FAILED)," \
	  "library's tests $$(test $$passed -eq 0 && echo passed || echo FAILED)"; \
	test $$built -eq 0 && test $$book -eq 0 && test $$passed -eq 0

# Everything: make test, then make test-slow.
test-all: test
	$(MAKE) test-slow

# The tests that make test leaves out (marked slow), and only those, on two workers (the book is
# built first if need be: the PDF edition's tests print it).
test-slow: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(PY) -m pytest -n 2 --dist loadfile -m slow --durations=10

# JupyterLab on the chapters as notebooks that read like the book (numbers, equations, figures,
# citations in place; plumbing cells collapsed), made by the HTML build into _build/notebooks.
# Each solution is folded under its exercise (click to show). make lab-student: the student
# edition's notebooks, with no solution at all (copied from its downloadable notebooks).
lab: $(STAMP)
	test -d _build/notebooks/chapters || $(MAKE) book
	$(VENV)/bin/jupyter lab _build/notebooks/chapters

lab-student: $(STAMP)
	test -d _build/student/html/_sources/chapters || $(MAKE) student
	rm -rf _build/student/notebooks && mkdir -p _build/student/notebooks
	cd _build/student/html/_sources && find . -name '*.ipynb' -exec cp --parents {} ../../notebooks/ \;
	$(VENV)/bin/jupyter lab _build/student/notebooks/chapters

# Chromium for the browser tests (Debian or Ubuntu, as root). Without it they are skipped.
browser-deps:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

# The PDF edition: every page of the built book in reading order, printed by Chromium.
pdf: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(PY) -m cnnbook_lib.pdf --html _build/html --out _build/pdf/book.pdf

# The published site (.github/workflows/publish.yml pushes it to the gh-pages branch): both built
# editions in _build/site, the full one at the root, the student one under student/, each checked to
# hold the notebook every Colab button opens (cnnbook_lib/site.py).
site: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	test -f _build/student/html/index.html || $(MAKE) student
	$(PY) -m cnnbook_lib.site --html _build/html --student _build/student/html --out _build/site

# The publishing workflow's steps, run here in its order, all but the upload (a full build of both editions).
publish-check: $(STAMP)
	$(PY) -m cnnbook_lib.site --run-workflow .github/workflows/publish.yml

# Stops when the book's repository address (_config.yml) is not REPOSITORY (OWNER/NAME).
check-repository:
	$(PY) -m cnnbook_lib.site --check-repository "$(REPOSITORY)"

# For instructors: one solution-free exercise notebook per chapter, runnable outside the repository.
# Equation and exercise numbers are read from the built book, so it is built first if need be.
handouts: $(STAMP)
	test -f _build/html/index.html || $(MAKE) book
	$(PY) -m cnnbook_lib.teaching.handouts _build/handouts

# For instructors: per-chapter otter-grader assignments (student notebook and autograder zip) whose
# tests are the exercises' automatic checks. Grade a submission with
#   .venv/bin/otter run -a _build/assignments/chapter-01/dist/autograder/*.zip -o OUTDIR SUBMISSION.ipynb
assignments: $(STAMP)
	$(PY) -m cnnbook_lib.teaching.assignments _build/assignments

clean:
	rm -rf _build
