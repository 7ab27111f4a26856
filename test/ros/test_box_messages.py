"""The object box in the published messages (issue 12, audit GAP 5): SpatialEstimate carries the box pose,
size, covariance and approach pose beside the surface point, and RViz markers are cubes with the box's size
and yaw plus a text label. Message types only: no node is started."""

from __future__ import annotations

import math

import pytest
from builtin_interfaces.msg import Time
from estimate_fixtures import object_estimate
from visualization_msgs.msg import Marker

from vilasr_ros.core.question import AnswerType
from vilasr_ros.core.stop import StopReason
from vilasr_ros.geometry import EstimationResult, ObjectDistance, SpatialEstimate
from vilasr_ros.query import QueryOutcome
from vilasr_ros.query.request import ResolvedQuery
from vilasr_ros.ros.conversions import estimate_msg, estimates_msg, markers_msg

BOX_CENTER, BOX_SIZE, BOX_YAW = (2.0, 1.0, 0.45), (1.2, 0.6, 0.9), 0.7
COVARIANCE = (0.0004, 0.0001, 0.0, 0.0001, 0.0009, 0.0, 0.0, 0.0, 0.0001)
APPROACH = (1.1, 0.3, 0.0, 0.65)  # x, y, z on the floor, yaw facing the box


def boxed_estimate(label: str, position, **box) -> SpatialEstimate:
    return object_estimate(
        label, keyframe_stamp_ns=5_000_000_123, position=position, size=(0.9, 0.7, 0.3), stddev=0.03, **box
    )


TABLE = boxed_estimate(
    "table",
    (1.7, 0.8, 0.5),
    box_center=BOX_CENTER,
    box_size=BOX_SIZE,
    box_yaw=BOX_YAW,
    box_covariance=COVARIANCE,
    on_floor=True,
    approach=APPROACH,
)
LAMP = boxed_estimate("lamp", (3.0, -1.0, 1.2))  # depth and pose but no box (too few points, say)


def outcome(*estimates: SpatialEstimate, distances=()) -> QueryOutcome:
    query = ResolvedQuery("q1", "How far?", (), AnswerType.NUMERIC, ("front",), 8, 30.0, 60.0)
    return QueryOutcome(query, StopReason.ANSWERED, estimates=EstimationResult(list(estimates), [], list(distances)))


def yaw_of(orientation) -> float:
    assert orientation.x == 0.0 and orientation.y == 0.0
    return 2.0 * math.atan2(orientation.z, orientation.w)


def test_a_boxed_object_is_a_cube_of_the_box_size_and_yaw_with_its_label():
    markers = markers_msg(outcome(TABLE), "map", Time(sec=7)).markers
    assert markers[0].action == Marker.DELETEALL
    cube, text = markers[1:]
    assert cube.type == Marker.CUBE and cube.action == Marker.ADD
    assert cube.header.frame_id == "map" and cube.ns == "vilasr/q1"
    assert (cube.pose.position.x, cube.pose.position.y, cube.pose.position.z) == pytest.approx(BOX_CENTER)
    assert (cube.scale.x, cube.scale.y, cube.scale.z) == pytest.approx(BOX_SIZE)
    assert yaw_of(cube.pose.orientation) == pytest.approx(BOX_YAW)
    assert text.type == Marker.TEXT_VIEW_FACING and text.text == "table"
    assert text.pose.position.z > BOX_CENTER[2] + BOX_SIZE[2] / 2  # above the box's top
    assert (text.pose.position.x, text.pose.position.y) == pytest.approx(BOX_CENTER[:2])
    assert cube.id != text.id


def test_an_object_without_a_box_is_a_sphere_at_its_surface_point():
    markers = markers_msg(outcome(TABLE, LAMP), "map", Time(sec=7)).markers
    sphere, text = markers[3:]
    assert sphere.type == Marker.SPHERE and text.text == "lamp"
    assert (sphere.pose.position.x, sphere.pose.position.y, sphere.pose.position.z) == pytest.approx(LAMP.position)
    assert len({marker.id for marker in markers[1:]}) == 4


def test_the_estimate_message_carries_the_box_beside_the_surface_point():
    message = estimate_msg(TABLE)
    assert (message.position.x, message.position.y, message.position.z) == pytest.approx(TABLE.position)
    assert message.has_box and message.on_floor
    box = message.box_pose
    assert (box.position.x, box.position.y, box.position.z) == pytest.approx(BOX_CENTER)
    assert yaw_of(box.orientation) == pytest.approx(BOX_YAW)
    assert (message.box_size.x, message.box_size.y, message.box_size.z) == pytest.approx(BOX_SIZE)
    assert list(message.box_covariance) == pytest.approx(COVARIANCE)
    approach = message.approach_pose
    assert (approach.position.x, approach.position.y, approach.position.z) == pytest.approx(APPROACH[:3])
    assert yaw_of(approach.orientation) == pytest.approx(APPROACH[3])


def test_the_estimate_message_of_an_object_without_a_box_says_so():
    message = estimate_msg(LAMP)
    assert not message.has_box and not message.on_floor
    assert len(message.box_covariance) == 9 and all(math.isnan(v) for v in message.box_covariance)
    assert math.isnan(message.box_pose.position.x) and math.isnan(message.approach_pose.position.x)


def test_the_array_carries_centre_distances_and_gaps():
    between = ObjectDistance("table", "lamp", 0, 1, 2.4, 0.05, "map", 1.6, 0.07)
    array = estimates_msg(outcome(TABLE, LAMP, distances=[between]), "map", Time(sec=7))
    assert [estimate.label for estimate in array.estimates] == ["table", "lamp"]
    (distance,) = array.distances
    assert (distance.distance, distance.stddev, distance.gap, distance.gap_stddev) == pytest.approx(
        (2.4, 0.05, 1.6, 0.07)
    )
