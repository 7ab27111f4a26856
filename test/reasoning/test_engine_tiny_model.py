"""The loop on a real (tiny, random) Qwen2.5-VL through the transformers backend: work and CLI."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from vilasr_ros.config import EngineConfig
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.transformers_backend import TransformersBackend
from vilasr_ros.sim.transcripts import drawing_transcript

pytestmark = pytest.mark.model

FRAMES = [np.random.default_rng(n).integers(0, 256, (168, 224, 3), dtype=np.uint8) for n in range(2)]


@pytest.fixture(scope="module")
def backends(tiny_model_dir):
    loaded = {mode: TransformersBackend(str(tiny_model_dir), device="cpu", incremental=mode) for mode in (True, False)}
    yield loaded
    for backend in loaded.values():
        backend.close()


def test_teacher_forced_ten_turns_do_exactly_the_minimum_work(backends):
    transcript = drawing_transcript(10, len(FRAMES), width=224, height=168)
    result = ReasoningEngine(backends[True], EngineConfig(max_turns=10)).run(FRAMES, "Where?", forced_turns=transcript)
    assert result.stop_reason == "answered" and len(result.turns) == 10 and len(result.images) == 11
    work = result.work
    assert work["prefill_tokens"] == work["min_prefill_tokens"] > 0
    assert work["vision_patches"] == work["min_vision_patches"]
    patches_per_image = (168 // 14) * (224 // 14)
    assert work["vision_patches"] == 11 * patches_per_image  # each image encoded exactly once
    assert work["decoded_tokens"] == 0


def test_the_reference_style_reprefill_does_much_more(backends):
    transcript = drawing_transcript(10, len(FRAMES), width=224, height=168)
    engine = ReasoningEngine(backends[False], EngineConfig(max_turns=10))
    work = engine.run(FRAMES, "Where?", forced_turns=transcript).work
    assert work["prefill_tokens"] > 5 * work["min_prefill_tokens"]
    assert work["vision_patches"] > 5 * work["min_vision_patches"]


def test_live_generation_ends_with_a_stop_reason_and_counts_decoding(backends):
    engine = ReasoningEngine(backends[True], EngineConfig(max_turns=2, max_new_tokens=12, temperature=0.0))
    result = engine.run(FRAMES, "Which is closer?")
    # A random model does not follow the protocol: the loop must end cleanly, never raise.
    assert result.stop_reason in {"tool_error", "answered", "max_turns"}
    assert result.work["decoded_tokens"] >= 1
    assert result.work["prefill_tokens"] == result.work["min_prefill_tokens"]


def test_cli_reason_with_the_tiny_model_teacher_forced(tiny_model_dir, tmp_path):
    image = tmp_path / "frame.png"
    cv2.imwrite(str(image), FRAMES[0])
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps(drawing_transcript(3, 1, width=224, height=168)))
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vilasr_ros.cli import main; sys.exit(main(sys.argv[1:]))",
            "reason",
            "--image",
            str(image),
            "--question",
            "Where?",
            "--model",
            str(tiny_model_dir),
            "--device",
            "cpu",
            "--transcript",
            str(transcript),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["stop_reason"] == "answered" and document["answer"] == "B"
    assert document["work"]["prefill_tokens"] == document["work"]["min_prefill_tokens"] > 0
    assert (tmp_path / "out" / "image_02.png").exists() and (tmp_path / "out" / "image_03.png").exists()
