"""`vilasr-ros reason`: image files in, result.json and drawings out."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT

TURNS = [
    "<think> Find the chair. </think> Action: Object Mapper\n```json\n"
    '[{"index": 1, "bbox_2d": [100, 50, 300, 250], "label": "chair"}]\n```',
    "<think> Now the path. </think> Action: Path Tracer\n```json\n"
    '[{"index": 2, "start_point_2d": [10, 10], "end_point_2d": [600, 400], "label": "route"}]\n```',
    "<think> Close. </think> Action: Answer\n<answer> 2.5 m </answer>",
]


def reason(*args, cwd=REPO_ROOT):
    return subprocess.run(
        [sys.executable, "-c", "import sys; from vilasr_ros.cli import main; sys.exit(main(sys.argv[1:]))", "reason", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def images(tmp_path):
    paths = []
    for number, size in enumerate([(720, 1280), (480, 640)]):
        path = tmp_path / f"frame{number}.png"
        cv2.imwrite(str(path), np.full((*size, 3), 60 + 40 * number, np.uint8))
        paths.append(str(path))
    return paths


def test_replay_writes_result_json_and_drawn_images(tmp_path, images):
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps(TURNS))
    out = tmp_path / "out"
    result = reason("--image", images[0], "--image", images[1], "--question", "How far is the chair?",
                    "--answer-type", "numeric", "--backend", "replay", "--transcript", str(transcript), "--out", str(out))
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    assert document["answer"] == "2.5 m" and document["numeric_answer"] == 2.5
    assert document["stop_reason"] == "answered" and document["choice"] is None
    assert [turn["action"] for turn in document["turns"]] == ["Object Mapper", "Path Tracer", "Answer"]
    first = document["turns"][0]["new_images"][0]
    assert first == {"index": 3, "base_index": 1, "source_index": 1, "path": "image_03.png",
                     "boxes": [{"label": "chair", "bbox_2d": [100.0, 50.0, 300.0, 250.0]}], "lines": []}
    assert document["turns"][0]["user_text"].startswith("The index of the given image is 3 (width: 784, height: 420).")
    second = document["turns"][1]["new_images"][0]
    assert second["index"] == 4 and second["lines"][0]["end_point_2d"] == [600.0, 400.0]
    assert document["turns"][2]["user_text"] is None
    assert document["images"][0]["width"] == 784 and document["images"][0]["source_width"] == 1280
    drawn = cv2.imread(str(out / "image_03.png"))
    assert drawn.shape == (420, 784, 3)
    assert not (out / "image_01.png").exists()
    assert set(document["work"]) >= {"prefill_tokens", "vision_patches", "decoded_tokens", "min_prefill_tokens"}


def test_bad_inputs_get_clear_errors(tmp_path, images):
    missing = reason("--image", str(tmp_path / "nope.png"), "--question", "q", "--backend", "replay",
                     "--transcript", "t.json", "--out", str(tmp_path))
    assert missing.returncode == 2 and "cannot read image" in missing.stderr
    no_transcript = reason("--image", images[0], "--question", "q", "--backend", "replay", "--out", str(tmp_path))
    assert no_transcript.returncode == 2 and "--backend replay needs --transcript" in no_transcript.stderr
    bad_turns = reason("--image", images[0], "--question", "q", "--max-turns", "0", "--backend", "replay",
                       "--transcript", "t.json", "--out", str(tmp_path))
    assert bad_turns.returncode == 2 and "engine.max_turns must be >= 1" in bad_turns.stderr
    assert "Traceback" not in missing.stderr + no_transcript.stderr + bad_turns.stderr


def test_a_tool_error_is_written_too(tmp_path, images):
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps(["<think> no idea </think> Action: Object Mapper\n```json\n[oops]\n```"]))
    result = reason("--image", images[0], "--question", "q", "--backend", "replay", "--transcript", str(transcript),
                    "--out", str(tmp_path / "out"))
    assert result.returncode == 1
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["stop_reason"] == "tool_error" and "not valid JSON" in document["error"]
