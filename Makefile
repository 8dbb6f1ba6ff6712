# hallq: `make run` to try the demo hall, `make test` to run everything the tests need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HALLQ := $(VENV)/bin/hallq
HOST ?= 127.0.0.1
PORT ?= 5000
APT_PACKAGES := chromium fonts-wqy-microhei espeak-ng nginx systemd

.PHONY: run test install install-test system-deps lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian packages the tests use (headless Chromium, a CJK font, espeak-ng; nginx and systemd-analyze check deploy/),
# installed when missing and root.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "missing Debian packages:$$missing (run as root or: sudo apt-get install$$missing)"; exit 1; fi; \
	fi

run: install
	$(HALLQ) init
	HALLQ_URL=http://$(HOST):$(PORT) $(HALLQ) demo
	$(HALLQ) run --host $(HOST) --port $(PORT)

test: system-deps install-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check .

bench: install-test
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
