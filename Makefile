# vilasr_ros: the two commands a user needs are `make demo` and `make test`.
# Both run `make setup` first (idempotent: seconds when nothing changed).
SHELL := /bin/bash
RUN := bash tools/run.sh
PYTEST_ARGS ?=

.PHONY: setup test demo bench clean

setup:
	@bash tools/setup.sh

test: setup
	$(RUN) python -m pytest $(PYTEST_ARGS)

demo: setup
	$(RUN) bash tools/demo.sh

# Benchmarks of the real code paths: bench/results.json (+ results.md).
bench: setup
	$(RUN) python bench/run.py

clean:
	rm -rf build install log build.log demo_out .pytest_cache
