# Every target creates .venv (and installs the pinned dependencies) when it is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov pins an older boto3, so it lives in a venv of its own (pipeline/checkov.py).
CHECKOV := $(VENV)/tools/checkov/requirements.txt
# So does CDK Terrain, the second engine (modules/engine.py): newer constructs and jsii.
CDKTN := $(VENV)/tools/cdktn/requirements.txt

.PHONY: synth test lint local deploy clean bench-consumer bench-synth changed plan jobs e2e engine-cdktn engine-switch new-service

synth: $(STAMP)  ## Synthesize every stack into cdktf.out/stacks/<name>/cdk.tf.json
	$(PY) main.py

test: $(STAMP) $(CHECKOV) $(CDKTN)  ## Lint, then run the whole test suite (what CI runs)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

local: $(STAMP)  ## Producer and consumer against an embedded SQS until Ctrl-C; ARGS=--jobs: the job family
	$(PY) -m devtools.local $(ARGS)

new-service: $(STAMP)  ## Write a new service's own files: make new-service NAME=thumbnails KIND=consumer|producer|scheduled|job [SENDS_TO=<consumer>]
	@$(PY) -m devtools.new_service '$(NAME)' '$(KIND)' $(if $(SENDS_TO),--sends-to '$(SENDS_TO)')

e2e: $(STAMP)  ## Apply every stack to a local AWS, re-plan, run the workers, change one, destroy
	$(PY) -m devtools.e2e $(ARGS)

engine-switch: $(STAMP) $(CDKTN)  ## Apply with cdktf to a local AWS, plan with cdktn: no change [ARGS="--from cdktn --to cdktf"]
	$(PY) -m devtools.engine_switch $(ARGS)

jobs: $(STAMP)  ## Recent jobs of a job family, or one in full: make jobs [SERVICE=<name>] [ID=<job id>]
	$(PY) -m devtools.jobs $(if $(SERVICE),--service '$(SERVICE)') $(if $(ID),show '$(ID)',list)

bench-consumer: $(STAMP)  ## Consumer throughput and SQS requests per message against moto_server
	$(PY) -m bench.consumer_throughput

.PHONY: simulate plan-capacity bench-simulate

simulate: $(STAMP)  ## make simulate SERVICE=consumer WORKLOAD=producer [ARGS="--hours 6 --compare-modes"]
	$(PY) -m simulator simulate --service $(or $(SERVICE),consumer) --workload '$(or $(WORKLOAD),producer)' $(ARGS)

plan-capacity: $(STAMP)  ## make plan-capacity SERVICE=consumer WORKLOAD=producer P95=120
	$(PY) -m simulator plan-capacity --service $(or $(SERVICE),consumer) --workload '$(or $(WORKLOAD),producer)' --p95 $(or $(P95),$(error P95=<seconds> is required)) $(ARGS)

bench-simulate: $(STAMP)  ## Wall time of a simulated 24-hour day of the producer workload
	$(PY) -m bench.simulate_day

.PHONY: cost

cost: $(STAMP)  ## Monthly cost per stack, fixed and usage, offline (costs/prices.yaml): make cost [ARGS=--json]
	$(PY) main.py
	$(PY) -m costs --stacks cdktf.out $(ARGS)

bench-synth: $(STAMP) $(CDKTN)  ## Synth wall time, peak RSS and cost per service: fast vs plain, each engine
	$(PY) -m bench.synth

changed: $(STAMP)  ## Stacks whose synthesized output differs from BASE, in apply order: make changed BASE=origin/main [JSON=1]
	$(if $(BASE),,$(error BASE is required, e.g. make changed BASE=origin/main))
	$(PY) -m pipeline changed --base '$(BASE)' $(if $(JSON),--json)

plan: $(STAMP)  ## Synth, init and plan one stack, then summarize: make plan STACK=consumer [LOCAL_AWS=<moto url>]
	@$(PY) -m pipeline stacks --need '$(STACK)' --for 'make plan'
	$(PY) -m pipeline plan '$(STACK)' $(if $(LOCAL_AWS),--local-aws '$(LOCAL_AWS)')

deploy: $(STAMP) $(if $(STACK),node_modules/.installed)  ## make deploy STACK=producer (with the configured engine's CLI)
	@$(PY) -m pipeline stacks --need '$(STACK)' --for 'make deploy'
	$(PY) -m modules.engine cli deploy $(STACK)

$(STAMP): pyproject.toml
	@# Creates the venv if needed and says what it installs, with the size to download.
	@python3 -m devtools.bootstrap $(VENV)
	@# Our own bytecode too: where PYTHONDONTWRITEBYTECODE is set, every synth would otherwise
	@# compile the app's modules again (~40 ms of a ~1 s synth). Images never get it.
	$(PY) -m compileall -q main.py modules workers
	touch $@

$(CHECKOV): pyproject.toml $(STAMP)
	$(PY) -m pipeline install-checkov

engine-cdktn: $(CDKTN)  ## Install CDK Terrain into .venv/tools/cdktn (engine: cdktn does on first use)

$(CDKTN): pyproject.toml $(STAMP)
	$(PY) -m modules.engine install cdktn

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

clean:
	rm -rf cdktf.out
