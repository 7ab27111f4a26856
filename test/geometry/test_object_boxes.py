"""3D object boxes from drawn 2D boxes, on ray-cast rooms with known geometry.

Given: a room (floor z = 0, four walls) with yawed cuboids standing on the
floor, seen by 640x480 pinhole cameras (fx = fy = 525) about 1 m up, looking
slightly down at an object 1.5 to 4.5 m away; the depth image is ray cast
exactly, then gets 1 % range noise and 5 % holes. The drawn box is the
object's projected bounding box, optionally with each side moved by up to
4 px at random, as a model would draw it. Then (issue 12): the box centre is
within max(4 % of the range, 6 cm) of the truth and each size within
max(15 %, 6 cm), from one oblique view and from several views, and fusing
views never moves the centre away from the truth compared with the best
single view (beyond 5 mm, a third of the nearest view's depth noise).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest

from vilasr_ros.geometry.boxes import ObjectBox, fit_object_box
from vilasr_ros.geometry.errors import GeometryError
from vilasr_ros.geometry.object_points import (
    DepthView,
    ObjectPoints,
    ObjectSettings,
    estimate_floor_z,
    object_points,
)
from vilasr_ros.sim.box_scene import Camera, Cuboid, Room, drawn_box

pytestmark = pytest.mark.slow  # ray-casts RGB-D views

NOISE, HOLES = 0.01, 0.05
FUSION_SLACK = 0.005  # metres: a third of the nearest view's 1-sigma depth noise (1 % of 1.5 m)
CRATE = Cuboid.on_floor("crate", (2.6, 0.9), (0.6, 0.4, 0.5), 30)
CABINET = Cuboid.on_floor("cabinet", (4.6, -1.6), (1.0, 0.5, 1.2), -20)  # taller than the cameras: no top in view
STOOL = Cuboid.on_floor("stool", (1.9, -0.7), (0.35, 0.35, 0.45), 10)
TABLE = Cuboid.on_floor("table", (4.3, 1.8), (1.4, 0.8, 0.75), 65)
SHELF = Cuboid.on_floor("shelf", (6.5 - 0.175 - 0.12, 0.0), (0.9, 0.35, 1.6), 90)  # 12 cm in front of a wall
LOCKER = Cuboid.on_floor("locker", (1.0, 4.0 - 0.25 - 0.08), (0.6, 0.5, 1.1), 0)  # 8 cm in front of a wall
OBJECTS = (CRATE, CABINET, STOOL, TABLE, SHELF, LOCKER)
ROOM = Room(OBJECTS, x_range=(-1.5, 6.5), y_range=(-4.0, 4.0))


def camera_for(cuboid: Cuboid, diagonal: int, range_m: float, height: float = 1.0) -> Camera:
    """A camera ``range_m`` from the object along one of its diagonals (0-3), looking at its centre: oblique."""
    return camera_at(cuboid, 45 + 90 * diagonal, range_m, height)


def camera_at(cuboid: Cuboid, bearing_deg: float, range_m: float, height: float = 1.0) -> Camera:
    """A camera ``range_m`` from the object at ``bearing_deg`` from its x axis (its +x face's normal), looking
    at its centre."""
    angle = cuboid.yaw + math.radians(bearing_deg)
    position = (cuboid.centre[0] + range_m * math.cos(angle), cuboid.centre[1] + range_m * math.sin(angle), height)
    return Camera.looking_at(position, cuboid.centre)


@functools.cache
def depth_image(room: Room, camera_key: tuple, noisy: bool = True, seed: int = 0) -> np.ndarray:
    camera = CAMERAS[camera_key]
    return room.noisy_depth(camera, NOISE, HOLES, seed) if noisy else room.depth(camera)


def view_of(camera: Camera, depth: np.ndarray) -> DepthView:
    return DepthView(depth, camera.k, (camera.width, camera.height), camera.rotation, camera.position)


def in_view(camera: Camera, cuboid: Cuboid) -> bool:
    pixels = camera.project(cuboid.corners())
    return bool((pixels >= 0).all() and (pixels <= (camera.width, camera.height)).all())


def hidden_share(room: Room, camera: Camera, cuboid: Cuboid) -> float:
    """Share of the object's pixels that something else hides."""
    alone = Room((cuboid,), room.x_range, room.y_range, room.floor_z).depth(camera)
    empty = Room((), room.x_range, room.y_range, room.floor_z).depth(camera)
    mine = alone < empty - 1e-4
    return float(np.count_nonzero(mine & (room.depth(camera) < alone - 1e-4)) / np.count_nonzero(mine))


def side_faces_seen(camera: Camera, cuboid: Cuboid) -> int:
    rotation, centre = cuboid.rotation(), np.array(cuboid.centre)
    count = 0
    for axis in (0, 1):
        for sign in (-1.0, 1.0):
            normal = sign * rotation[:, axis]
            count += normal @ (camera.position - (centre + normal * cuboid.size[axis] / 2.0)) > 0.05
    return count


def face_angles(camera: Camera, cuboid: Cuboid) -> list[float]:
    """Degrees between each side face the camera sees and the horizontal line of sight to the face's centre
    (90: head-on, 0: edge-on)."""
    rotation, centre = cuboid.rotation(), np.array(cuboid.centre)
    angles = []
    for axis in (0, 1):
        for sign in (-1.0, 1.0):
            normal = sign * rotation[:, axis]
            sight = camera.position - (centre + normal * cuboid.size[axis] / 2.0)
            sight[2] = 0.0
            sine = float(normal @ sight / np.linalg.norm(sight))
            if sine > 0:
                angles.append(math.degrees(math.asin(min(sine, 1.0))))
    return angles


def true_size(cuboid: Cuboid) -> list[float]:
    return [*sorted(cuboid.size[:2], reverse=True), cuboid.size[2]]


def centre_error(box: ObjectBox, cuboid: Cuboid) -> float:
    return float(np.linalg.norm(np.subtract(box.centre, cuboid.centre)))


def assert_meets_issue_bounds(box: ObjectBox, cuboid: Cuboid, range_m: float) -> None:
    assert box is not None
    assert centre_error(box, cuboid) <= max(0.04 * range_m, 0.06), (box.centre, cuboid.centre)
    for estimate, truth in zip(box.size, true_size(cuboid)):
        assert abs(estimate - truth) <= max(0.15 * truth, 0.06), (box.size, true_size(cuboid))


def camera_range(camera: Camera, cuboid: Cuboid) -> float:
    return float(np.linalg.norm(np.subtract(cuboid.centre, camera.position)))


# (object, diagonal, range): oblique views that show the object whole, unhidden, with two side faces.
SINGLE_VIEWS = [
    ("crate", 0, 1.5),
    ("crate", 1, 3.5),
    ("cabinet", 1, 2.5),
    ("cabinet", 2, 4.5),
    ("stool", 2, 1.5),
    ("stool", 3, 4.5),
    ("table", 2, 2.5),
    ("table", 2, 4.5),
    ("shelf", 0, 2.5),
    ("shelf", 1, 2.5),
    ("locker", 2, 2.5),
    ("locker", 3, 4.5),
]
BY_LABEL = {cuboid.label: cuboid for cuboid in OBJECTS}
CAMERAS = {(label, d, r): camera_for(BY_LABEL[label], d, r) for label, d, r in SINGLE_VIEWS}
# (object, bearing from its x axis in degrees, range): oblique views off the diagonals, 20, 30, 60 and 70 degrees
# off a face, that show the object whole and unhidden, each of two side faces at least 15 degrees from edge-on.
OFF_DIAGONAL_VIEWS = [
    ("crate", 20, 2.5),
    ("crate", 120, 4.5),
    ("crate", 240, 3.5),
    ("crate", 160, 2.5),
    ("cabinet", 200, 4.5),
    ("cabinet", 120, 2.5),
    ("cabinet", 150, 4.5),
    ("cabinet", 160, 3.5),
    ("stool", 20, 4.5),
    ("stool", 120, 3.5),
    ("stool", 60, 2.5),
    ("stool", 340, 3.5),
    ("table", 120, 3.5),
    ("table", 150, 2.5),
    ("table", 210, 3.5),
    ("shelf", 20, 3.5),
    ("shelf", 30, 2.5),
    ("shelf", 150, 2.5),
    ("shelf", 160, 3.5),
    ("locker", 210, 2.5),
    ("locker", 240, 4.5),
    ("locker", 250, 4.5),
    ("locker", 330, 3.5),
]
MIN_FACE_ANGLE = 15.0  # degrees from edge-on: a face seen flatter gives too few samples across its depth
CAMERAS.update({(label, f"{b}deg", r): camera_at(BY_LABEL[label], b, r) for label, b, r in OFF_DIAGONAL_VIEWS})
# Several views per object: the single views plus two more from other diagonals.
MULTI_VIEWS = {
    "crate": [("crate", 0, 1.5), ("crate", 1, 3.5), ("crate", 2, 2.5)],
    "stool": [("stool", 2, 1.5), ("stool", 3, 4.5), ("stool", 1, 3.5)],
    "cabinet": [("cabinet", 1, 2.5), ("cabinet", 2, 4.5), ("cabinet", 1, 4.5)],
    "locker": [("locker", 2, 2.5), ("locker", 3, 4.5), ("locker", 3, 2.5)],
}
for keys in MULTI_VIEWS.values():
    CAMERAS.update({key: camera_for(BY_LABEL[key[0]], key[1], key[2]) for key in keys})


@pytest.mark.parametrize("key", SINGLE_VIEWS, ids=lambda key: f"{key[0]}-d{key[1]}-{key[2]}m")
def test_scene_preconditions(key):
    """The single views are what the criteria speak of: whole, unhidden, oblique (two side faces)."""
    cuboid, camera = BY_LABEL[key[0]], CAMERAS[key]
    assert in_view(camera, cuboid)
    assert hidden_share(ROOM, camera, cuboid) == 0.0
    assert side_faces_seen(camera, cuboid) == 2


@pytest.mark.parametrize("view", OFF_DIAGONAL_VIEWS, ids=lambda view: f"{view[0]}-{view[1]}deg-{view[2]}m")
def test_off_diagonal_preconditions(view):
    """The off-diagonal views are oblique too: whole, unhidden, two side faces each well off edge-on."""
    label, bearing, range_m = view
    cuboid, camera = BY_LABEL[label], CAMERAS[(label, f"{bearing}deg", range_m)]
    assert in_view(camera, cuboid)
    assert hidden_share(ROOM, camera, cuboid) == 0.0
    angles = face_angles(camera, cuboid)
    assert len(angles) == 2 and min(angles) >= MIN_FACE_ANGLE, angles
    off_face = (bearing % 90) if (bearing % 90) <= 45 else 90 - bearing % 90
    assert off_face in (20, 30), bearing  # 20 or 30 degrees off one face, so 70 or 60 off the other


@pytest.mark.parametrize("jitter", [0.0, 4.0])
@pytest.mark.parametrize("view", OFF_DIAGONAL_VIEWS, ids=lambda view: f"{view[0]}-{view[1]}deg-{view[2]}m")
def test_one_view_off_the_diagonal_keeps_the_far_part_of_each_face(view, jitter):
    """A face seen at 20 to 30 degrees from edge-on steps more in depth per sample than an edge gap; it stays
    one surface (GAP 1 of the issue-12 audit: the far part was cut off and the box came out short)."""
    label, bearing, range_m = view
    key = (label, f"{bearing}deg", range_m)
    cuboid, camera = BY_LABEL[label], CAMERAS[key]
    points = object_points(view_of(camera, depth_image(ROOM, key)), drawn_box(camera, cuboid, jitter, seed=7), 0.0)
    box = fit_object_box([points], floor_z=0.0)
    assert_meets_issue_bounds(box, cuboid, camera_range(camera, cuboid))
    assert box.on_floor and box.num_views == 1


@pytest.mark.xfail(strict=True, reason="known limit: a loose box's strip of a wall 8 cm behind, past a receding face")
def test_a_loose_box_around_an_object_just_in_front_of_a_wall_leaves_the_wall_out():
    """The locker stands 8 cm in front of a wall; seen from 3.5 m, 30 degrees off its front, its side face
    recedes towards the wall by about as much per sample as the wall lies behind it, and a box drawn 2 px loose
    takes in a one-sample strip of wall that is not told apart (the box comes out 9 cm too wide)."""
    camera = camera_at(LOCKER, 300, 3.5)
    assert min(face_angles(camera, LOCKER)) >= MIN_FACE_ANGLE and hidden_share(ROOM, camera, LOCKER) == 0.0
    depth = ROOM.noisy_depth(camera, NOISE, HOLES, 0)
    points = object_points(view_of(camera, depth), drawn_box(camera, LOCKER, 4.0, seed=7), 0.0)
    assert_meets_issue_bounds(fit_object_box([points], 0.0), LOCKER, camera_range(camera, LOCKER))


@pytest.mark.parametrize("jitter", [0.0, 4.0])
@pytest.mark.parametrize("key", SINGLE_VIEWS, ids=lambda key: f"{key[0]}-d{key[1]}-{key[2]}m")
def test_one_oblique_view_with_noise_and_holes_meets_the_bounds(key, jitter):
    cuboid, camera = BY_LABEL[key[0]], CAMERAS[key]
    view = view_of(camera, depth_image(ROOM, key))
    points = object_points(view, drawn_box(camera, cuboid, jitter, seed=7), floor_z=0.0)
    box = fit_object_box([points], floor_z=0.0)
    assert_meets_issue_bounds(box, cuboid, camera_range(camera, cuboid))
    assert box.on_floor and box.num_views == 1
    assert abs(box.bottom) < 1e-9  # extended to the floor


@pytest.mark.parametrize("label", sorted(MULTI_VIEWS))
def test_several_views_meet_the_bounds_and_fusing_never_moves_the_centre_away(label):
    cuboid = BY_LABEL[label]
    views = []
    for seed, key in enumerate(MULTI_VIEWS[label]):
        camera = CAMERAS[key]
        assert in_view(camera, cuboid) and hidden_share(ROOM, camera, cuboid) == 0.0
        view = view_of(camera, depth_image(ROOM, key, seed=seed))
        views.append(object_points(view, drawn_box(camera, cuboid, 4.0, seed=seed), floor_z=0.0))
    fused = fit_object_box(views, floor_z=0.0)
    singles = [fit_object_box([points], floor_z=0.0) for points in views]
    nearest = min(camera_range(CAMERAS[key], cuboid) for key in MULTI_VIEWS[label])
    assert_meets_issue_bounds(fused, cuboid, nearest)
    assert fused.num_views == len(views)
    assert centre_error(fused, cuboid) <= min(centre_error(single, cuboid) for single in singles) + FUSION_SLACK


def test_fusion_merges_points_so_two_partial_views_make_the_whole_object():
    """A tall cabinet seen from two opposite diagonals: each view sees two sides, together all four."""
    cuboid = CABINET
    room = Room((cuboid,), x_range=(-1.5, 8.0), y_range=(-5.0, 4.0))
    cameras = [camera_for(cuboid, 1, 2.5), camera_for(cuboid, 3, 2.5)]
    views = [
        object_points(view_of(camera, room.noisy_depth(camera, NOISE, HOLES, i)), drawn_box(camera, cuboid), 0.0)
        for i, camera in enumerate(cameras)
    ]
    fused = fit_object_box(views, 0.0)
    assert_meets_issue_bounds(fused, cuboid, 2.5)
    assert math.isclose(fused.yaw, cuboid.yaw, abs_tol=math.radians(2.0))
    assert [faces_covered(points.points, cuboid) for points in views] == [2, 2]
    assert faces_covered(np.concatenate([points.points for points in views]), cuboid) == 4


def faces_covered(points: np.ndarray, cuboid: Cuboid) -> int:
    """How many of the cuboid's four side faces hold at least 10 % of the points (within 3 cm)."""
    local = (points - cuboid.centre) @ cuboid.rotation()
    half = np.array(cuboid.size) / 2.0
    return sum(np.mean(np.abs(local[:, axis] - sign * half[axis]) < 0.03) >= 0.1 for axis in (0, 1) for sign in (-1, 1))


def test_an_object_partly_hidden_behind_another_is_told_apart_and_extended_to_the_floor():
    cabinet = Cuboid.on_floor("cabinet", (3.6, 0.0), (1.0, 0.5, 1.2), 15)
    camera = camera_for(cabinet, 2, 3.5)
    towards, across = math.radians(240.0), math.radians(330.0)  # from the cabinet to the camera, and sideways
    crate_xy = (3.6 + math.cos(towards) + 0.3 * math.cos(across), math.sin(towards) + 0.3 * math.sin(across))
    crate = Cuboid.on_floor("crate", crate_xy, (0.6, 0.4, 0.5), -10)
    room = Room((cabinet, crate), x_range=(-1.0, 5.0), y_range=(-4.0, 3.0))
    assert 0.1 < hidden_share(room, camera, cabinet) < 0.5  # the crate hides the cabinet's lower front
    assert hidden_share(room, camera, crate) == 0.0 and in_view(camera, crate)
    view = view_of(camera, room.noisy_depth(camera, NOISE, HOLES, 3))
    for jitter in (0.0, 4.0):
        points = object_points(view, drawn_box(camera, cabinet, jitter, seed=1), 0.0)
        assert points.bottom_hidden and points.occluded_fraction > 0.05
        box = fit_object_box([points], 0.0)
        assert_meets_issue_bounds(box, cabinet, camera_range(camera, cabinet))
        assert box.on_floor
        occluder = fit_object_box([object_points(view, drawn_box(camera, crate, jitter, seed=2), 0.0)], 0.0)
        # the crate's own box, not the cabinet's
        assert centre_error(occluder, crate) <= max(0.04 * camera_range(camera, crate), 0.06)


def test_a_box_standing_right_in_front_of_a_taller_one_keeps_its_depth():
    """The crate's top, seen at a grazing angle, ends right in front of the cabinet's face: its far part is
    kept (it steps steadily in inverse depth; the cabinet's face departs from that)."""
    cabinet = Cuboid.on_floor("cabinet", (3.6, 0.0), (1.0, 0.5, 1.2), 15)
    camera = camera_for(cabinet, 2, 3.5)
    towards, across = math.radians(240.0), math.radians(330.0)
    crate_xy = (3.6 + math.cos(towards) + 0.3 * math.cos(across), math.sin(towards) + 0.3 * math.sin(across))
    crate = Cuboid.on_floor("crate", crate_xy, (0.6, 0.4, 0.5), -10)
    room = Room((cabinet, crate), x_range=(-1.0, 5.0), y_range=(-4.0, 3.0))
    view = view_of(camera, room.noisy_depth(camera, NOISE, HOLES, 3))
    for jitter in (0.0, 4.0):
        occluder = fit_object_box([object_points(view, drawn_box(camera, crate, jitter, seed=2), 0.0)], 0.0)
        assert_meets_issue_bounds(occluder, crate, camera_range(camera, crate))


def test_an_object_whose_lower_part_is_out_of_view_is_extended_to_the_floor():
    cuboid = Cuboid.on_floor("cabinet", (2.2, 0.3), (0.8, 0.5, 1.1), 35)
    room = Room((cuboid,), x_range=(-1.0, 5.0), y_range=(-3.0, 3.0))
    oblique = camera_for(cuboid, 2, 1.6, height=1.3).position
    camera = Camera.looking_at(tuple(oblique), (2.2, 0.3, 1.0))
    pixels = camera.project(cuboid.corners())
    assert pixels[:, 1].max() > camera.height and pixels[:, 1].min() > 0  # the bottom is below the image
    view = view_of(camera, room.noisy_depth(camera, NOISE, HOLES, 4))
    points = object_points(view, drawn_box(camera, cuboid), 0.0)
    assert points.bottom_hidden
    box = fit_object_box([points], 0.0)
    assert box.on_floor
    assert_meets_issue_bounds(box, cuboid, camera_range(camera, cuboid))


def test_an_object_that_does_not_stand_on_the_floor_keeps_its_own_bottom():
    shelf_box = Cuboid("wall cabinet", (3.0, 0.2, 1.05), (0.8, 0.35, 0.4), math.radians(20))  # 0.85 to 1.25 m up
    room = Room((shelf_box,), x_range=(-1.0, 5.0), y_range=(-3.0, 3.0))
    camera = camera_for(shelf_box, 2, 2.5, height=1.6)
    view = view_of(camera, room.noisy_depth(camera, NOISE, HOLES, 5))
    box = fit_object_box([object_points(view, drawn_box(camera, shelf_box, 4.0, seed=3), 0.0)], 0.0)
    assert not box.on_floor
    assert_meets_issue_bounds(box, shelf_box, camera_range(camera, shelf_box))


def test_the_floor_height_is_found_from_the_depth_images():
    raised_objects = tuple(Cuboid.on_floor(c.label, c.centre[:2], c.size, math.degrees(c.yaw), 0.25) for c in OBJECTS)
    raised = Room(raised_objects, x_range=ROOM.x_range, y_range=ROOM.y_range, floor_z=0.25)
    cameras = [camera_for(CRATE, 0, 2.5, height=1.25), camera_for(STOOL, 3, 3.5, height=1.25)]
    views = [view_of(camera, raised.noisy_depth(camera, NOISE, HOLES, i)) for i, camera in enumerate(cameras)]
    floor = estimate_floor_z(views)
    assert floor == pytest.approx(0.25, abs=0.01)
    crate = raised.cuboids[0]
    box = fit_object_box([object_points(views[0], drawn_box(cameras[0], crate), floor)], floor)
    assert_meets_issue_bounds(box, crate, camera_range(cameras[0], crate))


def test_a_lower_resolution_registered_depth_image_gives_the_same_box():
    key = ("cabinet", 1, 2.5)
    cuboid, camera = CABINET, CAMERAS[key]
    full = depth_image(ROOM, key, noisy=False)
    half = full[::2, ::2] * (1.0 + NOISE * np.random.default_rng(0).standard_normal((240, 320))).astype(np.float32)
    points = object_points(view_of(camera, half), drawn_box(camera, cuboid, 4.0), 0.0)
    assert_meets_issue_bounds(fit_object_box([points], 0.0), cuboid, camera_range(camera, cuboid))


def test_a_lens_model_given_as_a_function_is_used():
    key = ("crate", 0, 1.5)
    camera = CAMERAS[key]
    depth = depth_image(ROOM, key)
    calls = []

    def pinhole(pixels: np.ndarray) -> np.ndarray:
        calls.append(len(pixels))
        return (pixels - 0.5 - camera.k[:2, 2]) / np.diag(camera.k)[:2]

    plain = object_points(view_of(camera, depth), drawn_box(camera, CRATE), 0.0)
    lens = DepthView(depth, camera.k, (640, 480), camera.rotation, camera.position, to_rays=pinhole)
    through_function = object_points(lens, drawn_box(camera, CRATE), 0.0)
    assert calls
    np.testing.assert_allclose(through_function.points, plain.points)


def test_the_surface_point_lies_on_the_visible_surface_under_the_box_centre():
    key = ("crate", 0, 1.5)
    camera = CAMERAS[key]
    box_px = drawn_box(camera, CRATE)
    points = object_points(view_of(camera, depth_image(ROOM, key, noisy=False)), box_px, 0.0)
    centre_ray = np.array(
        [
            ((box_px[0] + box_px[2]) / 2 - 0.5 - camera.k[0, 2]) / camera.k[0, 0],
            ((box_px[1] + box_px[3]) / 2 - 0.5 - camera.k[1, 2]) / camera.k[1, 1],
            1.0,
        ]
    )
    hit_depth = Room((CRATE,)).depth(camera)[int((box_px[1] + box_px[3]) / 2), int((box_px[0] + box_px[2]) / 2)]
    expected = camera.rotation @ (centre_ray * hit_depth) + camera.position
    assert np.linalg.norm(points.surface_point - expected) < 0.02
    box = fit_object_box([points], 0.0)
    assert box.surface_point == pytest.approx(tuple(points.surface_point))


def test_uncertainty_grows_with_range_fewer_points_and_disagreeing_views():
    room = Room((CRATE,), x_range=(-3.0, 8.0), y_range=(-4.0, 6.0))
    near, far = camera_for(CRATE, 0, 1.5), camera_for(CRATE, 0, 4.5)

    def box_from(camera, seed=0, settings=None, shift=(0.0, 0.0, 0.0)):
        settings = settings or ObjectSettings()
        view = DepthView(
            room.noisy_depth(camera, NOISE, HOLES, seed),
            camera.k,
            (640, 480),
            camera.rotation,
            camera.position + np.array(shift),
        )
        return object_points(view, drawn_box(camera, CRATE), 0.0, settings)

    settings = ObjectSettings()
    assert fit_object_box([box_from(far)], 0.0).stddev > fit_object_box([box_from(near)], 0.0).stddev
    dense = box_from(near)
    sparse = dataclasses.replace(dense, points=dense.points[::20], ranges=dense.ranges[::20])  # same spacing
    assert fit_object_box([sparse], 0.0, settings).stddev > fit_object_box([dense], 0.0, settings).stddev
    other = camera_for(CRATE, 1, 1.5)
    agreeing = fit_object_box([box_from(near), box_from(other, 1)], 0.0)
    disagreeing = fit_object_box([box_from(near), box_from(other, 1, shift=(0.3, -0.2, 0.0))], 0.0)
    assert disagreeing.stddev > 2.0 * agreeing.stddev
    assert np.all(np.linalg.eigvalsh(disagreeing.covariance) > 0)


def test_boxes_without_an_object_give_empty_points_and_no_box():
    key = ("crate", 0, 1.5)
    camera = CAMERAS[key]
    view = view_of(camera, depth_image(ROOM, key))
    outside = object_points(view, (700.0, 10.0, 800.0, 50.0), 0.0)
    assert outside.empty and outside.note
    assert object_points(view, (1.0, 2.0, math.nan, 4.0), 0.0).note == "non-finite box"
    floor_only = object_points(view, (300.0, 470.0, 340.0, 480.0), 0.0)
    assert floor_only.empty and "floor" in floor_only.note
    no_depth = view_of(camera, np.full((480, 640), np.nan, np.float32))
    assert object_points(no_depth, drawn_box(camera, CRATE), 0.0).note == "no valid depth in the box"
    assert fit_object_box([outside], 0.0) is None
    assert fit_object_box([], 0.0) is None


def test_programming_errors_raise_geometry_errors():
    camera = CAMERAS[("crate", 0, 1.5)]
    depth = np.ones((480, 640), np.float32)
    with pytest.raises(GeometryError):
        DepthView(depth.astype(np.uint16), camera.k, (640, 480), camera.rotation, camera.position)
    with pytest.raises(GeometryError):
        DepthView(depth, np.eye(2), (640, 480), camera.rotation, camera.position)
    with pytest.raises(GeometryError):
        DepthView(depth, camera.k, (640, 480), 2.0 * camera.rotation, camera.position)
    with pytest.raises(GeometryError):
        object_points(view_of(camera, depth), (1.0, 2.0, 3.0), 0.0)
    with pytest.raises(GeometryError):
        ObjectSettings(median_radius=3)
    with pytest.raises(GeometryError):
        ObjectSettings(min_depth=2.0, max_depth=1.0)


def test_object_points_are_plain_values_in_the_target_frame():
    key = ("stool", 2, 1.5)
    camera = CAMERAS[key]
    points = object_points(view_of(camera, depth_image(ROOM, key)), drawn_box(camera, STOOL), 0.0)
    assert isinstance(points, ObjectPoints)
    assert points.points.shape[1] == 3 and len(points.ranges) == len(points.points)
    local = (points.points - STOOL.centre) @ STOOL.rotation()
    assert np.all(np.abs(local) <= np.array(STOOL.size) / 2.0 + 0.08)  # noise, no background
    np.testing.assert_allclose(points.camera_position, camera.position)


def test_a_view_that_shows_another_object_is_left_out_of_the_fusion():
    keys = MULTI_VIEWS["crate"]
    views = [
        object_points(view_of(CAMERAS[key], depth_image(ROOM, key, seed=i)), drawn_box(CAMERAS[key], CRATE), 0.0)
        for i, key in enumerate(keys)
    ]
    wrong_key = ("stool", 2, 1.5)  # a box drawn on the stool, labelled as the crate
    wrong_camera = CAMERAS[wrong_key]
    wrong = object_points(view_of(wrong_camera, depth_image(ROOM, wrong_key)), drawn_box(wrong_camera, STOOL), 0.0)
    fused = fit_object_box([*views, wrong], 0.0)
    assert fused.num_views == len(views)
    assert_meets_issue_bounds(fused, CRATE, min(camera_range(CAMERAS[key], CRATE) for key in keys))


def test_many_drawings_of_one_object_are_read_spread_over_the_viewing_directions():
    from vilasr_ros.geometry.boxes import estimate_object_box

    cuboid = STOOL
    room = Room((cuboid,), x_range=(-4.0, 7.0), y_range=(-5.0, 5.0))
    cameras = [camera_for(cuboid, 0, 2.0 + 0.1 * i) for i in range(6)] + [camera_for(cuboid, 2, 2.5)]
    drawings = [
        (view_of(camera, room.noisy_depth(camera, NOISE, HOLES, i)), drawn_box(camera, cuboid))
        for i, camera in enumerate(cameras)
    ]
    estimate = estimate_object_box(drawings, 0.0, max_views=2)
    assert estimate.used == [0, 6]  # the largest drawing (nearest camera), then the opposite side
    assert len(estimate.views) == 2 and estimate.box.num_views == 2
    assert_meets_issue_bounds(estimate.box, cuboid, 2.0)
    assert estimate_object_box(drawings, 0.0).used == list(range(7))
    with pytest.raises(GeometryError):
        estimate_object_box(drawings, 0.0, max_views=0)
