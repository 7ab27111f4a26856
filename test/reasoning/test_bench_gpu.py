"""bench/gpu.py on a machine without a GPU: the one-line refusal, and the whole script on a miniature model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "gpu.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_exits_with_one_line(tmp_path):
    out = tmp_path / "results-gpu.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and "--config tiny" in lines[0], done.stderr
    assert not out.exists()


def test_tiny_configuration_runs_every_path_and_writes_the_figures(tmp_path):
    out = tmp_path / "results-gpu.json"
    command = [
        sys.executable,
        str(SCRIPT),
        "--config",
        "tiny",
        "--turns",
        "2",
        "--decode-tokens",
        "6",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["config"] == "tiny" and results["turns"] == 2 and results["decode_tokens_per_turn"] == 6
    assert results["bandwidth_gb_per_s"] > 0 and 0 < results["decode_step_weight_gb"] < results["weight_gb"]
    check = results["same_tokens_check"]
    assert check["reference"] == "static" and check["dynamic_identical"] is True  # float32 on the CPU: identical
    paths = results["paths"]
    if not torch.cuda.is_available():
        assert "CUDA" in paths["graph"]["skipped"]
    for name in ("dynamic", "static", "generate"):
        figures = paths[name]
        assert len(figures["prefill_s"]) >= 2 and all(t > 0 for t in figures["prefill_s"]), name
        # every turn decoded what was asked: the end-of-turn rows of the output head are zeroed
        expected = 6 - 1 if name == "generate" else 6  # generate(): the first token is the prefill's
        assert figures["decode_tokens"] == [expected, expected], (name, figures["decode_tokens"])
        assert figures["decode_tokens_per_s"] == pytest.approx(sum(figures["decode_tokens"]) / sum(figures["decode_s"]))
        assert figures["fraction_of_ceiling"] == pytest.approx(
            figures["decode_tokens_per_s"] / results["ceiling_tokens_per_s"]
        )
    # the three paths ran the same conversation: generate() got the prompts our loop built
    assert paths["generate"]["prefill_tokens"][-1] == paths["dynamic"]["context_tokens"] - 6 - 2
