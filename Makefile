# vilasr_ros: the two commands a user needs are `make demo` and `make test`.
# Both run `make setup` first (idempotent: seconds when nothing changed).
SHELL := /bin/bash
RUN := bash tools/run.sh
PYTEST_ARGS ?=

.PHONY: setup test test-unit lint format demo bench bench-gpu train-tiny clean

setup:
	@bash tools/setup.sh

test: setup
	$(RUN) python -m pytest $(PYTEST_ARGS)

# The fast loop: everything that starts no ROS process, model server or build (under 30 s here).
UNIT := not ros and not server and not model and not packaging and not slow
test-unit: setup
	$(RUN) python -m pytest -q -m "$(UNIT)" $(PYTEST_ARGS)

# ruff (ruff.toml): lint rules and formatting; `make format` rewrites the files.
lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: setup
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

demo: setup
	$(RUN) bash tools/demo.sh

# Benchmarks of the real code paths: bench/results.json (+ results.md).
bench: setup
	$(RUN) python bench/run.py

# Decode speed at Qwen2.5-VL-7B scale (random weights) on a CUDA GPU: bench/results-gpu.json.
# Without a GPU it says so in one line and fails.
bench-gpu: setup
	$(RUN) python bench/gpu.py

# A tiny ViLaSR trained from a seed through SFT, rejection sampling and GRPO on the simulated world, evaluated
# with and without tools on a held-out benchmark (build/train_tiny; resumable: rerun to continue).
train-tiny: setup
	$(RUN) bash tools/train_tiny.sh

clean:
	rm -rf build install log build.log demo_out .pytest_cache
