"""Stamped buffers: nearest item by stamp, and pose histories interpolated to a stamp."""

import math

import pytest

from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.sync import PoseHistory, StampedBuffer

MS = 1_000_000


def yaw(angle):
    return (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))


def test_nearest_within_tolerance_and_capacity():
    buffer = StampedBuffer(capacity=3)
    for stamp in (100, 200, 300, 400):
        buffer.add(stamp * MS, f"depth@{stamp}")
    assert len(buffer) == 3
    assert buffer.nearest(260 * MS, 50 * MS) == "depth@300"
    assert buffer.nearest(240 * MS, 50 * MS) == "depth@200"
    assert buffer.nearest(100 * MS, 40 * MS) is None  # evicted
    assert buffer.nearest(520 * MS, 50 * MS) is None  # too far


def test_out_of_order_adds_are_sorted():
    buffer = StampedBuffer(capacity=10)
    for stamp in (300, 100, 200):
        buffer.add(stamp, stamp)
    assert buffer.bracket(150) == ((100, 100), (200, 200))


def test_pose_interpolation_between_odometry_messages():
    history = PoseHistory()
    history.add(0, Pose((0, 0, 0), yaw(0.0), "odom"))
    history.add(100 * MS, Pose((1, 2, 0), yaw(math.pi / 2), "odom"))
    middle = history.at(25 * MS)
    assert middle.position == pytest.approx((0.25, 0.5, 0.0))
    assert 2 * math.atan2(middle.orientation[2], middle.orientation[3]) == pytest.approx(math.pi / 8)
    assert history.at(150 * MS) is not None  # within 100 ms of the end
    assert history.at(300 * MS) is None


def test_gaps_are_not_interpolated_over():
    history = PoseHistory(max_gap_ns=200 * MS, max_extrapolation_ns=10 * MS)
    history.add(0, Pose((0, 0, 0), yaw(0), "odom"))
    history.add(1000 * MS, Pose((5, 0, 0), yaw(0), "odom"))
    assert history.at(500 * MS) is None
