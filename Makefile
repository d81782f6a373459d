# Formloop: `make run` starts everything locally; `make test` runs every test. Both do all set-up.
# Python 3.13, as the Lambda functions run it (pyenv's shim, or a system python3.13).
PYTHON ?= python3.13
VENV := .venv
PY := $(VENV)/bin/python
FORMLOOP := $(VENV)/bin/formloop
STAMP_PY := $(VENV)/.installed
STAMP_NODE := node_modules/.installed
# Formloop's wording per language (docs/i18n.md): each .po compiled to the .mo that pages read.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard chalicelib/locales/*/LC_MESSAGES/formloop.po))

.PHONY: setup messages browser run test lint mutate check-forms package infra bench bench-results bench-email bench-gifts bench-inbox bench-webhooks bench-delivery clean

setup: $(STAMP_PY) $(STAMP_NODE) $(CATALOGUES)

# The pinned dependencies, then Formloop itself for the `formloop` command (its build backend is pinned
# in pyproject.toml's [build-system]).
$(STAMP_PY): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || { \
	  echo "Formloop builds, tests and packages on Python 3.13 (Lambda's python3.13 runtime), and '$(PYTHON)' is not it."; \
	  echo "Install it (pyenv install 3.13.0, or your system's python3.13 package), or name one: make PYTHON=/path/to/python3.13"; \
	  exit 1; }
	@if [ -x $(PY) ] && ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(STAMP_NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

%.mo: %.po $(STAMP_PY)
	$(VENV)/bin/pybabel compile --domain formloop --input-file $< --output-file $@

# After marking new wording: extract it into the template, then add it (untranslated) to every language.
messages: $(STAMP_PY)
	$(VENV)/bin/pybabel extract -F babel.cfg -k translate:2 -k translate_plural:2,3 --no-location --sort-output \
	  --project Formloop --version 1 --copyright-holder Formloop -w 120 -o chalicelib/locales/formloop.pot .
	$(VENV)/bin/pybabel update --domain formloop -i chalicelib/locales/formloop.pot -d chalicelib/locales \
	  --no-fuzzy-matching -w 120

# Chromium and ChromeDriver for tests/browser, and a Devanagari font for the Hindi pages' screenshots (DejaVu,
# which Chromium brings, covers Vietnamese), from Debian's packages when missing.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] || [ -z "$$(fc-list :lang=hi 2>/dev/null)" ]; then \
	  sh scripts/install_browser.sh; fi

run: setup
	$(FORMLOOP) run

# Every tier in one run, on two pytest-xdist workers sharing one DynamoDB Local (docs/testing.md);
# `make test PYTEST_ARGS="-n 0"` runs them one after another in this process.
test: setup browser
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check app.py chalicelib formloop_cli tests bench
	$(PY) -m mypy

# Mutation testing of the unit tests over intake parsing, answers, spam and formats ([tool.mutmut] in
# pyproject.toml; results in mutants/). Slow (minutes), so not part of `make test`; fails below 90% killed.
# mutmut copies tests/ over its old copy, where a test file renamed since the last run would still run.
mutate: setup
	rm -rf mutants  # a stale copy (templates, forms, catalogues) would test yesterday's files
	$(VENV)/bin/mutmut run
	$(PY) scripts/mutation_score.py --min 90

check-forms: setup
	$(FORMLOOP) check-forms forms

# `chalice package` ships only app.py and chalicelib/: `formloop package` bundles forms/ in first.
package: setup
	$(FORMLOOP) package build/package

infra: setup
	$(FORMLOOP) infra

bench: setup
	$(PY) bench/submit.py

# Survey results latency with 1k vs 100k stored submissions (docs/surveys.md).
bench-results: setup
	$(PY) bench/results.py

# Email rendering: precompiled MJML vs compiling per email (numbers in docs/email.md).
bench-email: setup
	$(PY) bench/email_templates.py

bench-gifts: setup
	$(PY) bench/gifts.py

# The dashboard's first inbox page with 1k vs 100k stored cases, on DynamoDB Local (docs/dashboard.md).
bench-inbox: setup
	$(PY) bench/inbox.py

# Webhook deliveries per second against emails per second, on this machine (numbers in docs/webhooks.md).
bench-webhooks: setup
	$(PY) bench/webhooks.py

# From the 201 to the acknowledgement in the outbox and to the webhook at its receiver, through the local worker
# as `make run` starts it (numbers in docs/benchmarks.md, "Delivery latency"). About a minute.
bench-delivery: setup
	$(PY) bench/delivery.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules build chalicelib/bundled .local
