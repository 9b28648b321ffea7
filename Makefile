# WhatsApp commerce assistant: every command a user or CI needs. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PHONE ?= +254711000111
ENV := source scripts/env.sh &&

.PHONY: help setup train validate seed up reload down restart status demo chat test eval eval-faq fit-faq-confidence fit-intent-blend import-public bench logs clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## build .venv-rasa (Python 3.10, rasa) and .venv (Python 3.11, backend); idempotent
	@scripts/setup.sh

train: setup ## train the Rasa model when data/, config.yml or domain/ changed
	@scripts/train.sh

validate: setup ## rasa data validate (domain, NLU, stories, rules)
	@$(ENV) .venv-rasa/bin/rasa data validate --fail-on-warnings --domain domain --data data --config config.yml

seed: setup ## create the database schema and the five demo tenants (two with catalogs imported from simulated stores; idempotent; PROFILE=prod: in its PostgreSQL, once `make up PROFILE=prod` runs)
	@$(ENV) .venv/bin/python -m backend.migrate && .venv/bin/python -m backend.seed

up: train ## start backend, worker, action server and rasa in the background; wait until healthy. PROFILE=prod REPLICAS=N: PostgreSQL, Redis, N rasa and N action servers behind HAProxy, N workers (README "Going to production")
	@scripts/stack.sh up

reload: ## retrain if needed and swap the new model into the running rasa (no restart)
	@scripts/reload.sh

down: ## stop exactly what `make up` started
	@scripts/stack.sh down

restart: ## restart the running stack; PROFILE=prod: rolling, one replica at a time drained in HAProxy (no turn dropped), then the backend (graceful), workers and scheduler
	@scripts/stack.sh restart

status: ## show which processes of the stack run
	@scripts/stack.sh status

demo: setup train seed up ## set everything up, print the dashboard's address and login, and chat with the demo shop (PHONE=+2547…)
	@$(ENV) echo "Dashboard: $$BACKEND_URL/app/  (sign in as owner@demo-shop.example / Demo-Staff-Pass-2026; other roles: README \"Staff accounts\")"
	@$(ENV) .venv/bin/python scripts/chat.py --phone "$(PHONE)"

chat: ## chat with the running stack as a WhatsApp customer (PHONE=+2547…)
	@$(ENV) .venv/bin/python scripts/chat.py --phone "$(PHONE)"

test-stories: train ## rasa test core on tests/stories (every flow in each language) with --fail-on-prediction-errors
	@$(ENV) PYTHONPATH=$(CURDIR) .venv-rasa/bin/python scripts/test_stories.py

test: ## everything CI runs: services, unit, channel, action, data validation and end-to-end tests
	@scripts/test.sh

eval: train ## score the NLU on the held-out split and public sets (eval/results/); EVAL_SETS=, EVAL_LIMIT=, MODEL=, EVAL_STRICT=1
	@PYTHONPATH="$$PWD" .venv-rasa/bin/python scripts/eval_nlu.py

fit-intent-blend: setup ## refit the weights of DIET, the lexical and the embedding intent experts by 3-fold cross-validation on data/nlu (~17 min); WRITE=1 puts them into config.yml
	@PYTHONPATH="$$PWD" .venv-rasa/bin/python scripts/fit_intent_blend.py $(if $(WRITE),--write)

eval-faq: setup ## FAQ retrieval: hit@1, MRR, abstention per language and embedder, latency (eval/results/faq/)
	@$(ENV) OMP_NUM_THREADS=1 .venv/bin/python scripts/eval_faq.py

fit-faq-confidence: setup ## refit the FAQ answer-confidence model per embedder on small bases: the demo shop cut to 1-3 phrasings (eval/faq/dev.yaml) and the DEV merchants (backend/kb/confidence.json)
	@$(ENV) OMP_NUM_THREADS=1 .venv/bin/python scripts/fit_faq_confidence.py

bench: seed up ## conversation latency, throughput and memory of the stack; backend at 10,000 products on PostgreSQL; a campaign to 10,000 customers, then a campaign worker killed halfway through another; the permission check per request; 10,000 store products imported; analytics and the web pages on a year of history (bench/results/)
	@$(ENV) .venv/bin/python scripts/bench.py $(BENCH_ARGS)
	@scripts/services.sh start && trap 'scripts/services.sh stop' EXIT && eval "$$(scripts/services.sh env)" && \
	  .venv/bin/python scripts/bench_backend.py $(BACKEND_BENCH_ARGS) && \
	  .venv/bin/python scripts/bench_payments.py $(PAYMENTS_BENCH_ARGS) && \
	  .venv/bin/python scripts/bench_campaigns.py $(CAMPAIGNS_BENCH_ARGS)
	@$(ENV) .venv/bin/python scripts/bench_faq.py
	@$(ENV) .venv/bin/python scripts/bench_permissions.py
	@scripts/services.sh start && trap 'scripts/services.sh stop' EXIT && eval "$$(scripts/services.sh env)" && \
	  .venv/bin/python scripts/bench_integrations.py $(INTEGRATIONS_BENCH_ARGS)
	@$(ENV) .venv/bin/python scripts/bench_analytics.py
	@$(ENV) .venv/bin/python scripts/bench_web.py

.PHONY: bench-replicas
bench-replicas: ## through HAProxy with 1..N rasa replicas of `make up PROFILE=prod REPLICAS=N`: turns/s, p50/p95/p99, CPU ms per turn per process (REPLICA_COUNTS=1,2)
	@export PROFILE=prod && $(ENV) .venv/bin/python scripts/bench_replicas.py --replicas "$(or $(REPLICA_COUNTS),1,2)" $(BENCH_ARGS)

.PHONY: export-low-confidence
export-low-confidence: ## customer messages the model was unsure of, as Rasa NLU YAML to annotate (THRESHOLD=0.6 SINCE=7 days, TENANT=, OUT=eval/review/low_confidence.yml)
	@$(ENV) .venv/bin/python scripts/export_low_confidence.py --threshold "$(or $(THRESHOLD),0.6)" \
	  --since-days "$(or $(SINCE),7)" --tenant "$(TENANT)" --out "$(or $(OUT),eval/review/low_confidence.yml)"

logs: ## follow the stack's logs
	@tail -n 20 -F var/log/*.log

import-public: setup ## rewrite data/nlu/public/ from the public sets' training parts (MAPPING.md; PUBLIC_SETS_DIR=); CHECK=1 only checks
	@.venv-rasa/bin/python scripts/import_public_training.py $(if $(CHECK),--check)

clean: down ## remove runtime state (var/) and trained models; keeps the virtual environments
	rm -rf var models
