"""The overall score follows the paper per benchmark: the family mean (VSI-Bench, SPAR-Bench, generated), the item
mean (Maze, SpatialEval-Real, MMSI-Bench: the "avg score" of the authors' evaluate.py); table.md shows both."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vilasr_ros.cli import main
from vilasr_ros.evaluation.tables import FAMILY_MEAN, ITEM_MEAN, aggregate, overall_rule, to_markdown

# Family "near": 3 items, 2 right; family "far": 1 item, wrong. Item mean 2/4, family mean (2/3 + 0) / 2.
RECORDS = [
    {"family": "near", "problem_type": "multiple choice", "score": 1.0},
    {"family": "near", "problem_type": "multiple choice", "score": 1.0},
    {"family": "near", "problem_type": "multiple choice", "score": 0.0},
    {"family": "far", "problem_type": "multiple choice", "score": 0.0},
]


def test_both_means_are_kept_and_the_rule_picks_the_score():
    by_family = aggregate(RECORDS)["overall"]
    by_item = aggregate(RECORDS, rule=ITEM_MEAN)["overall"]
    for overall in (by_family, by_item):
        assert overall["family_score"] == pytest.approx(1 / 3) and overall["item_score"] == pytest.approx(0.5)
    assert by_family["score"] == pytest.approx(1 / 3) and by_family["score_rule"] == FAMILY_MEAN
    assert by_item["score"] == pytest.approx(0.5) and by_item["score_rule"] == ITEM_MEAN
    with pytest.raises(ValueError, match="rule must be"):
        aggregate(RECORDS, rule="median")


def test_markdown_names_the_rule_and_shows_the_other_mean():
    lines = to_markdown(aggregate(RECORDS, rule=ITEM_MEAN)).splitlines()
    assert lines[4].startswith("| **overall** | 4 | 50.0 |")
    assert lines[-1] == "overall score = item mean 50.0 (4 items); family mean 33.3 (2 families)"


@pytest.mark.parametrize(
    ("sources", "rule"),
    [
        (["vsi_bench"], FAMILY_MEAN),
        (["spar_bench"], FAMILY_MEAN),
        (["spar_bench_tiny"], FAMILY_MEAN),
        (["generated"], FAMILY_MEAN),
        (["maze"], ITEM_MEAN),
        (["SpatialEval_spatialreal"], ITEM_MEAN),
        (["mmsi_bench"], ITEM_MEAN),
        (["mmsi_bench", "vsi_bench"], FAMILY_MEAN),
        ([], FAMILY_MEAN),
    ],
)
def test_the_rule_by_benchmark(sources, rule):
    assert overall_rule(sources) == rule


@pytest.mark.parametrize(("dataset", "expected"), [("mmsi_bench", 0.5), ("spar_bench", 1 / 3)])
def test_an_authors_run_reports_the_paper_s_overall(tmp_path, dataset, expected):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((168, 224, 3), 90, np.uint8))
    families, truths, said = ["near", "near", "near", "far"], ["A", "B", "C", "D"], ["A", "B", "A", "A"]
    records = [
        {
            "question": f"Question {number}? A. x B. y C. z D. w",
            "problem_type": "multiple choice",
            "answer": truth,
            "image_path": ["a.png"],
            "data_type": "single_view",
            "original_question_type": family,
        }
        for number, (family, truth) in enumerate(zip(families, truths))
    ]
    (tmp_path / f"{dataset}.json").write_text(json.dumps(records))
    turns = {str(n): [f"<think> ok </think> Action: Answer\n<answer> {a} </answer>"] for n, a in enumerate(said)}
    (tmp_path / "turns.json").write_text(json.dumps({"by_id": turns}))
    out = tmp_path / "run"
    command = ["eval", str(tmp_path / f"{dataset}.json"), "--out", str(out), "--backend", "replay"]
    assert main([*command, "--transcript", str(tmp_path / "turns.json")]) == 0
    overall = json.loads((out / "table.json").read_text())["overall"]
    assert overall["score"] == pytest.approx(expected)
    assert overall["item_score"] == pytest.approx(0.5) and overall["family_score"] == pytest.approx(1 / 3)
    assert "item mean 50.0 (4 items)" in (out / "table.md").read_text()
