"""The floor's plain types: poses, transforms, pose strings and camera calibration."""

import math

import numpy as np
import pytest

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose, compose, interpolate, parse_pose, quaternion_from_rpy

HEIGHT, WIDTH = 120, 160
INTRINSICS = CameraIntrinsics(k=[[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]], width=WIDTH, height=HEIGHT)


def yaw(angle):
    return (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))


def test_poses_and_intrinsics_validate_and_round_trip():
    pose = Pose((1.0, 2.0, 3.0), (0.0, 0.0, 2.0, 2.0), "map")
    assert pose.orientation == pytest.approx((0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)))
    assert pose.viewing_direction() == pytest.approx((0.0, 0.0, 1.0))
    rng = np.random.default_rng(1)
    for quaternion in [*rng.standard_normal((20, 4)), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0)]:
        original = Pose(tuple(rng.standard_normal(3)), tuple(quaternion), "odom")
        back = Pose.from_matrix(original.to_matrix(), "odom")
        assert back.to_matrix() == pytest.approx(original.to_matrix(), abs=1e-9)
    not_finite_or_zero = (((math.nan, 0, 0), (0, 0, 0, 1)), ((0, 0, 0), (0, 0, math.inf, 1)), ((0, 0, 0), (0, 0, 0, 0)))
    for position, orientation in not_finite_or_zero:
        with pytest.raises(DataError, match="pose"):
            Pose(position, orientation, "map")
    with pytest.raises(DataError, match="frame_id"):
        Pose((0, 0, 0), (0, 0, 0, 1), "")
    with pytest.raises(DataError, match="rigid"):
        Pose.from_matrix(np.diag([2.0, 1.0, 1.0, 1.0]), "map")
    zero_focal = [[0, 0, 80], [0, 100, 60], [0, 0, 1]]
    two_rows = [[100, 0, 80], [0, 100, 60]]
    bad_last_row = [[100, 0, 80], [0, 100, 60], [0, 0, 2]]
    for k in (zero_focal, two_rows, bad_last_row, [["a"] * 3] * 3):
        with pytest.raises(DataError, match="intrinsics K"):
            CameraIntrinsics(k=k, width=WIDTH, height=HEIGHT)
    with pytest.raises(DataError, match="intrinsics size"):
        CameraIntrinsics(k=INTRINSICS.k, width=0, height=HEIGHT)


def test_slerp_takes_the_short_way():
    pose = interpolate(Pose((0, 0, 0), yaw(math.radians(170)), "m"), Pose((0, 0, 0), yaw(math.radians(-170)), "m"), 0.5)
    angle = 2 * math.atan2(pose.orientation[2], pose.orientation[3])
    assert abs(abs(angle) - math.pi) < 1e-6


def test_compose_base_pose_with_camera_extrinsic():
    base = Pose((1.0, 0.0, 0.0), yaw(math.pi / 2), "map")  # facing +y in the map
    camera_in_base = Pose((0.5, 0.0, 1.0), (0, 0, 0, 1), "base_link")
    camera = compose(base, camera_in_base)
    assert camera.frame_id == "map"
    assert np.allclose(camera.position, (1.0, 0.5, 1.0))


def test_pose_strings_take_a_quaternion_or_roll_pitch_yaw():
    quaternion = parse_pose("1 2 3 0 0 0.7071068 0.7071068", "map")
    rpy = parse_pose("1, 2, 3, 0, 0, 1.5707963", "map")
    assert quaternion.position == rpy.position == (1.0, 2.0, 3.0)
    assert rpy.orientation == pytest.approx(quaternion.orientation, abs=1e-6)
    assert rpy.frame_id == "map"
    # roll about x, then pitch about y, then yaw about z (fixed axes, REP 103)
    rotation = Pose((0, 0, 0), quaternion_from_rpy(0.3, -0.2, 1.1), "m").rotation_matrix()
    rx = np.array([[1, 0, 0], [0, math.cos(0.3), -math.sin(0.3)], [0, math.sin(0.3), math.cos(0.3)]])
    ry = np.array([[math.cos(-0.2), 0, math.sin(-0.2)], [0, 1, 0], [-math.sin(-0.2), 0, math.cos(-0.2)]])
    rz = np.array([[math.cos(1.1), -math.sin(1.1), 0], [math.sin(1.1), math.cos(1.1), 0], [0, 0, 1]])
    assert rotation == pytest.approx(rz @ ry @ rx, abs=1e-12)
    for bad in ("1 2 3", "1 2 3 0 0 0 1 5", "a b c d e f g", "1 2 3 0 0 nan 1", ""):
        with pytest.raises(DataError, match="a pose must be 'x y z qx qy qz qw' or 'x y z roll pitch yaw'"):
            parse_pose(bad, "map")


@pytest.mark.parametrize("yaw", [0.0, 0.3, -1.2, math.pi / 2, 3.0, -3.0])
def test_yaw_quaternions_round_trip_and_agree_with_roll_pitch_yaw(yaw):
    from vilasr_ros.core.poses import quaternion_from_rpy, quaternion_from_yaw, rotation_between, yaw_of

    quaternion = quaternion_from_yaw(yaw)
    assert quaternion == pytest.approx(quaternion_from_rpy(0.0, 0.0, yaw))
    assert yaw_of(quaternion) == pytest.approx(yaw)
    assert yaw_of(quaternion_from_rpy(0.4, -0.2, yaw)) == pytest.approx(yaw)  # the heading of a tilted body
    assert math.degrees(rotation_between(quaternion_from_yaw(0.0), quaternion)) == pytest.approx(abs(math.degrees(yaw)))
