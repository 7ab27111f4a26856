"""The first user turn `vilasr-ros eval` sends for an authors' record is the one their ``eval/infer.py`` builds.

The expected turns are written here straight from ``infer.py``'s branches (vsi_bench; maze and
SpatialEval_spatialreal; spar_bench, spar_bench_tiny and mmsi_bench, single and multi view), from the
raw records, with none of our prompt code; the actual turn is what the engine hands the backend.
Multiple-choice records whose options are written only in the question run and score by first letter.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from reference_loop import PAD, PROMPT_TEMPLATE, TYPE_TEMPLATE  # infer.py's strings, verbatim

from vilasr_ros.cli import main
from vilasr_ros.evaluation.authors import load_authors_benchmark
from vilasr_ros.evaluation.runner import EvalSettings, FrameSource, evaluate_item
from vilasr_ros.reasoning.backend import ChatImage, Session
from vilasr_ros.reasoning.replay_backend import ReplayBackend, ReplaySession

# Images already at a size smart_resize keeps (multiples of 28, under max_pixels): the announced size.
WIDTH, HEIGHT = 224, 168
BOX_NOTE = (
    "The values represent the bounding box coordinates normalized to a 0-1000 scale, "
    "with the top-left corner as the origin of the image."
)


def index_text(number: int) -> dict:
    return {"type": "text", "text": f"The index of the given image is {number} (width: {WIDTH}, height: {HEIGHT}).\n"}


def infer_user_content(dataset: str, x: dict, max_frames: int) -> list[dict]:
    """The user message content of ``infer.py``'s ``eval_model`` for record ``x`` (its branches, re-typed)."""
    if dataset == "vsi_bench":
        prompt = (
            f"These are frames from a video, numbered from 1 to {max_frames} in sequence. That is, the index of "
            f"each image is 1, 2, 3, ..., {max_frames}.\n\nAnswer the quesntion with appropriate tools:\n"
            + x["question"]
        )
        if x["problem_type"] == "multiple choice" and "options" in x:
            prompt = prompt + "\n" + "\n".join(x["options"])
        prompt = prompt + TYPE_TEMPLATE[x["problem_type"].lower()]
        content = []
        for image_idx, _ in enumerate(x["image_path"]):
            content += [{"type": "image"}, index_text(image_idx + 1)]
        return content + [{"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)}]
    if dataset in ("maze", "SpatialEval_spatialreal"):
        prompt = x["question"]
        if x["problem_type"] == "multiple choice" and "options" in x:
            prompt = prompt + "\n" + "\n".join(x["options"])
        prompt = prompt + "\nThe index of the given image is 1." + TYPE_TEMPLATE[x["problem_type"].lower()]
        return [{"type": "image"}, {"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)}]
    prompt = x["question"]
    if x["problem_type"] == "multiple choice" and x.get("options") is not None:
        prompt = prompt + "\n" + "\n".join(x["options"])
    prompt = prompt.replace("Your answer can only include one of options A, B, C or D.", "")
    prompt = prompt.replace("Answer using a single number and nothing else.", "")
    post_prompt = ""
    if x.get("original_question_type") in ["position_matching", "camera_motion_infer"]:
        post_prompt = BOX_NOTE
    prompt = prompt + "\n" + post_prompt
    if x["data_type"] == "single_view":
        prompt = prompt + "\nThe index of the given image is 1." + TYPE_TEMPLATE[x["problem_type"].lower()]
        return [{"type": "image"}, {"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)}]
    content = []
    for image_idx, _ in enumerate(x["image_path"]):
        content += [{"type": "image"}, index_text(image_idx + 1)]
    prompt = prompt + TYPE_TEMPLATE[x["problem_type"].lower()]
    return content + [{"type": "text", "text": PROMPT_TEMPLATE.format(question=prompt)}]


def rendered(content: list[dict]) -> str:
    """A content list as Qwen2.5-VL's chat template writes it: each image one pad, texts as they are."""
    return "".join(PAD if part["type"] == "image" else part["text"] for part in content)


class FirstTurnSession(ReplaySession):
    def __init__(self, script, sink: list[str]) -> None:
        super().__init__(script)
        self.sink = sink

    def add_user(self, content) -> None:
        if not self.sink:
            self.sink.append("".join(PAD if isinstance(part, ChatImage) else part for part in content))
            assert all(part.width == WIDTH and part.height == HEIGHT for part in content if isinstance(part, ChatImage))
        super().add_user(content)


class FirstTurnReplay(ReplayBackend):
    """A replay that keeps the first user turn it is sent, rendered as the chat template does."""

    def __init__(self, turns: list[str]) -> None:
        super().__init__(turns)
        self.first_turn: list[str] = []

    def start(self, system_prompt: str) -> Session:
        return FirstTurnSession(self.script, self.first_turn)


def write_images(root: Path, records: list[dict]) -> None:
    import cv2

    for record in records:
        for number, name in enumerate(record["image_path"]):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / name), np.full((HEIGHT, WIDTH, 3), 30 + 40 * number, np.uint8))


def frames_of(count: int, stem: str) -> list[str]:
    return [f"{stem}/frame_{i:02d}.png" for i in range(count)]


RECORDS = {
    "vsi_bench": [
        {
            "question": "Which object is closer to the sofa?",
            "options": ["A. tv", "B. bed", "C. sink"],
            "problem_type": "multiple choice",
            "answer": "B",
            "image_path": frames_of(4, "vsi"),
            "original_question_type": "object_rel_distance",
        },
        {
            "question": "What is the length of the longest side of the table (in centimeters)?",
            "problem_type": "regression",
            "answer": "120",
            "image_path": frames_of(4, "vsi"),
            "original_question_type": "object_size_estimation",
        },
    ],
    "maze": [
        {
            "question": "Which path leads to the exit?",
            "options": ["A. left", "B. right"],
            "problem_type": "multiple choice",
            "answer": "A",
            "image_path": ["maze/0001.png"],
            "grid_size": 5,
        },
    ],
    "SpatialEval_spatialreal": [
        {
            "question": "How many cups are on the table?",
            "problem_type": "numerical",
            "answer": "3",
            "image_path": ["real/a.png", "real/b.png"],
        },
    ],
    "spar_bench": [
        {
            "question": "How far is the lamp from the camera? Answer using a single number and nothing else.",
            "problem_type": "regression",
            "answer": "2.5",
            "image_path": ["spar/d1.png"],
            "data_type": "single_view",
            "original_question_type": "depth_prediction_oc",
        },
        {
            "question": "Which box in image 2 shows the chair? Your answer can only include one of options A, B, C or D.",
            "options": ["(A) [100, 200, 300, 400]", "(B) [500, 100, 700, 300]", "A: [0, 0, 10, 10]"],
            "problem_type": "multiple choice",
            "answer": "B",
            "image_path": ["spar/m1.png", "spar/m2.png"],
            "data_type": "multi_view",
            "original_question_type": "position_matching",
        },
        {
            "question": "Is the cup left of the plate? A. yes B. no "
            "Your answer can only include one of options A, B, C or D.",
            "problem_type": "multiple choice",
            "answer": "A",
            "image_path": ["spar/s1.png"],
            "data_type": "single_view",
            "original_question_type": "obj_spatial_relation_oo",
        },
        {
            "question": "How did the camera move between the views?",
            "problem_type": "vci",
            "answer": "move_right:1,move_left:0,move_up:0,move_down:0,move_forward:2,move_backward:0,"
            "rotate_right:0,rotate_left:0,rotate_up:0,rotate_down:0",
            "image_path": ["spar/v1.png", "spar/v2.png"],
            "data_type": "multi_view",
            "original_question_type": "view_change_infer",
        },
        {
            "question": "Where is the door in this one view? Your answer can only include one of options A, B, C or D.",
            "options": ["A. left", "B. right"],
            "problem_type": "multiple choice",
            "answer": "A",
            "image_path": ["spar/one.png"],
            "data_type": "multi_view",
            "original_question_type": "camera_motion_infer",
        },
    ],
    "spar_bench_tiny": [
        {
            "question": "How far apart are the two chairs? Answer using a single number and nothing else.",
            "problem_type": "regression",
            "answer": "1.4",
            "image_path": ["tiny/a.png", "tiny/b.png"],
            "data_type": "multi_view",
            "original_question_type": "distance_prediction_oo_mv",
        },
    ],
    "mmsi_bench": [
        {
            "question": "The two images were taken in one room. Where is the bed relative to the desk?\n"
            "Options: A: left, B: right, C: behind, D: in front",
            "problem_type": "multiple choice",
            "answer": "C",
            "image_path": ["mmsi/1.png", "mmsi/2.png", "mmsi/3.png"],
            "data_type": "multi_view",
            "original_question_type": "Positional Relationship (Obj.-Obj.)",
        },
    ],
}
CASES = [(dataset, number) for dataset, records in RECORDS.items() for number in range(len(records))]


@pytest.mark.parametrize(("dataset", "number"), CASES)
def test_the_first_user_turn_is_infer_py_s(tmp_path, dataset, number):
    record = RECORDS[dataset][number]
    write_images(tmp_path, [record])
    path = tmp_path / f"{dataset}.json"
    path.write_text(json.dumps([record]))
    (item,) = load_authors_benchmark(path, max_frames=4)
    backend = FirstTurnReplay(["<think> sure </think> Action: Answer\n<answer> B </answer>"])
    settings = EvalSettings(backend="replay", trace="ideal")
    result = evaluate_item(item, FrameSource(None).frames(item), backend, settings, threading.Event())
    assert result["stop_reason"] == "answered", result["error"]
    assert backend.first_turn == [rendered(infer_user_content(dataset, record, max_frames=4))]


def test_no_tools_keeps_the_reference_body(tmp_path):
    record = RECORDS["spar_bench"][0]
    write_images(tmp_path, [record])
    (tmp_path / "spar_bench.json").write_text(json.dumps([record]))
    (item,) = load_authors_benchmark(tmp_path / "spar_bench.json")
    backend = FirstTurnReplay(["<think> sure </think> Action: Answer\n<answer> 2.5 </answer>"])
    settings = EvalSettings(backend="replay", trace="ideal", no_tools=True)
    evaluate_item(item, FrameSource(None).frames(item), backend, settings, threading.Event())
    expected = rendered(infer_user_content("spar_bench", record, 4))
    # infer.py's final_prompt sentence after its question template's last words (our ablation, README).
    closing = " Then, you can not invoke the Object Mapper or Path Tracer tool. Please answer the initial question and structure your response as required:"
    assert expected.endswith("adjust if needed:\n")
    assert backend.first_turn == [expected[:-1] + closing + "\n"]


@pytest.mark.parametrize(
    ("dataset", "number", "said", "score"),
    [
        ("spar_bench", 2, "A. yes, the cup is on the left", 1.0),  # first letter of the answer
        ("spar_bench", 2, "B", 0.0),
        ("mmsi_bench", 0, "c", 1.0),  # case-insensitive, as evaluate.py
        ("mmsi_bench", 0, "Behind the desk", 0.0),  # "B", not "C"
    ],
)
def test_choices_written_in_the_question_run_and_score_by_first_letter(tmp_path, dataset, number, said, score):
    record = RECORDS[dataset][number]
    assert "options" not in record
    write_images(tmp_path, [record])
    path = tmp_path / f"{dataset}.json"
    path.write_text(json.dumps([record]))
    transcript = tmp_path / "turns.json"
    turn = f"<think> I compare the objects. </think> Action: Answer\n<answer> {said} </answer>"
    transcript.write_text(json.dumps({"by_id": {"0": [turn]}}))
    out = tmp_path / "run"
    assert main(["eval", str(path), "--out", str(out), "--backend", "replay", "--transcript", str(transcript)]) == 0
    (found,) = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert found["stop_reason"] == "answered" and found["error"] == ""
    assert found["problem_type"] == "multiple choice" and found["answer"] == said
    assert found["score"] == score
