"""Assistant turns in the ViLaSR format for replaying an item: the ideal reasoner, and a random one.

Each builder returns the list of assistant turns a
:class:`vilasr_ros.reasoning.replay_backend.ReplayBackend` replays (one
backend per item: question texts repeat across scenes, so one script keyed by
question would be ambiguous). Written to a JSON list, a trace is a
``--transcript`` file for ``vilasr-ros reason --backend replay``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.items import EvalItem

FALLBACK_RANGE = (0.0, 10.0)


def mapper_turn(boxes: list[dict[str, Any]], thought: str) -> str:
    """An Object Mapper turn drawing ``boxes`` (``index``, ``bbox_2d``, ``label`` in model pixels)."""
    items = [{"index": box["index"], "bbox_2d": list(box["bbox_2d"]), "label": box["label"]} for box in boxes]
    return f"<think> {thought} </think> Action: Object Mapper\n```json\n{json.dumps(items)}\n```"


def answer_turn(answer: str, thought: str) -> str:
    """The final turn: ``Action: Answer`` with ``answer`` in the answer tags."""
    return f"<think> {thought} </think> Action: Answer\n<answer> {answer} </answer>"


def ideal_trace(item: EvalItem) -> list[str]:
    """Draw the true boxes of the objects involved (when the item has them), then give the true answer."""
    boxes = item.extra.get("trace", {}).get("boxes", []) if isinstance(item.extra.get("trace"), dict) else []
    answer = scoring.answer_text(item.answer).strip()
    turns = []
    if boxes:
        labels = ", ".join(dict.fromkeys(box["label"] for box in boxes))
        turns.append(mapper_turn(boxes, f"I mark the {labels} to see where they are."))
    turns.append(answer_turn(answer, "The marked objects settle the question."))
    return turns


def random_answer(item: EvalItem, rng: np.random.Generator) -> str:
    """A guess: a random option letter; a uniform number in the item's answer range, written with the
    truth's decimals; for other items, a random word of the truth shuffled with others."""
    if item.options:
        return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(rng.integers(len(item.options)))]
    truth = scoring.answer_text(item.answer).strip()
    if item.problem_type in (scoring.REGRESSION, scoring.NUMERICAL):
        low, high = item.extra.get("answer_range") or FALLBACK_RANGE
        decimals = len(truth.split(".")[1]) if "." in truth else 0
        return f"{rng.uniform(low, high):.{decimals}f}"
    return str(rng.choice(["yes", "no", "left", "right", "unknown"]))


def random_trace(item: EvalItem, rng: np.random.Generator) -> list[str]:
    """One random box on the first image (when its model size is known), then a random answer."""
    turns = []
    sizes = item.extra.get("model_sizes")
    if sizes:
        width, height = sizes[0]
        x1, x2 = sorted(int(value) for value in rng.integers(0, width, 2))
        y1, y2 = sorted(int(value) for value in rng.integers(0, height, 2))
        box = {"index": 1, "bbox_2d": [x1, y1, max(x2, x1 + 1), max(y2, y1 + 1)], "label": "guess"}
        turns.append(mapper_turn([box], "I mark something."))
    turns.append(answer_turn(random_answer(item, rng), "I guess."))
    return turns
