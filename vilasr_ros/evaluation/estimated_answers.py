"""The metric answers our 3D estimates give, scored like the model's own answers.

When the keyframes carry depth, calibration and poses, every box the model
drew becomes a 3D estimate (:func:`vilasr_ros.geometry.estimate_drawings`).
For the metric families of a generated benchmark, the estimates of the named
objects answer the question without the model's arithmetic:

- ``abs_distance``: the distance between the two objects' centres;
- ``object_size``: the object's longest dimension, centimetres;
- ``route_length``: A -> B -> C on the floor (x, y) between the objects' centres.

An object estimate with a 3D box (``has_box``: depth, intrinsics and a pose)
gives its centre as ``box_center`` and its dimensions as ``box_size``
(length, width, height), which is what the questions ask about. Without a box
the estimate's ``position`` stands in for the centre and its ``size`` for the
dimensions: ``position`` is the visible surface under the 2D box centre, not
the object's volumetric centre, and ``size`` spans what the view shows (see
:class:`SpatialEstimate`), so those values carry that bias. Either way they
are what the node would report. A numeric item scores the value with MRA; a
multiple-choice item scores the option whose number is nearest to it. Objects
are matched to estimates by label: equal ignoring case and spaces, else the
one estimate whose label contains the object's label or is contained in it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.items import EvalItem
from vilasr_ros.geometry import OBJECT, EstimationResult, SpatialEstimate

METRIC_FAMILIES = ("abs_distance", "object_size", "route_length")
OBJECTS_NEEDED = {"abs_distance": 2, "object_size": 1, "route_length": 3}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_LETTER = re.compile(r"^\s*([A-Za-z])\s*[.)]\s*")


def estimated_value(item: EvalItem, estimates: EstimationResult | None) -> float | None:
    """The item's metric answer from ``estimates`` (metres; object sizes in centimetres), or None when the
    item is not metric or a named object has no valid 3D estimate."""
    needed = OBJECTS_NEEDED.get(item.family)
    labels = item.extra.get("objects") or []
    if needed is None or estimates is None or len(labels) != needed:
        return None
    found = [match_estimate(estimates.estimates, label) for label in labels]
    if any(estimate is None for estimate in found):
        return None
    points = [centre(estimate) for estimate in found if estimate is not None]
    if item.family == "object_size":
        return 100.0 * longest_dimension(found[0]) if found[0] is not None else None
    if item.family == "abs_distance":
        return math.dist(points[0], points[1])
    return sum(math.hypot(a[0] - b[0], a[1] - b[1]) for a, b in zip(points, points[1:]))


def centre(estimate: SpatialEstimate) -> tuple[float, float, float]:
    """The object's centre: its box's when it has one, else its position (the visible surface)."""
    return estimate.box_center if estimate.has_box else estimate.position


def longest_dimension(estimate: SpatialEstimate) -> float:
    """The object's longest dimension, metres: of its box when it has one, else of its view-plane size."""
    return max(estimate.box_size if estimate.has_box else estimate.size)


def estimated_score(item: EvalItem, value: float | None) -> float | None:
    """The score of ``value`` as the item's answer: MRA for numbers, the nearest option for choices."""
    if value is None or not math.isfinite(value):
        return None
    if item.problem_type == scoring.REGRESSION:
        return scoring.score_regression(f"{value:.2f}", scoring.answer_text(item.answer))
    if item.problem_type == scoring.MULTIPLE_CHOICE:
        letter = nearest_option(item.options, value)
        return None if letter is None else scoring.score_choice(letter, scoring.answer_text(item.answer))
    return None


def nearest_option(options: Sequence[str], value: float) -> str | None:
    """The letter of the option whose first number is nearest to ``value`` (None: no option holds one)."""
    best: tuple[float, str] | None = None
    for option in options:
        letter = _LETTER.match(option)
        number = _NUMBER.search(option[letter.end() :] if letter else option)
        if letter is None or number is None:
            continue
        gap = abs(float(number.group()) - value)
        if best is None or gap < best[0]:
            best = (gap, letter.group(1).upper())
    return None if best is None else best[1]


def match_estimate(estimates: Sequence[SpatialEstimate], label: str) -> SpatialEstimate | None:
    """The valid 3D object estimate for ``label`` (see the module docstring), or None."""
    wanted = _normal(label)
    objects = [estimate for estimate in estimates if estimate.kind == OBJECT and estimate.valid_3d]
    exact = [estimate for estimate in objects if _normal(estimate.label) == wanted]
    if exact:
        return exact[0]
    loose = [e for e in objects if wanted in _normal(e.label) or (_normal(e.label) and _normal(e.label) in wanted)]
    return loose[0] if len(loose) == 1 else None


def _normal(label: str) -> str:
    return " ".join(label.lower().split())
