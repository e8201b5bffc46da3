# The two commands of the book: `make html` and `make test`. Both create .venv on first
# use and install the pinned dependencies from pyproject.toml; nothing else is needed
# but Python 3.11 and make.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
BUILDDIR ?= _build
# Extra sphinx-build options. The command itself is written once, in tools/build_html.py
# (which the tests and `make bench` run too).
SPHINXOPTS ?=

.PHONY: html pdf notebooks test format bench mutants audit live clean distclean

# .venv/.ready: the environment is set up (CI installs extra tools on top of it).
$(VENV)/.ready: $(STAMP)
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[docs,test]"
	@rm -f $(VENV)/.installed-*
	@touch $@

html: $(STAMP)
	@$(BIN)/python tools/build_html.py $(BUILDDIR) $(SPHINXOPTS)
	@echo "The book is in $(BUILDDIR)/html/index.html"

# pdf: the same verified build through Sphinx's LaTeX builder and XeLaTeX, into
# $(BUILDDIR)/latex/verified-lstm-gradients.pdf; then the site, which links it. Needs TeX
# (Debian packages: tools/check_tex.py names the missing ones; README lists them all).
pdf: $(STAMP)
	@$(BIN)/python tools/build_pdf.py $(BUILDDIR) $(SPHINXOPTS)

# notebooks: every page with code as a Jupyter notebook with its outputs, in
# $(BUILDDIR)/notebooks (the site offers each from its download menu).
notebooks: html
	@rm -rf $(BUILDDIR)/notebooks
	@cd $(BUILDDIR)/html/_sources && find . -name '*.ipynb' -exec install -D -m 644 {} ../../notebooks/{} \;
	@echo "$$(find $(BUILDDIR)/notebooks -name '*.ipynb' | wc -l) notebooks are in $(BUILDDIR)/notebooks"

test: $(STAMP)
	$(BIN)/python -m pytest

# format: what `make test` holds the code to (ruff, pyproject.toml): formats the package,
# tools and tests, then the code cells of every page (tools/format_cells.py), then lints.
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/python tools/format_cells.py
	$(BIN)/ruff check .

# bench: cold build, no-change rebuild and unexecuted build of a fresh copy, the worst
# error per method and the attention RNN's cost against T; printed and written to
# $(BUILDDIR)/bench.md and bench.json (tools/bench.py).
bench: $(STAMP)
	$(BIN)/python tools/bench.py --out $(BUILDDIR)

# mutants: prove that every check can fail. Mutates the code behind each labelled
# equation's analytic side, re-runs its page and classes each mutant; samples 40 mutants of
# the package too (tools/mutants.py). Writes $(BUILDDIR)/mutants.json, which the next
# `make html` shows in the verification report; exits non-zero on any survivor.
mutants: $(STAMP)
	$(BIN)/python tools/mutants.py --out $(BUILDDIR)

# audit: Lighthouse (mobile, from npm, pinned in package.json; Debian's Chromium, or
# CHROME_PATH) on the front page, lstm/backward-step and vanishing/experiments of the built
# site, each score printed against its target (performance 90, the others 100) and
# written to $(BUILDDIR)/audit.md and audit.json (tools/audit.py). A measurement, not a
# test; it needs Node.js and npm and says so when they are missing.
audit: html
	$(BIN)/python tools/audit.py --site $(BUILDDIR)/html --out $(BUILDDIR)

# live: build, then serve the site on http://127.0.0.1:8000 (as it is served when hosted).
live: html
	@echo "Serving $(BUILDDIR)/html at http://127.0.0.1:8000/ (Ctrl-C stops)"
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory $(BUILDDIR)/html 8000

clean:
	rm -rf $(BUILDDIR)

distclean: clean
	rm -rf $(VENV)
