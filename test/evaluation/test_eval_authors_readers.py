"""Readers of the authors' ViLaSR-eval files: small files written in each published layout, loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vilasr_ros.core.question import AnswerType
from vilasr_ros.evaluation.authors import load_authors_benchmark
from vilasr_ros.evaluation.items import ItemError, PromptStyle
from vilasr_ros.evaluation.load import load_items

MC = "\nAnswer with the option's letter from the given choices directly."
NUM = "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14)."
INDEX_1 = "\nThe index of the given image is 1."


def write_release(root: Path, name: str, records: list[dict], jsonl: bool = False) -> Path:
    """A benchmark file under ``root`` with a 1-byte placeholder for each image it names."""
    for record in records:
        for image in record["image_path"]:
            (root / image).parent.mkdir(parents=True, exist_ok=True)
            (root / image).write_bytes(b"\x89")
    path = root / (name + (".jsonl" if jsonl else ".json"))
    path.write_text("\n".join(json.dumps(r) for r in records) if jsonl else json.dumps(records))
    return path


def test_vsi_bench_items_are_video_frames_with_the_frame_sentence(tmp_path):
    frames = [f"vsi_bench/scene0042/frame_{i:02d}.png" for i in range(16)]
    records = [
        {
            "problem_id": 7,
            "question": "Which object is closer to the sofa?",
            "options": ["A. tv", "B. bed"],
            "problem_type": "multiple choice",
            "answer": "<answer>B</answer>",
            "image_path": frames,
            "original_question_type": "object_rel_distance",
        },
        {
            "question": "How many chairs are in this room?",
            "problem_type": "regression",
            "answer": "4",
            "image_path": frames,
            "original_question_type": "object_counting",
        },
    ]
    items = load_authors_benchmark(write_release(tmp_path, "vsi_bench", records))
    choice, count = items
    assert choice.id == "7" and count.id == "1"
    assert choice.prompt_style is PromptStyle.VIDEO and len(choice.images) == 16
    assert choice.images[3] == tmp_path / "vsi_bench/scene0042/frame_03.png"
    assert choice.options == ("A. tv", "B. bed") and choice.answer_type is AnswerType.MULTIPLE_CHOICE
    assert choice.family == "object_rel_distance" and choice.source == "vsi_bench" and choice.max_turns == 10
    assert choice.reference_body == (
        "These are frames from a video, numbered from 1 to 16 in sequence. That is, the index of each image is "
        "1, 2, 3, ..., 16.\n\nAnswer the quesntion with appropriate tools:\n"
        "Which object is closer to the sofa?\nA. tv\nB. bed" + MC
    )
    assert count.answer_type is AnswerType.NUMERIC and count.problem_type == "regression"
    assert count.reference_body.endswith("How many chairs are in this room?" + NUM)
    assert choice.score("<think>..</think> Action: Answer\n<answer> B </answer>") == 1.0
    assert count.score("<answer>5</answer>") == pytest.approx(0.6)  # relative error 0.25: t = 0.50 ... 0.75, 6 of 10


def test_maze_and_spatialeval_use_the_first_image_and_the_index_line(tmp_path):
    maze = write_release(
        tmp_path,
        "maze",
        [
            {
                "question": "Which path reaches the goal?",
                "options": ["A. up", "B. down"],
                "problem_type": "multiple choice",
                "answer": "A",
                "image_path": ["maze/0001.png"],
                "grid_size": 5,
                "original_question_type": "maze",
            },
        ],
    )
    (item,) = load_authors_benchmark(maze)
    assert item.prompt_style is PromptStyle.SINGLE and item.images == (tmp_path / "maze/0001.png",)
    assert item.reference_body == "Which path reaches the goal?\nA. up\nB. down" + INDEX_1 + MC
    assert item.max_turns == 20 and item.extra["grid_size"] == 5

    real = write_release(
        tmp_path,
        "SpatialEval_spatialreal",
        [
            {
                "question": "How many cats?",
                "problem_type": "numerical",
                "answer": "2",
                "image_path": ["real/a.jpg", "real/b.jpg"],
            },
        ],
        jsonl=True,
    )
    (item,) = load_authors_benchmark(real)
    assert item.images == (tmp_path / "real/a.jpg",) and item.max_turns == 10
    assert item.reference_body == "How many cats?" + INDEX_1 + NUM
    assert item.family == "numerical"  # no original_question_type: the problem type names the row
    assert item.score("2") == 1.0 and item.score("2.0") == 0.0


def test_spar_and_mmsi_branches(tmp_path):
    records = [
        {
            "question": "How far is the lamp from the camera? Answer using a single number and nothing else.",
            "problem_type": "regression",
            "answer": "2.5",
            "image_path": ["spar/v1.jpg"],
            "data_type": "single_view",
            "original_question_type": "depth_prediction_oc",
        },
        {
            "question": "Which box matches? Your answer can only include one of options A, B, C or D.",
            "options": ["A. [1, 2, 3, 4]", "B. [5, 6, 7, 8]"],
            "problem_type": "multiple choice",
            "answer": "B",
            "image_path": ["spar/v1.jpg", "spar/v2.jpg"],
            "data_type": "multi_view",
            "original_question_type": "position_matching",
        },
        {
            "question": "How did the view change?",
            "problem_type": "vci",
            "answer": "move_right:1,move_left:0",
            "image_path": ["spar/v1.jpg", "spar/v2.jpg"],
            "data_type": "multi_view",
            "original_question_type": "view_change_infer",
        },
    ]
    depth, match, vci = load_authors_benchmark(write_release(tmp_path, "spar_bench", records))
    assert depth.prompt_style is PromptStyle.SINGLE and len(depth.images) == 1
    assert depth.reference_body == "How far is the lamp from the camera? \n" + INDEX_1 + NUM
    assert depth.question == "How far is the lamp from the camera?"
    note = (
        "The values represent the bounding box coordinates normalized to a 0-1000 scale, "
        "with the top-left corner as the origin of the image."
    )
    assert match.prompt_style is PromptStyle.VIEWS and len(match.images) == 2
    assert match.reference_body == "Which box matches? \nA. [1, 2, 3, 4]\nB. [5, 6, 7, 8]\n" + note + MC
    assert match.question == "Which box matches?\n" + note
    assert vci.answer_type is AnswerType.FREE_FORM and vci.reference_body == "How did the view change?\n"
    assert vci.score("<answer>move_right:1,move_left:0</answer>") == 1.0

    for name in ("spar_bench_tiny", "mmsi_bench"):
        path = write_release(tmp_path / name, name, [dict(records[1], original_question_type="x")])
        (item,) = load_items(path)
        assert item.source == name and item.prompt_style is PromptStyle.VIEWS
        assert item.reference_body == "Which box matches? \nA. [1, 2, 3, 4]\nB. [5, 6, 7, 8]\n" + MC


def test_an_image_folder_elsewhere(tmp_path):
    path = write_release(
        tmp_path / "images",
        "maze",
        [
            {"question": "q", "problem_type": "free-form", "answer": "a", "image_path": ["m.png"]},
        ],
    )
    moved = tmp_path / "files" / "maze.json"
    moved.parent.mkdir()
    path.rename(moved)
    with pytest.raises(ItemError, match="image file"):
        load_authors_benchmark(moved)
    (item,) = load_authors_benchmark(moved, image_folder=tmp_path / "images")
    assert item.images == (tmp_path / "images/m.png",)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"problem_type": "regression", "answer": "1", "image_path": ["a.png"]}, "missing field 'question'"),
        ({"question": "q", "problem_type": "essay", "answer": "1", "image_path": ["a.png"]}, "problem_type 'essay'"),
        ({"question": "q", "problem_type": "regression", "answer": "1", "image_path": []}, "non-empty list"),
        ({"question": "q", "problem_type": "regression", "answer": None, "image_path": ["a.png"]}, "answer must be"),
    ],
)
def test_bad_records_name_the_file_and_record(tmp_path, record, message):
    (tmp_path / "a.png").write_bytes(b"x")
    path = tmp_path / "maze.json"
    path.write_text(json.dumps([record]))
    with pytest.raises(ItemError, match=message) as error:
        load_authors_benchmark(path)
    assert "maze.json, record 0" in str(error.value)


def test_unknown_file_names_and_spar_without_data_type(tmp_path):
    other = tmp_path / "my_bench.json"
    other.write_text("[]")
    with pytest.raises(ItemError, match="cannot tell the benchmark"):
        load_items(other)
    path = write_release(
        tmp_path,
        "mmsi_bench",
        [
            {"question": "q", "problem_type": "regression", "answer": "1", "image_path": ["a.png"]},
        ],
    )
    with pytest.raises(ItemError, match="missing field 'data_type'"):
        load_authors_benchmark(path)
