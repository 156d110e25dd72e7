# Every target creates .venv (and installs the pinned dependencies) when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: synth test lint local deploy clean bench-consumer

synth: $(STAMP)  ## Synthesize every stack into cdktf.out/stacks/<name>/cdk.tf.json
	$(PY) main.py

test: $(STAMP)  ## Lint, then run the whole test suite (what CI runs)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

local: $(STAMP)  ## Run producer and consumer against an embedded SQS until Ctrl-C
	$(PY) -m devtools.local

bench-consumer: $(STAMP)  ## Consumer throughput and SQS requests per message against moto_server
	$(PY) -m bench.consumer_throughput

deploy: $(STAMP) node_modules/.installed  ## make deploy STACK=producer
	npx cdktf deploy $(STACK)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf cdktf.out
