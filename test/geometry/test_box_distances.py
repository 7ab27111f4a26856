"""Box geometry on known boxes: fitting exact surface points, gaps between yawed boxes, approach poses.

Expected values come from the geometry itself (closed forms, or dense
sampling of the boxes' surfaces as an independent check), never from the
code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vilasr_ros.geometry.boxes import ObjectBox, approach_pose, box_distance, fit_object_box
from vilasr_ros.geometry.errors import GeometryError
from vilasr_ros.geometry.object_points import ObjectPoints

pytestmark = pytest.mark.slow  # ray-casts RGB-D views


def make_box(centre, size, yaw_deg, covariance=None, seen_from=(0.0, 0.0, 1.0)) -> ObjectBox:
    return ObjectBox(
        centre=tuple(float(v) for v in centre),
        size=tuple(float(v) for v in size),
        yaw=math.radians(yaw_deg),
        covariance=np.eye(3) * 1e-4 if covariance is None else covariance,
        size_stddev=(0.01, 0.01, 0.01),
        surface_point=None,
        seen_from=seen_from,
        on_floor=True,
        num_views=1,
        num_points=100,
    )


def surface_samples(box: ObjectBox, step: float = 0.01) -> np.ndarray:
    """Points on all six faces of the box, about ``step`` apart."""
    half = np.array(box.size) / 2.0
    grids = []
    for axis in range(3):
        others = [a for a in range(3) if a != axis]
        u = np.linspace(-half[others[0]], half[others[0]], max(2, int(2 * half[others[0]] / step) + 1))
        v = np.linspace(-half[others[1]], half[others[1]], max(2, int(2 * half[others[1]] / step) + 1))
        uu, vv = np.meshgrid(u, v)
        for sign in (-1.0, 1.0):
            face = np.zeros((uu.size, 3))
            face[:, axis] = sign * half[axis]
            face[:, others[0]], face[:, others[1]] = uu.ravel(), vv.ravel()
            grids.append(face)
    local = np.concatenate(grids)
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return local @ rotation.T + np.array(box.centre)


def footprint_outline(box: ObjectBox, step: float = 0.001) -> np.ndarray:
    """Points along the box's xy outline, about ``step`` apart."""
    half_length, half_width = box.size[0] / 2.0, box.size[1] / 2.0
    u = np.linspace(-half_length, half_length, int(2 * half_length / step) + 1)
    v = np.linspace(-half_width, half_width, int(2 * half_width / step) + 1)
    local = np.concatenate(
        [
            np.column_stack([u, np.full_like(u, -half_width)]),
            np.column_stack([u, np.full_like(u, half_width)]),
            np.column_stack([np.full_like(v, -half_length), v]),
            np.column_stack([np.full_like(v, half_length), v]),
        ]
    )
    c, s = math.cos(box.yaw), math.sin(box.yaw)
    return local @ np.array([[c, s], [-s, c]]) + np.array(box.centre[:2])


def sampled_gap(a: ObjectBox, b: ObjectBox) -> float:
    """Closest distance between surface samples of two boxes (the samples nearest the other box only)."""
    pa, pb = surface_samples(a), surface_samples(b)
    pa = pa[np.argsort(np.linalg.norm(pa - np.array(b.centre), axis=1))[:1500]]
    pb = pb[np.argsort(np.linalg.norm(pb - np.array(a.centre), axis=1))[:1500]]
    return float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)).min())


def test_the_gap_between_side_by_side_boxes_is_the_space_between_their_faces():
    a = make_box((0.0, 0.0, 0.5), (1.0, 0.6, 1.0), 0)
    b = make_box((2.0, 0.3, 0.4), (0.8, 0.8, 0.8), 0)
    distance = box_distance(a, b)
    assert distance.gap == pytest.approx(2.0 - 0.5 - 0.4)
    assert distance.centre == pytest.approx(math.sqrt(2.0**2 + 0.3**2 + 0.1**2))


