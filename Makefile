# journeyline: two commands do everything on a fresh clone.
#   make demo  - build the venv if missing, generate sample data, run the job, build reports
#   make test  - build the venv if missing, run the whole test suite
#   make bench - build the venv if missing, benchmark 100k/1M/3M events against a DuckDB
#                reference (BENCH_SIZES=100k,1M for a quicker run; not part of make test)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data
PEOPLE ?= 5000
SEED   ?= 42
BENCH_SIZES ?= 100k,1M,3M
# Test files run in parallel, one worker per core (a file stays on one worker, so its
# module fixtures are built once); TEST_WORKERS=0 runs them one by one.
TEST_WORKERS ?= auto
# Clearly not a secret: the demo's data is synthetic. Never use it for real data.
DEMO_HASH_KEY := DEMO-ONLY-journeyline-hash-key-not-a-secret

.PHONY: demo test lint bench clean

$(STAMP): setup.py constraints.txt transforms/_linescan.c transforms/_nodeids.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned dependencies into $(VENV) (about a minute on first run)..."
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[all,dev]"
	@touch $(STAMP)

demo: $(STAMP)
	@echo "NOTE: the demo hashes e-mail and phone with a DEMO key, public in this Makefile:"
	@echo "      JOURNEYLINE_HASH_KEY=$(DEMO_HASH_KEY)"
	@echo "      real data needs your own secret key (deploy/README.md, 'The hash key')."
	@$(BIN)/journeyline generate --out $(DATA)/landing --people $(PEOPLE) --seed $(SEED)
	@JOURNEYLINE_HASH_KEY=$(DEMO_HASH_KEY) $(BIN)/journeyline run --input $(DATA)/landing --warehouse $(DATA)/warehouse.duckdb --lake $(DATA)/lake
	@$(BIN)/journeyline quality --warehouse $(DATA)/warehouse.duckdb --lake $(DATA)/lake --out $(DATA)/reports --screenshot
	@$(BIN)/journeyline report --warehouse $(DATA)/warehouse.duckdb --out $(DATA)/reports --screenshot
	@$(BIN)/journeyline docs --warehouse $(DATA)/warehouse.duckdb --lake $(DATA)/lake --out $(DATA)/reports
	@echo
	@echo "Where to look:"
	@echo "  warehouse (DuckDB):  $(DATA)/warehouse.duckdb   e.g. .venv/bin/python -c \"import duckdb; print(duckdb.connect('$(DATA)/warehouse.duckdb', read_only=True).sql('from fct_journey_funnel where dimension = \\'all\\' limit 10'))\""
	@echo "  warehouse docs:      $(DATA)/reports/warehouse_docs.html   (one offline HTML page: every table, column and test)"
	@echo "  lake (Parquet):      $(DATA)/lake/runs/"
	@echo "  landing + truth:     $(DATA)/landing/"
	@echo "  data-quality report: $(DATA)/reports/quality.html  (drill-down: $(DATA)/reports/data_docs/index.html)"
	@echo "  journey report:      $(DATA)/reports/journey.html"
	@if [ -f $(DATA)/reports/quality.png ] && [ -f $(DATA)/reports/journey.png ]; then \
		echo "  screenshots:         $(DATA)/reports/quality.png  $(DATA)/reports/journey.png"; \
	else \
		echo "  screenshots:         none: no Chromium here (apt-get install -y chromium), then make demo"; \
	fi

test: $(STAMP)
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP)
	@$(BIN)/python -m benchmarks --sizes $(BENCH_SIZES)

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/sqlfluff lint models

clean:
	rm -rf $(DATA) .pytest_cache target logs
