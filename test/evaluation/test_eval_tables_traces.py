"""Per-family tables from item records, and the replay traces' format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vilasr_ros.core.question import AnswerType
from vilasr_ros.evaluation.items import EvalItem, PromptStyle
from vilasr_ros.evaluation.tables import aggregate, base_family, to_markdown
from vilasr_ros.evaluation.traces import ideal_trace, random_trace
from vilasr_ros.reasoning.protocol import parse_turn

RECORDS = [
    {"family": "rel_dir", "problem_type": "multiple choice", "score": 1.0, "turns": 2, "stop_reason": "answered"},
    {"family": "rel_dir", "problem_type": "multiple choice", "score": 0.0, "turns": 4, "stop_reason": "answered"},
    {"family": "rel_dir", "problem_type": "multiple choice", "score": 1.0, "turns": 3, "stop_reason": "max_turns"},
    {"family": "route_planning_easy", "problem_type": "regression", "score": 0.9, "turns": 1, "format_valid": True},
    {"family": "route_planning_hard", "problem_type": "regression", "score": 0.5, "turns": 5, "format_valid": False},
]


def test_family_rows_and_the_overall_mean_of_family_scores():
    table = aggregate(RECORDS)
    rel, route = table["families"]["rel_dir"], table["families"]["route_planning"]
    assert rel["count"] == 3 and rel["accuracy"] == pytest.approx(2 / 3) and rel["mra"] is None
    assert rel["stop_reasons"] == {"answered": 2, "max_turns": 1} and rel["mean_turns"] == pytest.approx(3.0)
    assert route["count"] == 2 and route["mra"] == pytest.approx(0.7) and route["accuracy"] is None
    assert route["mean_format_valid"] == pytest.approx(0.5)
    overall = table["overall"]
    assert overall["score"] == pytest.approx((2 / 3 + 0.7) / 2)  # the authors' overall: mean of the type averages
    assert overall["item_score"] == pytest.approx(3.4 / 5) and overall["count"] == 5
    assert set(aggregate(RECORDS, merge_difficulty=False)["families"]) == {
        "rel_dir",
        "route_planning_easy",
        "route_planning_hard",
    }
    json.dumps(table)


def test_markdown_has_a_line_per_family_and_percent_scores():
    text = to_markdown(aggregate(RECORDS))
    lines = text.splitlines()
    assert lines[0].startswith("| family | count | score | accuracy | mra |")
    assert lines[2].startswith("| rel_dir | 3 | 66.7 | 66.7 | - |")
    assert lines[4].startswith("| **overall** | 5 | 68.3 |")
    assert lines[-1] == "overall score = family mean 68.3 (2 families); item mean 68.0 (5 items)"


def test_base_family_merges_vsi_difficulty_levels_like_the_authors():
    assert base_family("object_rel_direction_hard") == "object_rel_direction"
    assert base_family("route_planning") == "route_planning"


def test_a_record_without_a_score_is_refused():
    with pytest.raises(ValueError, match="needs 'score'"):
        aggregate([{"family": "x", "problem_type": "regression"}])


def item(options=(), answer="B", problem_type="multiple choice", extra=None) -> EvalItem:
    return EvalItem(
        "1",
        "f",
        "Which?",
        tuple(options),
        AnswerType.MULTIPLE_CHOICE,
        problem_type,
        answer,
        PromptStyle.VIEWS,
        (Path("a.png"),),
        "test",
        extra=extra or {},
    )


def test_ideal_trace_draws_the_true_boxes_then_answers():
    boxes = [{"index": 2, "label": "red chair", "bbox_2d": [10, 20, 30, 40]}]
    first, last = ideal_trace(item(("A. x", "B. y"), extra={"trace": {"boxes": boxes, "answer": "B"}}))
    parsed = parse_turn(first)
    assert parsed.action == "Object Mapper" and not parsed.problems
    assert [(b.index, b.label, tuple(b.bbox_2d)) for b in parsed.items] == [(2, "red chair", (10, 20, 30, 40))]
    assert parse_turn(last).action == "Answer" and parse_turn(last).answer == "B"
    (only,) = ideal_trace(item(answer="<answer>C</answer>"))  # an authors' item: no boxes, the bare answer
    assert parse_turn(only).answer == "C"


def test_random_traces_pick_options_or_numbers_in_range():
    rng = np.random.default_rng(1)
    letters = {parse_turn(random_trace(item(("A. x", "B. y", "C. z")), rng)[-1]).answer for _ in range(60)}
    assert letters == {"A", "B", "C"}
    numeric = item(
        answer="2.35", problem_type="regression", extra={"answer_range": [1.0, 3.0], "model_sizes": [[308, 252]]}
    )
    for _ in range(20):
        mapper, final = random_trace(numeric, rng)
        (box,) = parse_turn(mapper).items
        assert 0 <= box.bbox_2d[0] < box.bbox_2d[2] <= 308 and 0 <= box.bbox_2d[1] < box.bbox_2d[3] <= 252
        value = parse_turn(final).answer
        assert 1.0 <= float(value) <= 3.0 and len(value.split(".")[1]) == 2
