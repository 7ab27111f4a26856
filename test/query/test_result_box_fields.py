"""result.json gives every object estimate the box keys (issue 12: ``box_center``, ``box_size``, ``box_yaw``
"for every object estimate"; audit RISK 6): the box's values when it has one, nulls when it has none (no
depth or no pose), so a reader can index them without a KeyError. Paths have no box keys."""

from __future__ import annotations

import json
import math

import pytest
from estimate_fixtures import object_estimate

from vilasr_ros.core.stop import StopReason
from vilasr_ros.geometry import OBJECT, PATH, EstimationResult, SpatialEstimate
from vilasr_ros.query.results import result_document
from vilasr_ros.reasoning.engine import ReasoningResult

BOX_KEYS = {"has_box", "box_center", "box_size", "box_yaw", "box_covariance", "on_floor", "approach_pose"}


def estimate(label: str, kind: str = OBJECT, **fields) -> SpatialEstimate:
    return object_estimate(label, kind=kind, **fields)


BOXED = estimate(
    "table",
    box_center=(1.2, 2.3, 0.4),
    box_size=(1.4, 0.8, 0.8),
    box_yaw=0.3,
    box_covariance=(1e-4, 0.0, 0.0, 0.0, 4e-4, 0.0, 0.0, 0.0, 9e-4),
    on_floor=True,
    approach=(0.5, 1.0, 0.0, 1.1),
)
UNBOXED = estimate("lamp")  # e.g. too few object points in its box
PATH_ESTIMATE = estimate("route", PATH, end_position=(3.0, 2.0, 0.0), length=2.06)


def document(*estimates: SpatialEstimate) -> dict:
    result = ReasoningResult(StopReason.ANSWERED, "2 m", None, None, "", [], [], {}, 1.0)
    return json.loads(json.dumps(result_document(result, "Where?", EstimationResult(list(estimates)))))


def test_every_object_estimate_has_the_box_keys_and_paths_have_none():
    boxed, unboxed, path = document(BOXED, UNBOXED, PATH_ESTIMATE)["estimates"]
    assert set(boxed) >= BOX_KEYS and set(unboxed) >= BOX_KEYS
    assert not BOX_KEYS & set(path)


def test_a_boxed_object_writes_its_box():
    (entry,) = document(BOXED)["estimates"]
    assert entry["has_box"] and entry["on_floor"]
    assert entry["box_center"] == pytest.approx([1.2, 2.3, 0.4])
    assert entry["box_size"] == pytest.approx([1.4, 0.8, 0.8])
    assert entry["box_yaw"] == pytest.approx(0.3)
    assert [value for row in entry["box_covariance"] for value in row] == pytest.approx(BOXED.box_covariance)
    assert entry["approach_pose"]["position"] == pytest.approx([0.5, 1.0, 0.0])
    assert entry["approach_pose"]["yaw"] == pytest.approx(1.1)


def test_an_object_without_a_box_writes_nulls():
    (entry,) = document(UNBOXED)["estimates"]
    assert entry["has_box"] is False and entry["on_floor"] is False
    assert entry["box_center"] == [None, None, None] and entry["box_size"] == [None, None, None]
    assert entry["box_yaw"] is None and entry["box_covariance"] is None
    assert entry["approach_pose"] == {"position": [None, None, None], "yaw": None}
    assert math.isclose(entry["position"][0], 1.0)  # the surface point is still there
