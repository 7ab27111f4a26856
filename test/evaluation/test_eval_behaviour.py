"""Per-query behaviour on handcrafted transcripts (format validity, revisions, drawings), the no-tools prompt,
3D-estimate answers, the record log and the progress line."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from vilasr_ros.config import EngineConfig
from vilasr_ros.core.question import AnswerType
from vilasr_ros.evaluation.behaviour import count_revisions, drawing_counts, format_problems
from vilasr_ros.evaluation.estimated_answers import estimated_score, estimated_value, match_estimate, nearest_option
from vilasr_ros.evaluation.items import EvalItem, PromptStyle
from vilasr_ros.evaluation.runner import Progress, RecordLog
from vilasr_ros.evaluation.tables import side_by_side
from vilasr_ros.geometry import OBJECT, EstimationResult, SpatialEstimate
from vilasr_ros.reasoning import protocol
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.replay_backend import ReplayBackend, ReplaySession


def boxes_turn(*items: tuple[int, str], think: str = "look") -> str:
    listed = [{"index": index, "bbox_2d": [10, 10, 40, 40], "label": label} for index, label in items]
    return f"<think> {think} </think> Action: Object Mapper\n```json\n{json.dumps(listed)}\n```"


def line_turn(index: int, label: str) -> str:
    listed = [{"index": index, "start_point_2d": [1, 2], "end_point_2d": [30, 40], "label": label}]
    return f"<think> path </think> Action: Path Tracer\n```json\n{json.dumps(listed)}\n```"


ANSWER = "<think> done </think> Action: Answer\n<answer> B </answer>"


def test_a_well_formed_transcript_is_valid():
    assert format_problems([boxes_turn((1, "chair")), line_turn(2, "route"), ANSWER]) == []
    assert format_problems([ANSWER]) == []


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        ([], "no assistant turn"),
        (["Action: Answer\n<answer> B </answer>"], "turn 1: does not start '<think>"),
        (["<answer> B </answer>"], "does not start"),
        ([boxes_turn((1, "chair")) + "\n<answer> A </answer>", ANSWER], "turn 1: an <answer> before the last turn"),
        ([ANSWER, ANSWER], "turn 1: 'Action: Answer' before the last turn"),
        (["<think> x </think> Action: Object Mapper\nno block", ANSWER], "turn 1: a tool turn without a json block"),
        (
            ['<think> x </think> Action: Object Mapper\n```json\n[{"index": 1,\n```', ANSWER],
            "json block 1: not a valid literal",
        ),
        (
            ['<think> x </think> Action: Object Mapper\n```json\n[{"index": 1, "label": "a"}]\n```', ANSWER],
            "has neither bbox_2d + label nor",
        ),
        ([boxes_turn((1, "chair"))], "turn 1: the last turn is not 'Action: Answer'"),
        (["<think> x </think> Action: Answer\n<answer> A </answer> <answer> B </answer>"], "holds 2 <answer> blocks"),
        (["<think> x </think> Action: Answer\nB"], "holds 0 <answer> blocks"),
    ],
)
def test_each_format_rule_is_checked(turns, problem):
    problems = format_problems(turns)
    assert any(problem in text for text in problems), problems


def test_revisions_count_labels_redrawn_on_the_same_keyframe_in_a_later_turn():
    # Images 1, 2 are keyframes; 3 is a drawing on 1, 4 a drawing on 2.
    source = {1: 1, 2: 2, 3: 1, 4: 2}.get
    turns = [
        boxes_turn((1, "chair"), (1, "Table"), (1, "chair")),  # a repeat within one turn is not a revision
        boxes_turn((3, "chair"), (2, "table")),  # chair again on keyframe 1: revision; table on keyframe 2: a new view
        boxes_turn((4, " TABLE "), (1, "lamp")),  # table again on keyframe 2 (case and spaces ignored): revision
        line_turn(3, "chair"),  # a line is another kind of drawing
        boxes_turn((9, "chair")),  # names no image
        ANSWER,
    ]
    assert count_revisions(turns, source) == 2
    assert drawing_counts(turns) == (3 + 2 + 2 + 1, 1)
    assert count_revisions([boxes_turn((1, "a")), boxes_turn((1, "a")), boxes_turn((1, "a"))]) == 2


def test_revisions_through_the_engine_use_the_drawn_images_sources():
    turns = [boxes_turn((1, "chair")), boxes_turn((3, "chair"), (2, "chair")), ANSWER]
    images = [np.full((56, 56, 3), value, np.uint8) for value in (40, 200)]
    result = ReasoningEngine(ReplayBackend(turns), EngineConfig()).run(
        images, "Which?", AnswerType.MULTIPLE_CHOICE, ("A. x", "B. y")
    )
    assert result.stop_reason == "answered" and [image.source_index for image in result.images] == [1, 2, 1, 1, 2]
    sources = {image.index: image.source_index for image in result.images}
    assert count_revisions([turn.text for turn in result.turns], sources.get) == 1


class RecordingBackend(ReplayBackend):
    """A replay that keeps the text of every user turn."""

    def __init__(self, turns):
        super().__init__(turns)
        self.user_texts: list[str] = []

    def start(self, system_prompt):
        backend = self

        class Session(ReplaySession):
            def add_user(self, content):
                backend.user_texts.append(protocol.content_text(list(content)))
                super().add_user(content)

        return Session(self.script)


def test_no_tools_closes_the_tools_in_the_first_turn_and_allows_one_call():
    images = [np.zeros((56, 56, 3), np.uint8)]
    backend = RecordingBackend([ANSWER])
    result = ReasoningEngine(backend, EngineConfig(max_turns=10), tools=False).run(images, "Where?")
    assert result.stop_reason == "answered" and result.work["model_calls"] == 1
    (first,) = backend.user_texts
    assert first.endswith("adjust if needed:" + protocol.FINAL_TEXT + "\n")
    assert first.count("you can not invoke the Object Mapper or Path Tracer tool") == 1
    with_tools = RecordingBackend([ANSWER])
    ReasoningEngine(with_tools, EngineConfig()).run(images, "Where?")
    assert protocol.FINAL_TEXT not in with_tools.user_texts[0]
    assert first == with_tools.user_texts[0].rstrip("\n") + protocol.FINAL_TEXT + "\n"

    drawing = RecordingBackend([boxes_turn((1, "chair")), ANSWER])  # the model draws anyway: no second call
    result = ReasoningEngine(drawing, EngineConfig(), tools=False).run(images, "Where?")
    assert result.stop_reason == "max_turns" and result.work["model_calls"] == 1 and result.answer is None


def estimate(label: str, position, size=(0.5, 0.4, 0.3), valid=True) -> SpatialEstimate:
    return SpatialEstimate(
        label=label,
        kind=OBJECT,
        image_index=1,
        source_index=1,
        camera="c",
        camera_frame_id="o",
        keyframe_stamp_ns=0,
        bbox_px=(0, 0, 1, 1),
        segment_px=(0, 0, 0, 0),
        has_depth=True,
        has_pose=valid,
        valid_3d=valid,
        frame_id="map" if valid else "o",
        position=tuple(position),
        size=tuple(size),
    )


def metric_item(family: str, objects: list[str], answer: str, problem_type="regression", options=()) -> EvalItem:
    return EvalItem(
        "i",
        family,
        "q",
        tuple(options),
        AnswerType.NUMERIC,
        problem_type,
        answer,
        PromptStyle.VIEWS,
        (Path("a.png"),),
        "generated",
        extra={"objects": objects},
    )


def test_metric_answers_from_estimates():
    found = EstimationResult(
        estimates=[
            estimate("red chair", (1.0, 2.0, 0.5), size=(0.5, 0.9, 0.3)),
            estimate("Blue table", (4.0, 6.0, 0.5)),
            estimate("lamp", (4.0, 2.0, 1.5)),
            estimate("green box", (9.0, 9.0, 9.0), valid=False),
        ]
    )
    distance = metric_item("abs_distance", ["red chair", "blue table"], "5.00")
    assert estimated_value(distance, found) == pytest.approx(5.0)  # a 3-4-5 triangle
    assert estimated_score(distance, 5.0) == 1.0 and estimated_score(distance, 5.6) == pytest.approx(0.8)
    size = metric_item("object_size", ["red chair"], "90")
    assert estimated_value(size, found) == pytest.approx(90.0)
    route = metric_item("route_length", ["red chair", "lamp", "blue table"], "7.00")
    assert estimated_value(route, found) == pytest.approx(3.0 + 4.0)  # on the floor: the heights do not count
    assert estimated_value(metric_item("abs_distance", ["red chair", "green box"], "1"), found) is None  # not valid 3D
    assert estimated_value(metric_item("abs_distance", ["red chair", "sofa"], "1"), found) is None
    assert estimated_value(metric_item("rel_direction", ["red chair", "lamp", "blue table"], "A"), found) is None
    choice = metric_item(
        "abs_distance",
        ["red chair", "blue table"],
        "C",
        "multiple choice",
        ("A. 2.50 m", "B. 7.50 m", "C. 4.80 m", "D. 6.25 m"),
    )
    assert estimated_score(choice, estimated_value(choice, found)) == 1.0
    assert estimated_score(choice, 2.0) == 0.0 and estimated_score(choice, math.nan) is None


def test_labels_match_loosely_only_when_unambiguous():
    estimates = [
        estimate("the red chair", (0, 0, 0)),
        estimate("blue chair", (1, 1, 1)),
        estimate("red lamp", (2, 2, 2)),
    ]
    assert match_estimate(estimates, "Blue  Chair").position == (1, 1, 1)  # equal but for case and spaces
    assert match_estimate(estimates, "chair") is None  # contained in two labels
    assert match_estimate(estimates, "red chair").position == (0, 0, 0)  # the one label containing it
    assert match_estimate(estimates, "red") is None  # two candidates
    assert nearest_option(["A. 120 cm", "B. 80 cm", "C. 45 cm"], 70.0) == "B"
    assert nearest_option(["A. left", "B. right"], 3.0) is None


def test_record_log_drops_a_torn_last_line_and_keeps_the_latest_record(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a", "score": 1.0}\n{"id": "b", "sco')
    log = RecordLog(path)
    assert list(log.read()) == ["a"]
    log.append({"id": "b", "score": 0.5})
    log.append({"id": "a", "score": 0.0})
    assert path.read_text().splitlines()[1] == '{"id": "b", "score": 0.5}'
    assert {key: record["score"] for key, record in log.read().items()} == {"a": 0.0, "b": 0.5}


def test_progress_lines_show_a_bar_items_accuracy_rate_and_time_left(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("vilasr_ros.evaluation.runner.time.monotonic", lambda: clock[0])
    stream = io.StringIO()
    meter = Progress(4, [1.0], stream, interval=3600)
    clock[0] = 102.0
    meter.update(0.0)  # within the interval and not the last: no line
    assert meter.line() == "eval [#####-----] 2/4 items (1 recorded before), accuracy 50.0%, 0.50 items/s, 4 s left"
    meter.update(0.5)
    clock[0] = 106.0
    meter.update(1.0)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "eval [##--------] 1/4 items (1 recorded before), accuracy 100.0%, 0.00 items/s",
        "eval [##########] 4/4 items (1 recorded before), accuracy 62.5%, 0.50 items/s",
    ]
    plain = Progress(64, [], None)
    plain.scores = [1.0] * 2 + [0.0] * 3
    assert plain.line().startswith("eval [-----") and "5/64 items, accuracy 40.0%" in plain.line()
    assert Progress(64, [1.0] * 32, None).line().startswith("eval [#####-----] 32/64 items")


def test_side_by_side_puts_runs_and_their_estimates_in_columns():
    tools = {
        "families": {"abs_distance": {"score": 0.5, "mean_estimated_score": 0.9}, "rel_direction": {"score": 1.0}},
        "overall": {"score": 0.75},
    }
    plain = {"families": {"abs_distance": {"score": 0.25}}, "overall": {"score": 0.25}}
    lines = side_by_side({"tools": tools, "no tools": plain}).splitlines()
    assert lines[0] == "| family | tools | tools: 3D estimates | no tools |"
    assert lines[2] == "| abs_distance | 50.0 | 90.0 | 25.0 |"
    assert lines[3] == "| rel_direction | 100.0 | - | - |"
    assert lines[4] == "| **overall** | 75.0 | - | 25.0 |"
