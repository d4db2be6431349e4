# govwatch: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser tools redis demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install tools
	$(BIN)/govwatch demo

# DOC, WPS and XLS attachments are read by antiword and catdoc (xls2csv): Debian packages.
tools:
	@if command -v antiword >/dev/null && command -v catdoc >/dev/null; then :; else \
	  echo "Installing antiword and catdoc (Debian packages)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    antiword catdoc >/dev/null; fi

# The cluster tests start a real redis-server: Debian's package.
redis:
	@if command -v redis-server >/dev/null; then :; else \
	  echo "Installing redis-server (Debian package)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    redis-server >/dev/null; fi

# The web UI tests drive a real Chromium: Debian's chromium, chromium-driver and a CJK font.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	    && fc-list 2>/dev/null | grep -qiE 'wqy|noto.*cjk'; then :; else \
	  echo "Installing chromium, chromium-driver and fonts-wqy-microhei (Debian packages)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    chromium chromium-driver fonts-wqy-microhei >/dev/null; fi

# pytest exits 5 when it collects no test: that fails here like any other non-zero code.
test: install browser tools redis
	$(BIN)/python -m pytest -q -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install redis
	$(BIN)/python bench/crawl_bench.py --portal --docs 1000,3000 --workers 1 --recheck --repeat 3
	$(BIN)/python bench/mutation_bench.py
	$(BIN)/python bench/extract_bench.py
	$(BIN)/python bench/web_bench.py
	$(BIN)/python bench/fuzz_bench.py
	$(BIN)/python bench/revisit_bench.py
	$(BIN)/python bench/cluster_bench.py
	$(BIN)/python bench/store_bench.py

clean:
	rm -rf $(VENV) data/demo.db data/demo.db-* data/demo-sources.yaml