def test_a_corner_turned_towards_a_face_gives_the_corner_to_face_gap():
    a = make_box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0), 0)
    b = make_box((2.0, 0.0, 0.5), (1.0, 1.0, 1.0), 45)  # its corner points at a, half a diagonal from its centre
    assert box_distance(a, b).gap == pytest.approx(2.0 - 0.5 - math.sqrt(0.5))


def test_stacked_and_diagonally_offset_boxes_combine_the_height_gap():
    floor_box = make_box((0.0, 0.0, 0.25), (1.0, 1.0, 0.5), 0)
    above = make_box((0.0, 0.0, 1.5), (0.5, 0.5, 0.4), 30)  # footprints overlap: only the height gap
    assert box_distance(floor_box, above).gap == pytest.approx(1.3 - 0.5)
    beside_above = make_box((2.0, 0.0, 1.5), (1.0, 1.0, 0.4), 0)
    assert box_distance(floor_box, beside_above).gap == pytest.approx(math.hypot(1.0, 0.8))


def test_overlapping_boxes_have_no_gap():
    a = make_box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0), 0)
    b = make_box((0.6, 0.3, 0.5), (1.0, 0.4, 1.0), 70)
    assert box_distance(a, b).gap == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_the_gap_between_random_yawed_boxes_matches_dense_surface_sampling(seed):
    rng = np.random.default_rng(seed)
    a = make_box((0.0, 0.0, rng.uniform(0.2, 0.6)), rng.uniform(0.3, 1.2, 3), rng.uniform(-90, 90))
    offset = rng.uniform(0.8, 2.0) * np.array([math.cos(seed), math.sin(seed), 0.0])
    b = make_box(
        np.array(a.centre) + offset + (0.0, 0.0, rng.uniform(-0.5, 1.5)), rng.uniform(0.3, 1.2, 3), rng.uniform(-90, 90)
    )
    gap = box_distance(a, b).gap
    sampled = sampled_gap(a, b)
    assert gap <= sampled + 1e-9  # exact distance is never more than that of sampled surface points
    assert sampled - gap < 0.015  # and the samples (1 cm apart) come within their spacing


def test_the_distance_uncertainty_comes_from_both_covariances_along_the_line():
    a = make_box((0.0, 0.0, 0.5), (1.0, 1.0, 1.0), 0, covariance=np.diag([0.04, 0.0001, 0.0001]))
    b = make_box((3.0, 0.0, 0.5), (1.0, 1.0, 1.0), 0, covariance=np.diag([0.09, 0.25, 0.25]))
    distance = box_distance(a, b)
    assert distance.stddev == pytest.approx(math.sqrt(0.04 + 0.09))  # across the line does not count
    assert distance.gap_stddev > distance.stddev


def test_the_approach_pose_stands_off_the_box_facing_it_on_the_cameras_side():
    box = make_box((3.0, 1.0, 0.6), (1.0, 0.5, 1.2), 30, seen_from=(0.5, -0.5, 1.0))
    for standoff in (0.0, 0.4, 1.0):
        pose = approach_pose(box, standoff)
        position = np.array([pose.x, pose.y, box.centre[2]])
        outline = footprint_outline(box)
        assert np.min(np.linalg.norm(outline - position[:2], axis=1)) == pytest.approx(standoff, abs=0.002)
        towards_centre = np.subtract(box.centre[:2], (pose.x, pose.y))
        if standoff > 0:
            assert math.isclose(pose.yaw, math.atan2(towards_centre[1], towards_centre[0]), abs_tol=1e-9)
        to_camera = np.subtract(box.seen_from[:2], box.centre[:2])
        assert np.dot(np.subtract((pose.x, pose.y), box.centre[:2]), to_camera) > 0
        assert pose.z == pytest.approx(box.bottom)
        qx, qy, qz, qw = pose.quaternion()
        assert (qx, qy) == (0.0, 0.0) and math.isclose(2 * math.atan2(qz, qw), pose.yaw)
    with pytest.raises(GeometryError):
        approach_pose(box, -0.1)


