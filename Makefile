# vilasr_ros: the two commands a user needs are `make demo` and `make test`.
# Both run `make setup` first (idempotent: seconds when nothing changed).
SHELL := /bin/bash
RUN := bash tools/run.sh
PYTEST_ARGS ?=

.PHONY: setup test demo bench bench-gpu clean

setup:
	@bash tools/setup.sh

test: setup
	$(RUN) python -m pytest $(PYTEST_ARGS)

demo: setup
	$(RUN) bash tools/demo.sh

# Benchmarks of the real code paths: bench/results.json (+ results.md).
bench: setup
	$(RUN) python bench/run.py

# Decode speed at Qwen2.5-VL-7B scale (random weights) on a CUDA GPU: bench/results-gpu.json.
# Without a GPU it says so in one line and fails.
bench-gpu: setup
	$(RUN) python bench/gpu.py

clean:
	rm -rf build install log build.log demo_out .pytest_cache
