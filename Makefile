# Two entry points, both self-installing:  `make run`  and  `make test`.
# A virtual environment is created in .venv unless one is already active.
VENV ?= .venv
ifdef VIRTUAL_ENV
PY := $(VIRTUAL_ENV)/bin/python
STAMP := $(VIRTUAL_ENV)/.lipbound-installed
else
PY := $(VENV)/bin/python
STAMP := $(VENV)/.lipbound-installed
endif
REPORT ?= lipbound-report
REQUIRE_DATA ?=
PYTEST_ARGS ?=

.PHONY: install run test test-slow docs clean results

$(PY):
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)

# torch is installed first, pinned by constraints.txt, so nothing later can pull a CUDA build.
$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## The main job: check every claim of the ledger on small built-in data and write a report:
## $(REPORT)/verify.json (rows), verify.md (table), index.html + report.md + figures/ (the report).
## Readings whose data is not shipped (the iCub data of the mvae-* claims) are reported "skipped"
## when it is absent, so this completes on a fresh clone; REQUIRE_DATA=1 makes absent data an error.
run: $(STAMP)
	$(PY) -m lipbound verify --json $(REPORT)/verify.json --markdown $(REPORT)/verify.md --report $(REPORT)$(if $(filter 1,$(REQUIRE_DATA)), --require-data,)

## The tests: the default suite (not slow, not gpu-only), then the strict docs build.
## pytest exits 5 when it collects no test; that fails the target like any other error.
test: $(STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)
	$(PY) -m mkdocs build --strict --site-dir build/site

test-slow: $(STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(PY) -m pytest -m slow $(PYTEST_ARGS)

## Regenerate the committed results the empirical claims are decided on: the medium preset (about 100 min
## on a 2-core CPU; resumes when rerun), then its compact form in lipbound/claims/empirical/results/medium.
RESULTS_OUT ?= lipbound-results/medium
results: $(STAMP)
	$(PY) -m lipbound reproduce --preset medium --out $(RESULTS_OUT) --workers 2 --no-progress
	$(PY) -m lipbound.claims.empirical._compact $(RESULTS_OUT) lipbound/claims/empirical/results/medium

docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir build/site

clean:
	rm -rf build $(REPORT) .pytest_cache .hypothesis
