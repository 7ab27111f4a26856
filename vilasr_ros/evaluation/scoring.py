"""Scoring answers with the ViLaSR authors' rules (their ``eval/evaluate.py``), re-implemented here.

The rules, per ``problem_type`` (the authors' vocabulary, also used in our items):

- the answer text is what lies inside the FIRST ``<answer>...</answer>`` of the
  output (stripped), or the whole output when there is none; the ground truth
  goes through the same extraction;
- ``"multiple choice"``: 1.0 when the first characters of the stripped texts are
  equal ignoring case, else 0.0 (an empty answer scores 0.0);
- ``"numerical"``: 0.0 unless both texts contain a decimal mark (``.`` or ``,``)
  or neither does; then both are read as numbers (commas removed) and must be
  equal after rounding to 2 decimals;
- ``"regression"``: Mean Relative Accuracy (:func:`mean_relative_accuracy`);
- ``"vci"`` (SPAR-Bench's view-change inference): answers like
  ``"move_right:1,move_left:0,..."``; the net amount of each of five movement
  pairs is compared with MRA and the five values are averaged;
- anything else (``"free-form"``) scores 0.0 in the authors' code. We score it
  1.0 for a case- and whitespace-insensitive exact match instead (documented
  deviation; none of the five published benchmarks' headline numbers use it).

MRA is computed in float32 like the reference (torch float32 tensors): the
thresholds 0.50, 0.55, ..., 0.95 and the relative error are float32 values, so
exact boundary cases come out as the authors' code scores them, which is not
always what exact arithmetic gives: 11 for 10 (relative error 0.1) passes the
0.90 threshold (0.9), but 12 for 10 fails the 0.80 one (0.6, not 0.7), since
float32(0.2) > 1 - float32(0.8).
"""

from __future__ import annotations

import math
import re

import numpy as np

MULTIPLE_CHOICE = "multiple choice"
NUMERICAL = "numerical"
REGRESSION = "regression"
VCI = "vci"
FREE_FORM = "free-form"
PROBLEM_TYPES = (MULTIPLE_CHOICE, NUMERICAL, REGRESSION, VCI, FREE_FORM)

MRA_START, MRA_END, MRA_STEP = 0.5, 0.95, 0.05
EPSILON = 1e-8
# The five movement pairs of a VCI answer: (positive key, negative key).
VCI_PAIRS = (
    ("move_right", "move_left"),
    ("move_up", "move_down"),
    ("move_forward", "move_backward"),
    ("rotate_right", "rotate_left"),
    ("rotate_up", "rotate_down"),
)

_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)


class ScoringError(ValueError):
    """An item cannot be scored (unknown problem type)."""


def answer_text(output: str) -> str:
    """The text inside the first ``<answer>...</answer>`` (stripped), or the whole ``output``."""
    match = _ANSWER.search(output)
    return match.group(1).strip() if match else output


def mra_thresholds() -> np.ndarray:
    """The float32 thresholds 0.50, 0.55, ..., 0.95 (ten values)."""
    count = round((MRA_END - MRA_START) / MRA_STEP) + 1
    return np.array([MRA_START + step * MRA_STEP for step in range(count)], dtype=np.float32)


def mean_relative_accuracy(prediction: float, target: float) -> float:
    """The fraction of thresholds t in 0.50:0.05:0.95 with ``|pred - gt| / (|gt| + 1e-8) <= 1 - t``."""
    pred, gt = np.float32(prediction), np.float32(target)
    relative_error = np.abs(pred - gt) / (np.abs(gt) + np.float32(EPSILON))
    passed = relative_error <= (np.float32(1.0) - mra_thresholds())
    return float(passed.mean())


def read_number(text: str) -> float | None:
    """``text`` as a float after removing commas (Python's float syntax), or None."""
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def score_choice(prediction: str, truth: str) -> float:
    """Multiple choice: the first characters agree, ignoring case."""
    prediction, truth = prediction.strip(), truth.strip()
    if not prediction or not truth:
        return 0.0
    return 1.0 if prediction[0].lower() == truth[0].lower() else 0.0


def score_numerical(prediction: str, truth: str) -> float:
    """Exact number: same decimal-mark presence, equal after rounding to 2 decimals."""
    if _has_decimal_mark(prediction) != _has_decimal_mark(truth):
        return 0.0
    pred, gt = read_number(prediction), read_number(truth)
    if pred is None or gt is None:
        return 0.0
    return 1.0 if round(gt, 2) == round(pred, 2) else 0.0


def score_regression(prediction: str, truth: str) -> float:
    """MRA of the two numbers; 0.0 when either is not a number."""
    pred, gt = read_number(prediction), read_number(truth)
    if pred is None or gt is None or math.isnan(pred) or math.isnan(gt):
        return 0.0
    return mean_relative_accuracy(pred, gt)


def parse_vci(text: str) -> dict[str, float]:
    """``"key:value,key:value,..."`` as a dict; raises ValueError when malformed."""
    result = {}
    for item in text.split(","):
        key, value = item.split(":")
        result[key] = float(value)
    return result


def score_vci(prediction: str, truth: str) -> float:
    """Mean over the five movement pairs of the MRA of the net amounts; 0.0 when either is malformed."""
    try:
        pred, gt = parse_vci(prediction), parse_vci(truth)
    except ValueError:
        return 0.0
    scores = [
        mean_relative_accuracy(pred.get(plus, 0.0) - pred.get(minus, 0.0), gt.get(plus, 0.0) - gt.get(minus, 0.0))
        for plus, minus in VCI_PAIRS
    ]
    return float(np.mean(scores))


def score_free_form(prediction: str, truth: str) -> float:
    """Exact match after lower-casing and collapsing whitespace (our rule; the authors score 0)."""
    return 1.0 if _normalise(prediction) == _normalise(truth) else 0.0


def score_answer(output: str, truth: str, problem_type: str) -> float:
    """Score a model ``output`` (a whole turn or just the answer) against ``truth`` for ``problem_type``.

    Raises :class:`ScoringError` for a problem type not in :data:`PROBLEM_TYPES`.
    """
    rules = {
        MULTIPLE_CHOICE: score_choice,
        NUMERICAL: score_numerical,
        REGRESSION: score_regression,
        VCI: score_vci,
        FREE_FORM: score_free_form,
    }
    rule = rules.get(problem_type.lower())
    if rule is None:
        raise ScoringError(f"unknown problem_type {problem_type!r}; expected one of {', '.join(PROBLEM_TYPES)}")
    return rule(answer_text(output), answer_text(truth))


def _has_decimal_mark(text: str) -> bool:
    return "." in text or "," in text


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())
