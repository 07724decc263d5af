# The two commands a new user needs: `make run` and `make test`.
# Both build their own virtual environment in .venv from pyproject.toml.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
YEAR   ?= 2021
AS_OF  ?= $(YEAR)-07-15
DB     ?= sqlite:///state.db
# The example county's key file (it seals children's numbers and the evidence files): beside state.db
# for the demonstration only; a bureau keeps its key apart from the database (docs/deployment.md).
KEYS   ?= example-keys.json
AIDCAL := AIDCAL_KEY_FILE=$(KEYS) $(BIN)/aidcal --db $(DB)

.PHONY: run test bench bench-cases bench-writers clean clean-db messages

$(BIN)/aidcal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The main job on the embedded default (state.db), shown on the example county:
# the first time, load the plan, the roster and the completions of YEAR; then,
# every time, the supervisor's overdue summary as of AS_OF.
run: $(BIN)/aidcal
	@[ -f $(KEYS) ] || $(AIDCAL) key init --file $(KEYS)
	@if ! $(AIDCAL) calendar list --format json 2>/dev/null | grep -q '"year": $(YEAR)'; then \
	  $(AIDCAL) calendar load calendar.yaml --year $(YEAR) --as-of $(YEAR)-01-01 && \
	  $(AIDCAL) units import examples/units.csv --as-of $(YEAR)-01-01 && \
	  if [ "$(YEAR)" = 2021 ]; then $(AIDCAL) tasks import examples/completions.csv --as-of $(AS_OF); fi; \
	  $(AIDCAL) programmes list --term $(YEAR)-autumn; \
	fi
	@$(AIDCAL) overdue --as-of $(AS_OF) --year $(YEAR) --limit 20

# ruff, pytest, then the wheel: built, installed into a fresh venv, run from an empty folder.
test: $(BIN)/aidcal
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
	bash tests/wheel_smoke.sh $(BIN)/python

bench: $(BIN)/aidcal
	$(BIN)/python bench/run.py

bench-cases: $(BIN)/aidcal
	$(BIN)/python bench/cases.py

bench-writers: $(BIN)/aidcal
	$(BIN)/python bench/writers.py

# The virtual environment only: state.db holds the county's records and is never removed here.
clean:
	rm -rf $(VENV) build dist *.egg-info

# Deletes the county's database, after saying so: only on purpose.
clean-db:
	@echo "deleting state.db (every plan, unit, completion, notice and case in it)"
	rm -f state.db state.db-wal state.db-shm

# The message catalog: extract every text people read, merge into aidcal.po, compile aidcal.mo (Babel).
messages: $(BIN)/aidcal
	$(BIN)/python tools/messages.py
