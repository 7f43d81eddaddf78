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

# pdftotext (poppler-utils) lets the tests read the certificate as a person
# would; the xcb libraries are what Qt's xcb platform needs to open the
# window on a fresh Linux machine (libxcb-icccm4 and libxcb-keysyms1 are not
# pulled in by anything else). Installed with apt where it is there and we
# are root; otherwise a note says what to install. fonts-wqy-microhei is the
# CJK font the certificate embeds for Chinese; postgresql gives the register
# tests a server of their own where none answers at CALSTATION_TEST_PG.
SYSPKGS = poppler-utils fonts-wqy-microhei postgresql libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 \
          libxcb-cursor0 libxcb-xkb1 libxkbcommon-x11-0
sysdeps:
	@if command -v dpkg-query >/dev/null 2>&1; then \
	  missing=$$(for p in $(SYSPKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } \
	        || echo "note: could not install $$missing (the certificate text tests skip without poppler-utils)"; \
	    else echo "note: install $$missing (apt) for the window and the certificate text tests"; fi; \
	  fi; \
	elif ! command -v pdftotext >/dev/null 2>&1; then \
	  echo "note: install poppler-utils for the certificate text tests"; fi

demo: $(STAMP) sysdeps
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
