# Tynda: `make run` serves the portal with demo data; `make test` runs the whole suite.
# Everything is set up on first use: the virtualenv, requirements, translations, database.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
CHROMIUM := /usr/bin/chromium
REDIS_SERVER := /usr/bin/redis-server
# Two workers match the 2-core CI machine; override with `make test PYTEST_ARGS=...`.
PYTEST_ARGS ?= -n 2

.PHONY: setup run test db translations chromium redis pdf-libs lint extract-messages bench bench-pages bench-tally clean

setup: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d portal/translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) demo load

# A job worker runs beside the dev server (tallies, clustering); Ctrl+C stops both.
run: db pdf-libs
	@echo "Tynda is starting on http://$(HOST):$(PORT)/ with a job worker (Ctrl+C to stop)"
	@$(FLASK) jobs worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Browser tests need Debian's Chromium at $(CHROMIUM)." >&2; \
	    echo "Install it with: sudo apt-get install chromium" >&2; exit 1; \
	  fi; \
	fi

# The job tests start their own redis-server on a free port (RedisHuey, JOBS_REDIS_URL).
redis:
	@if [ ! -x $(REDIS_SERVER) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's redis-server for the job-queue tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "Job-queue tests need Debian's redis-server at $(REDIS_SERVER)." >&2; \
	    echo "Install it with: sudo apt-get install redis-server" >&2; exit 1; \
	  fi; \
	fi

# WeasyPrint (PDF reports) needs Pango and a font with Kazakh letters; the tests read PDFs
# back with poppler's pdftotext.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils
pdf-libs:
	@if ! dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Pango, DejaVu fonts and poppler-utils for PDF reports..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES) >/dev/null; \
	  else \
	    echo "PDF reports need: sudo apt-get install $(PDF_PACKAGES)" >&2; exit 1; \
	  fi; \
	fi

test: setup chromium redis pdf-libs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Refresh the catalogues after changing user-visible strings, then translate the new entries.
extract-messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

# Benchmarks print figures; they are not tests. BENCHMARKS.md records what they measured.
bench: setup
	$(BIN)/python bench/clustering.py
	$(BIN)/python bench/exports.py --ballots 200000 --comments 20000

# Every page with a city's data (loads it once into instance/bench-city.sqlite).
bench-pages: setup
	mkdir -p instance
	$(BIN)/python bench/pages.py --db sqlite:///$(CURDIR)/instance/bench-city.sqlite

# pabutools (GPL-3.0) lives only in its own venv, as a benchmark and test oracle.
bench-tally: setup
	test -x bench/.venv/bin/python || $(PYTHON) -m venv bench/.venv
	bench/.venv/bin/pip install --quiet -r bench/requirements.txt
	bench/.venv/bin/python bench/tally_vs_pabutools.py

clean:
	rm -rf $(VENV) instance .pytest_cache
