# Two commands do all set-up: `make demo` and `make test`. Both create .venv
# and install what they need, and are safe to run again.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.calstation-installed
OUT    ?= demo-output

.PHONY: demo test lint typecheck pytest sysdeps bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# pdftotext (poppler-utils) lets the tests read the certificate as a person would.
sysdeps:
	@command -v pdftotext >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; } \
	      || echo "note: poppler-utils could not be installed; the certificate text tests will be skipped"; \
	  else echo "note: install poppler-utils for the certificate text tests"; fi; }

demo: $(STAMP)
	$(BIN)/calstation demo --yes --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) sysdeps
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/sweep.py

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .pytest_cache .ruff_cache
