# Storeloop. `make demo` and `make test` work on a fresh machine with only Python 3.11+.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# DATABASE_URL unset: the embedded PostgreSQL (data in .devdata/postgres).
WITH_DATABASE = if [ -z "$${DATABASE_URL:-}" ]; then DATABASE_URL="$$($(PY) -m config.devdb url)"; export DATABASE_URL; fi

# CELERY_BROKER_URL unset: kombu's filesystem transport, so a real worker still runs in the integration tests.
WITH_BROKER = if [ -z "$${CELERY_BROKER_URL:-}" ]; then CELERY_BROKER_URL=filesystem://; \
	CELERY_BROKER_TRANSPORT_OPTIONS="$$($(PY) -m config.devdb broker test)"; \
	export CELERY_BROKER_URL CELERY_BROKER_TRANSPORT_OPTIONS; fi

.PHONY: help install demo test lint format manage bench db-stop clean

help:
	@echo "make demo    install, start PostgreSQL, migrate, load demo data, run web + worker + beat"
	@echo "make test    install and run the whole test suite"
	@echo "make lint    ruff, ruff format --check, mypy on services/selectors, makemigrations --check"
	@echo "make format  apply ruff's fixes and formatting"
	@echo "make manage cmd=\"...\"  a manage.py command on the demo's database (e.g. createsuperuser)"
	@echo "make bench   run the benchmarks (see benchmarks/README.md)"
	@echo "make db-stop stop the embedded PostgreSQL"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) -m config.demo

test: install
	@$(WITH_DATABASE); $(WITH_BROKER); $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $$(ls */services.py */selectors.py */services/*.py */services/*/*.py */selectors/*.py */*/services.py */*/selectors.py 2>/dev/null)
	@$(WITH_DATABASE); DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Any manage.py command against the same database as `make demo`: make manage cmd="createsuperuser"
manage: install
	@$(WITH_DATABASE); DEBUG=$${DEBUG:-1} $(PY) manage.py $(cmd)

bench: install
	@$(WITH_DATABASE); $(PY) -m benchmarks

db-stop:
	@test -x $(PY) && $(PY) -m config.devdb stop || true

clean: db-stop
	rm -rf $(VENV) .devdata staticfiles

# Shopper pages' translation catalogues (locale/): extract, then translate the .po files and run `make messages-compile`.
# Only shopper-facing code is scanned; the staff dashboard is English.
I18N_IGNORE := .venv .devdata '*.egg-info' benchmarks 'campaigns/models' 'campaigns/migrations' 'campaigns/segments' campaigns/forms.py campaigns/views.py campaigns/apps.py config core/migrations core/management core/templatetags demo insights loyalty merchants tests static locale \
	templates/merchants templates/profiles templates/insights templates/loyalty templates/account templates/allauth templates/base.html \
	profiles/migrations profiles/models.py
I18N_LANGUAGES := ko zh_Hant ar

.PHONY: messages messages-compile
messages: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py makemessages --no-obsolete --no-wrap --add-location file $(addprefix -l ,$(I18N_LANGUAGES)) \
		$(addprefix --ignore ,$(I18N_IGNORE))

# The compiled .mo files are committed, so a fresh machine needs no gettext tools; this needs msgfmt.
messages-compile: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py compilemessages --ignore .venv
