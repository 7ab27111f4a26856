"""`make bench`: measure the real code paths and write bench/results.json (+ results.md).

    python bench/run.py [--out bench/results.json] [--repeats N]

Top-level numeric keys (tools read them); every figure is measured here, now.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vilasr_ros.config import EngineConfig
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.replay_backend import ReplayBackend
from vilasr_ros.reasoning.synthetic import drawing_transcript

TURNS = 10
QUESTION = "Which object is closer to the door?"
OPTIONS = ("A. the chair", "B. the table")


def camera_frames(count: int, height: int = 720, width: int = 1280, seed: int = 0) -> list[np.ndarray]:
    """Textured 720p RGB frames (random noise compresses and resizes like real texture)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def loop_overhead(repeats: int) -> dict[str, float]:
    """Everything but the model: resize, prompt, parse, merge, draw, per turn (replay backend)."""
    frames = camera_frames(4)
    transcript = drawing_transcript(TURNS, len(frames))
    engine = ReasoningEngine(ReplayBackend(transcript), EngineConfig(max_turns=TURNS))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = engine.run(frames, QUESTION)
        times.append(time.perf_counter() - started)
        assert result.stop_reason == "answered" and len(result.turns) == TURNS, result.error
    return {
        "loop_overhead_ms_per_turn": 1e3 * statistics.median(times) / TURNS,
        "loop_overhead_ms_per_query_4x720p": 1e3 * statistics.median(times),
    }


def incremental_vs_reprefill(repeats: int) -> dict[str, float]:
    """Teacher-forced 10-turn transcript on the tiny model: work and wall time, ours vs re-prefill."""
    from vilasr_ros.reasoning.tiny_model import build_tiny_qwen
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend

    frames = camera_frames(2, 336, 448)  # small frames keep the tiny model's vision cost realistic in ratio
    transcript = drawing_transcript(TURNS, len(frames), width=448, height=336)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        model_dir = build_tiny_qwen(Path(directory) / "tiny")
        for label, incremental in (("incremental", True), ("reprefill", False)):
            backend = TransformersBackend(str(model_dir), device="cpu", incremental=incremental)
            engine = ReasoningEngine(backend, EngineConfig(max_turns=TURNS))
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                result = engine.run(frames, QUESTION, forced_turns=transcript)
                times.append(time.perf_counter() - started)
                assert result.stop_reason == "answered", result.error
            backend.close()
            work = result.work
            figures[f"{label}_s_per_query"] = statistics.median(times)
            figures[f"{label}_prefill_tokens"] = work["prefill_tokens"]
            figures[f"{label}_vision_patches"] = work["vision_patches"]
            if incremental:
                figures["prefill_work_ratio"] = work["prefill_tokens"] / work["min_prefill_tokens"]
                figures["vision_encode_ratio"] = work["vision_patches"] / work["min_vision_patches"]
                figures["min_prefill_tokens"] = work["min_prefill_tokens"]
            else:
                figures["reprefill_prefill_work_ratio"] = work["prefill_tokens"] / work["min_prefill_tokens"]
                figures["reprefill_vision_encode_ratio"] = work["vision_patches"] / work["min_vision_patches"]
    figures["incremental_speedup_vs_reprefill"] = figures["reprefill_s_per_query"] / figures["incremental_s_per_query"]
    return figures


def machine() -> dict[str, str]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    import torch

    return {
        "commit": commit or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": str(os.cpu_count()),
        "torch": torch.__version__,
        "torch_threads": str(torch.get_num_threads()),
    }


def write_markdown(results: dict, path: Path) -> None:
    lines = ["| metric | value |", "|---|---|"]
    for key, value in results.items():
        if isinstance(value, (int, float)):
            lines.append(f"| `{key}` | {value:.4g} |")
    lines.append("")
    lines.append("Machine: " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results.json"))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    results: dict = {}
    results.update(loop_overhead(args.repeats))
    results.update(incremental_vs_reprefill(max(1, args.repeats // 2)))
    results["machine"] = machine()
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out.with_suffix(".md"))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
