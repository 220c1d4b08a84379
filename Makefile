# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.convdocs-installed
export NO_MKDOCS_2_WARNING := 1

.PHONY: setup serve lint test build notebooks clean

# (Re)create the virtual environment when the pinned requirements change.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

# Verify the pages' examples, build the site strictly, and serve it on http://127.0.0.1:8000/convdocs/
# (the path of site_url, as GitHub Pages publishes it).
serve: setup
	bash scripts/ensure-chromium.sh   # also the Chinese figures' font and the compiled pass's g++
	$(BIN)/python -m pytest -q -p no:cacheprovider docs README.md
	$(BIN)/mkdocs serve --strict --dev-addr 127.0.0.1:8000

# Lint, offline: ruff (rules and format) over convdocs/, tests/, scripts/, i18n/, site_hooks/ and examples/, and mypy over the first five (their
# settings are in pyproject.toml), and the workflows against GitHub's schema and zizmor.
lint: setup
	$(BIN)/ruff check convdocs tests scripts i18n site_hooks examples
	$(BIN)/ruff format --check convdocs tests scripts i18n site_hooks examples
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --persona pedantic .github/workflows

# Every test: lint, unit tests, verified examples (pages, notebook, README, docstrings), the
# strict site build, and the browser tests (Debian's chromium-headless-shell is installed with apt when missing).
test: setup lint
	bash scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -n auto   # one worker per core (pytest-xdist; each page stays on one)

build: setup
	$(BIN)/mkdocs build --strict

# Each page as a notebook under notebooks/ (English) and notebooks/zh/ (Chinese), made from the
# pages by site_hooks/notebooks.py. They are committed, because Colab opens them from the
# repository; tests/test_page_notebooks.py fails, naming the page, when one is out of date.
notebooks: setup
	$(BIN)/python -m site_hooks.notebooks

clean:
	rm -rf $(VENV) site .cache .pytest_cache
