# The README's two commands: `make demo` and `make test`. Everything installs itself.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo serve worker test e2e screenshots lint i18n bench drills drills-cluster clean

install: $(STAMP)

# PyICU (UTS #39 skeletons for discount limits) has no wheels: it builds against the
# system's ICU, installed here when missing and allowed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	pkg-config --exists icu-i18n 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && apt-get install -y -q libicu-dev pkg-config >/dev/null; } \
		|| { echo "PyICU builds against ICU: install libicu-dev and pkg-config first" >&2; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo runs in development mode (a generated secret key in instance/) and builds
# links as http://<shop>.localhost:$(PORT)/. Its shops live in instance/tenants/ (copied
# from tenants/ on the first run, git-ignored): using the demo never changes tracked files.
PORT ?= 5000
HOST ?= 127.0.0.1
# Acme takes cards in test mode: a local fake Stripe (localstripe, extended in
# tests/fixtures/stripe_fake.py) runs beside the demo and stops with it. Its port follows
# PORT (5000 -> 8420, 5050 -> 8470), so two demos side by side do not share one.
STRIPE_PORT ?= $(shell echo $$(($(PORT) + 3420)))
DEMO_TENANTS := instance/tenants
DEMO_ENV := STOREFRONT_ENVIRONMENT=development STOREFRONT_PREFERRED_URL_SCHEME=http \
	STOREFRONT_SHOP_URL_PORT=$(PORT) STOREFRONT_STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_PORT) \
	STOREFRONT_TENANTS_DIR=$(DEMO_TENANTS)
DEMO_STRIPE := $(BIN)/python -m tests.fixtures.stripe_fake --port $(STRIPE_PORT) \
	--secret whsec_demoacme00000000 --host acme.localhost:$(PORT) \
	--relay http://127.0.0.1:$(PORT)/payments/stripe/webhook

demo: install  ## migrate the embedded SQLite database, provision the demo shops, serve on $(HOST):$(PORT)
	mkdir -p $(DEMO_TENANTS)
	for shop in acme globex; do test -d $(DEMO_TENANTS)/$$shop || cp -R tenants/$$shop $(DEMO_TENANTS)/; done
	$(DEMO_ENV) $(BIN)/tenantctl db upgrade
	$(DEMO_ENV) $(BIN)/tenantctl demo
	@echo "Demo shops: http://acme.localhost:$(PORT)/  http://globex.localhost:$(PORT)/"
	@echo "Card payments at Acme go to the local payment fake on 127.0.0.1:$(STRIPE_PORT)"
	@echo "tenantctl for the demo: env $(DEMO_ENV) $(BIN)/tenantctl ..."
	$(DEMO_STRIPE) & FAKE=$$!; trap "kill $$FAKE" EXIT INT TERM; \
	$(DEMO_ENV) $(BIN)/flask --app wsgi:application run --host $(HOST) --port $(PORT) --debug

worker: install  ## the jobs worker (STOREFRONT_JOBS_BACKEND=redis and a Redis URL)
	$(BIN)/tenantctl worker

serve: install  ## gunicorn against the configured database (STOREFRONT_DATABASE_URL)
	$(BIN)/tenantctl db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:application

test: install  ## the whole suite but the browser tests (SQLite, or MariaDB + Redis from the env)
	$(BIN)/pytest -m "not e2e" -n auto

e2e: install  ## browser and TLS tests: Debian's chromium and caddy (apt-get install -y chromium caddy)
	$(BIN)/pytest -m e2e tests/e2e

screenshots: install  ## refresh the README's pictures from the browser tests
	STOREFRONT_SCREENSHOTS_DIR=docs/screenshots $(BIN)/pytest -m e2e tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Translations: extract every message into the template, merge it into each language's
# catalog (new messages arrive untranslated: tests/test_i18n.py fails until they are
# translated), compile the .mo files the app loads. Both .po and .mo are committed.
TRANSLATIONS := platform/storefront/translations
i18n: install  ## extract, update and compile the message catalogs (en de fr es nl)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project storefront --version 0.1 --msgid-bugs-address "" --copyright-holder storefront \
		-o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) \
		--no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics
	$(BIN)/pybabel compile -D flask_security -d $(TRANSLATIONS)  # what Flask-Security lacks

# The peer (Django + django-tenants on PostgreSQL) and granian come from the [bench]
# extra; wrk from Debian when the machine lacks it.
bench: install  ## benchmarks, each ratio against its goal; figures in docs/benchmarks.md
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
	$(BIN)/python -m bench
	$(BIN)/python -m bench.plot

drills: install  ## load and fault drills on gunicorn + own MariaDB + Redis; docs/reliability.md
	$(BIN)/python -m bench.drills
	$(BIN)/python -m bench.drills.mail
	$(BIN)/python -m bench bigshop --drill --db sqlite

drills-cluster: install  ## 3 app servers, Galera x3 behind HAProxy, Redis + Sentinels, an S3 store, with faults; docs/reliability.md
	$(BIN)/python -m bench.drills.cluster

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
