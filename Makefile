# smartcam: `make demo` runs a simulated camera, `make test` runs every test.
# Both install what they need (Debian packages and a venv) and are safe to repeat.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
APT_STAMP := $(VENV)/.apt
# Debian packages the tests and the demo use: ffprobe checks clips; dpkg-deb unpacks footage.
APT_PACKAGES := ffmpeg dpkg
export SMARTCAM_CACHE ?= $(HOME)/.cache/smartcam

.PHONY: all venv deps test lint fmt bench demo docs clean

all: test lint

$(APT_STAMP):
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml Makefile | $(APT_STAMP)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

venv deps: $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check smartcam tests
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check smartcam tests

fmt: $(STAMP)
	$(BIN)/ruff check --fix smartcam tests

bench: $(STAMP)
	$(BIN)/python -m tests.bench

demo: $(STAMP)
	$(BIN)/smartcam demo $(if $(DURATION),--duration $(DURATION))

docs: $(STAMP)  # docs/config.md and smartcam.conf.example come from the config schema
	$(BIN)/python -m smartcam.config.docs

clean:
	rm -rf $(VENV) demo build *.egg-info
