# IOC Case Flow — `make demo` and `make test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-js install lint bench translations assets browser system clean services

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: system $(STAMP) translations assets

# Debian's packages the project needs beside Python's: the printed reports' fonts (Liberation Serif and
# croscore's Tinos: Times New Roman's metrics, every Vietnamese diacritic; embedded in each PDF),
# HarfBuzz's subsetter (WeasyPrint embeds only the glyphs a report uses; without it, whole fonts and a
# deprecation warning) and poppler-utils (pdftotext, pdffonts, pdftoppm: the tests read the PDFs back).
DEBIAN_PACKAGES := fonts-liberation2 fonts-croscore libharfbuzz-subset0 poppler-utils
system:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi; \
	  fc-cache -f >/dev/null 2>&1 || true; \
	fi

# Front-end: libraries from the npm registry (webapp/package.json, lock file committed) and the
# build (esbuild) of webapp/frontend/pages/*.js into webapp/static/build; the plain viewers and
# Leaflet are copied to webapp/static/vendor. No CDN, nothing fetched at run time.
VENDOR := webapp/static/vendor
NODE_STAMP := webapp/node_modules/.installed
ASSETS_STAMP := webapp/static/build/.built
FRONTEND := $(shell find webapp/frontend -type f -not -path '*/test/*' 2>/dev/null)
assets: $(ASSETS_STAMP)
$(NODE_STAMP): webapp/package.json webapp/package-lock.json
	cd webapp && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)
$(ASSETS_STAMP): $(NODE_STAMP) $(FRONTEND)
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-js $(VENDOR)/leaflet
	cp webapp/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-js/
	cp -r webapp/node_modules/bpmn-js/dist/assets/. $(VENDOR)/bpmn-js/
	cp -r webapp/node_modules/leaflet/dist/leaflet.js webapp/node_modules/leaflet/dist/leaflet.css \
	      webapp/node_modules/leaflet/dist/images $(VENDOR)/leaflet/
	cp webapp/node_modules/socket.io-client/dist/socket.io.min.js $(VENDOR)/
	rm -rf webapp/static/build
	cd webapp && npm run --silent build
	touch $(ASSETS_STAMP)

# The front end's own tests: Web Test Runner (mocha) in Debian's headless chromium.
test-js: assets browser
	cd webapp && npm test --silent

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations -f >/dev/null

# The embedded demo: SQLite under instance/, eager Celery, the timer sweep and the cameras' vision runner in the server.
demo: install
	$(BIN)/ioc demo

# The whole suite: unit, integration (SQLite and PostgreSQL), Celery worker, crash tests; in TEST_WORKERS
# processes (pytest-xdist, a test file per process at a time; each process has its own PostgreSQL
# database and its own Redis databases).
TEST_WORKERS ?= 2
test: install browser
	bash .ci/services
	$(BIN)/ruff check .
	cd webapp && npm test --silent
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/ioc bench

clean:
	rm -rf $(VENV) instance .pytest_cache webapp/node_modules $(VENDOR) webapp/static/build