def test_the_approach_pose_stands_on_the_floor_under_an_object_that_does_not_stand_on_it():
    wall_cabinet = make_box((3.0, 1.0, 1.05), (0.8, 0.35, 0.4), 20, seen_from=(0.5, -0.5, 1.6))  # 0.85 to 1.25 m up
    on_floor, unknown_floor = approach_pose(wall_cabinet, 0.5, floor_z=0.02), approach_pose(wall_cabinet, 0.5)
    assert on_floor.z == 0.02
    assert unknown_floor.z == pytest.approx(0.85)  # no floor known: the box's bottom
    assert (on_floor.x, on_floor.y, on_floor.yaw) == (unknown_floor.x, unknown_floor.y, unknown_floor.yaw)


def visible_faces(centre, size, yaw_deg, camera_xy, step=0.02) -> ObjectPoints:
    """Exact points on the top and the side faces of a box that face ``camera_xy``."""
    box = make_box(centre, size, yaw_deg)
    points = surface_samples(box, step)
    local = (points - np.array(centre)) @ np.array(
        [[math.cos(box.yaw), -math.sin(box.yaw), 0], [math.sin(box.yaw), math.cos(box.yaw), 0], [0, 0, 1]]
    )
    half = np.array(size) / 2.0
    camera_local = np.array(
        [[math.cos(box.yaw), math.sin(box.yaw)], [-math.sin(box.yaw), math.cos(box.yaw)]]
    ) @ np.subtract(camera_xy, centre[:2])
    keep = np.isclose(local[:, 2], half[2])
    for axis in (0, 1):
        side = np.sign(camera_local[axis])
        keep |= np.isclose(local[:, axis], side * half[axis]) & (local[:, 2] > -half[2] + 1e-9)
    seen = points[keep]
    camera = np.array([*camera_xy, 1.0])
    ranges = np.linalg.norm(seen - camera, axis=1)
    return ObjectPoints(seen, ranges, camera, None, False, 0.0, 0.0, median_range=float(np.median(ranges)))


@pytest.mark.parametrize("yaw_deg", [0.0, 20.0, 55.0, 89.0, -35.0])
def test_a_box_is_recovered_from_exact_points_on_its_visible_faces(yaw_deg):
    centre, size = (2.0, 1.0, 0.4), (0.9, 0.5, 0.8)
    points = visible_faces(centre, size, yaw_deg, (0.0, -1.0))
    box = fit_object_box([points], floor_z=0.0)
    assert box.centre == pytest.approx(centre, abs=0.02)
    assert box.size == pytest.approx(size, abs=0.03)
    assert math.isclose(box.yaw, math.radians(yaw_deg), abs_tol=math.radians(1.0))
    assert -math.pi / 2 < box.yaw <= math.pi / 2


def test_length_is_the_longer_side_and_yaw_follows_it():
    points = visible_faces((2.0, 1.0, 0.4), (0.4, 1.2, 0.8), 10.0, (0.0, -1.0))  # longer along the box's y
    box = fit_object_box([points], floor_z=0.0)
    assert box.size[0] >= box.size[1]
    assert box.size == pytest.approx((1.2, 0.4, 0.8), abs=0.03)
    assert math.isclose(box.yaw, math.radians(100.0 - 180.0), abs_tol=math.radians(1.0))


def test_the_bench_function_reports_times_and_good_boxes():
    """bench/boxes_bench.py's function runs (2 keyframes: quick) and its boxes are where the objects are."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "boxes_bench.py"
    spec = importlib.util.spec_from_file_location("boxes_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    figures = bench.time_object_boxes(keyframes=3, repeats=1)
    assert figures["boxes_ms_per_object_max"] > 0 and figures["boxes_floor_ms"] > 0
    for entry in figures["boxes_per_object"].values():
        if entry["views"]:
            assert entry["centre_error_m"] < 0.15
