"""The geometry layer's parts, and its behaviour on bad input (which must degrade or skip, never raise)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vilasr_ros.config import ConfigError, GeometryConfig, NodeConfig
from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.conversation import Box, ConversationImage, Line, ResizeMapping
from vilasr_ros.core.poses import Pose, RigidTransform
from vilasr_ros.geometry import OBJECT, PATH, GeometryError, SpatialEstimate, estimate_drawings, final_drawings
from vilasr_ros.geometry.camera import distortion_problem, model_to_source_px, pixels_to_rays, source_to_depth_px
from vilasr_ros.geometry.depth import DepthRange, region_depth, robust_depth, segment_endpoint_depths, window_depth
from vilasr_ros.geometry.fusion import fuse_views, object_distances
from vilasr_ros.geometry.transforms import polar_optical, polar_rep103
from vilasr_ros.keyframes.frames import Keyframe
from vilasr_ros.reasoning.images import smart_resize

LIMITS = DepthRange(0.1, 20.0)
WIDTH, HEIGHT = 320, 240
MODEL_HEIGHT, MODEL_WIDTH = smart_resize(HEIGHT, WIDTH, 351232)
MAPPING = ResizeMapping(WIDTH, HEIGHT, MODEL_WIDTH, MODEL_HEIGHT)
K = np.array([[300.0, 0.0, 159.5], [0.0, 300.0, 119.5], [0.0, 0.0, 1.0]])
PINHOLE = CameraIntrinsics(K, WIDTH, HEIGHT)
# The optical frame looking along map +x from 1 m above the origin (REP 103 <- optical axes).
LOOKING_ALONG_X = Pose.from_matrix(
    np.array([[0.0, 0.0, 1.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [0.0, -1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]), "map"
)


def wall_frame(depth=None, intrinsics=PINHOLE, pose=LOOKING_ALONG_X, depth_value: float = 2.0) -> Frame:
    """A camera facing a flat wall ``depth_value`` metres ahead (float32 depth)."""
    if depth is None:
        depth = np.full((HEIGHT, WIDTH), depth_value, np.float32)
    return Frame("cam", 5, "cam_optical", np.zeros((HEIGHT, WIDTH, 3), np.uint8), depth, 0.001, intrinsics, pose)


def drawn(boxes=(), lines=(), index: int = 2, source_index: int = 1, mapping: ResizeMapping = MAPPING):
    pixels = np.zeros((mapping.height, mapping.width, 3), np.uint8)
    return ConversationImage(index, source_index, source_index, pixels, mapping, list(boxes), list(lines))


def centred_box(label: str = "thing", half: float = 20.0) -> Box:
    cx, cy = MODEL_WIDTH / 2, MODEL_HEIGHT / 2
    return Box(label, (cx - half, cy - half, cx + half, cy + half))


# --- camera: pixels and rays -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, coefficients",
    [
        ("plumb_bob", ()),
        ("plumb_bob", (-0.2, 0.08, 0.001, -0.001, -0.02)),
        ("rational_polynomial", (0.3, -0.1, 0.001, 0.0005, 0.02, 0.4, -0.08, 0.03)),
        ("equidistant", (0.06, -0.02, 0.003, -0.001)),
    ],
)
def test_rays_invert_the_opencv_projection(model, coefficients):
    intrinsics = CameraIntrinsics(K, WIDTH, HEIGHT, coefficients, model)
    rays = np.random.default_rng(1).uniform(-0.45, 0.45, (50, 2))
    points = np.column_stack([rays, np.ones(50)]).reshape(-1, 1, 3)
    zero, distortion = np.zeros(3), np.array(coefficients, dtype=np.float64)
    if model == "equidistant":
        pixels, _ = cv2.fisheye.projectPoints(points, zero, zero, K, distortion)
    else:
        pixels, _ = cv2.projectPoints(points, zero, zero, K, distortion if coefficients else None)
    edge_pixels = pixels.reshape(-1, 2) + 0.5  # pixel centres at integers -> edge convention
    assert distortion_problem(intrinsics) is None
    np.testing.assert_allclose(pixels_to_rays(intrinsics, edge_pixels), rays, atol=1e-6)


@pytest.mark.parametrize(
    "model, coefficients, problem",
    [
        ("plumb_bob", (0.1, 0.0, 0.0), "4, 5, 8, 12 or 14"),
        ("equidistant", (0.1, 0.0), "4 coefficients"),
        ("kannala_brandt8", (0.1, 0.0, 0.0, 0.0), "unsupported distortion model"),
    ],
)
def test_lens_models_that_cannot_be_inverted_are_named(model, coefficients, problem):
    assert problem in distortion_problem(CameraIntrinsics(K, WIDTH, HEIGHT, coefficients, model))
    assert distortion_problem(CameraIntrinsics(K, WIDTH, HEIGHT, (0.0,) * 5, "anything")) is None  # no distortion


def test_model_coordinates_map_to_source_and_depth_pixels():
    mapping = ResizeMapping(1280, 720, 784, 420)
    source = model_to_source_px(mapping, np.array([[392.0, 210.0], [784.0, 420.0]]))
    np.testing.assert_allclose(source, [[640.0, 360.0], [1280.0, 720.0]])
    np.testing.assert_allclose(source_to_depth_px(source, (1280, 720), (640, 360)), [[320.0, 180.0], [640.0, 360.0]])


# --- depth ---------------------------------------------------------------------------------------------


def test_robust_depth_ignores_missing_and_out_of_range_readings():
    values = np.array([2.0, 2.02, 1.98, 2.01, np.nan, np.inf, -np.inf, 0.0, -1.0, 0.05, 25.0], np.float32)
    reading = robust_depth(values, LIMITS)
    assert reading.depth == pytest.approx(2.0, abs=0.011)
    assert (reading.valid, reading.total) == (4, 11)
    assert robust_depth(np.array([np.nan, 0.0, 30.0]), LIMITS) is None


def test_robust_spread_estimates_the_noise_and_resists_outliers():
    rng = np.random.default_rng(3)
    values = rng.normal(3.0, 0.02, 10_000)
    values[:2000] = rng.uniform(0.2, 15.0, 2000)  # 20 % wild readings
    reading = robust_depth(values, LIMITS)
    assert reading.depth == pytest.approx(3.0, abs=0.01)
    assert 0.015 < reading.spread < 0.04


def test_regions_read_pixels_whose_centres_they_cover_and_large_regions_are_subsampled():
    depth = np.tile(np.arange(10, dtype=np.float32), (10, 1)) + 1.0  # column c has depth c + 1
    assert region_depth(depth, (2.0, 5.0), (0.0, 10.0), LIMITS).depth == 4.0  # columns 2, 3, 4
    assert region_depth(depth, (3.2, 3.4), (5.0, 5.1), LIMITS).depth == 4.0  # thinner than a pixel
    assert region_depth(depth, (12.0, 14.0), (0.0, 10.0), LIMITS) is None  # outside
    assert window_depth(depth, np.array([7.5, 7.5]), 1, LIMITS).depth == 8.0
    big = np.full((2000, 2000), 1.5, np.float32)
    reading = region_depth(big, (0.0, 2000.0), (0.0, 2000.0), LIMITS)
    assert reading.depth == 1.5 and reading.total <= 20_000 * 1.1


def test_a_missing_segment_end_takes_the_depth_of_the_3d_line_through_the_segment():
    # a floor line whose image runs along a row: inverse depth is affine in the column
    columns = np.arange(200, dtype=np.float64)
    depth = np.tile((1.0 / (0.5 - 0.002 * columns)).astype(np.float32), (20, 1))  # 2 m .. 10 m
    truth = depth[10, 190]
    depth[:, 170:] = np.nan  # the end has no reading
    start, end = segment_endpoint_depths(depth, np.array([10.5, 10.5]), np.array([190.5, 10.5]), 2, LIMITS)
    assert start.depth == pytest.approx(depth[10, 10], rel=1e-3)
    assert end.depth == pytest.approx(truth, rel=0.01)


# --- transforms ---------------------------------------------------------------------------------------


def test_range_and_bearing_follow_rep_103_and_the_optical_convention():
    left = polar_rep103(np.array([1.0, 1.0, 0.0]), "base_link")
    assert left.bearing == pytest.approx(math.pi / 4) and left.range == pytest.approx(math.sqrt(2))
    assert polar_rep103(np.array([1.0, -1.0, 1.0]), "b").bearing < 0
    assert polar_rep103(np.array([1.0, 0.0, 1.0]), "b").elevation == pytest.approx(math.pi / 4)
    # optical: x right, y down, z forward; a point left of and above the camera
    seen = polar_optical(np.array([-1.0, -1.0, 1.0]), "cam")
    assert seen.bearing == pytest.approx(math.pi / 4) and seen.elevation > 0


def test_a_pose_maps_the_optical_frame_into_the_fixed_frame():
    transform = RigidTransform.from_pose(LOOKING_ALONG_X)
    # 2 m ahead of the camera, 0.5 m to its right, 0.1 m below: map x forward, -y right, z up
    np.testing.assert_allclose(transform.apply(np.array([0.5, 0.1, 2.0])), [2.0, -0.5, 0.9])
    np.testing.assert_allclose(transform.inverse().apply(transform.apply(np.eye(3))), np.eye(3), atol=1e-12)


# --- fusion --------------------------------------------------------------------------------------------


def view(label="chair", position=(1.0, 0.0, 0.0), stddev=0.02, image_index=2, source_index=1, kind=OBJECT, valid=True):
    return SpatialEstimate(
        label,
        kind,
        image_index,
        source_index,
        "cam",
        "cam_optical",
        0,
        (0.0, 0.0, 1.0, 1.0),
        (0.0,) * 4,
        has_depth=True,
        has_pose=valid,
        valid_3d=valid,
        frame_id="map" if valid else "cam_optical",
        position=position,
        end_position=position,
        size=(0.5, 0.5, 0.1),
        length=0.0,
        stddev=stddev,
    )


def measure_from_origin(position, representative):
    return polar_rep103(position, "base_link")


def test_fusion_takes_the_median_and_reports_the_spread_over_views():
    offsets = (0.0, 0.1, -0.1, 0.02, 0.6)
    views = [view(position=(1.0 + d, 0.0, 0.0), image_index=i, source_index=i) for i, d in enumerate(offsets, 2)]
    (fused,) = fuse_views(views, 1.0, measure_from_origin)
    assert fused.num_views == 5 and fused.position == pytest.approx((1.02, 0.0, 0.0))
    spread_x = 1.4826 * 0.08  # median |x - 1.02| over (0.02, 0.08, 0.12, 0, 0.58)
    assert fused.stddev == pytest.approx(math.sqrt((spread_x**2 / 3 + 0.02**2) / 5))
    assert fused.range == pytest.approx(1.02) and fused.range_frame_id == "base_link"


def test_same_label_boxes_in_one_image_and_far_apart_views_stay_separate_instances():
    views = [
        view(position=(1.0, 0.0, 0.0), image_index=2, source_index=1),
        view(position=(1.0, 2.0, 0.0), image_index=2, source_index=1),  # a second chair in the same image
        view(position=(1.1, 0.0, 0.0), image_index=3, source_index=2),
        view(position=(1.1, 2.1, 0.0), image_index=3, source_index=2),
        view(position=(8.0, 0.0, 0.0), image_index=4, source_index=3),  # farther than fusion_radius
    ]
    fused = fuse_views(views, 1.0, measure_from_origin)
    assert sorted(e.num_views for e in fused) == [1, 2, 2]
    positions = {tuple(round(v, 2) for v in e.position) for e in fused}
    assert positions == {(1.05, 0.0, 0.0), (1.05, 2.05, 0.0), (8.0, 0.0, 0.0)}


def test_a_label_without_any_3d_view_keeps_its_best_drawing_unfused():
    pixels = (0.0,) * 4
    two_d = SpatialEstimate("door", OBJECT, 3, 1, "cam", "cam_optical", 0, pixels, pixels, False, False, False, "")
    camera_only = view("door", image_index=5, source_index=2, valid=False)
    assert fuse_views([two_d, camera_only], 1.0, measure_from_origin) == [camera_only]


def test_distances_only_between_comparable_positions_with_propagated_uncertainty():
    a = view("chair", (1.0, 0.0, 0.0), 0.03)
    b = view("table", (1.0, 4.0, 0.0), 0.04, image_index=3, source_index=2)
    camera_a = view("door", (0.0, 0.0, 2.0), valid=False, source_index=1)
    camera_b = view("sofa", (0.0, 0.0, 3.0), valid=False, source_index=2)
    distances = object_distances([a, b, camera_a, camera_b])
    assert [(d.label_a, d.label_b) for d in distances] == [("chair", "table")]
    assert distances[0].distance == pytest.approx(4.0) and distances[0].stddev == pytest.approx(0.05)
    same_keyframe = object_distances([camera_a, view("lamp", (1.0, 0.0, 2.0), valid=False, source_index=1)])
    assert same_keyframe[0].distance == pytest.approx(1.0) and same_keyframe[0].frame_id == "cam_optical"


# --- the entry point on good and bad input ---------------------------------------------------------------


def test_a_wall_ahead_is_two_metres_along_map_x():
    result = estimate_drawings([drawn([centred_box()])], [wall_frame()], "map")
    estimate = result.find("thing")
    assert estimate.valid_3d and estimate.position == pytest.approx((2.0, 0.0, 1.0), abs=0.01)
    assert estimate.bearing == pytest.approx(0.0, abs=0.01) and estimate.range == pytest.approx(2.0, abs=0.01)
    assert estimate.note == ""
    keyframe = Keyframe(7, wall_frame(), "first", "first", 100.0, 1.0)  # geometry takes frames, not the store's type
    with pytest.raises(GeometryError, match="frames must be a sequence of Frame or None"):
        estimate_drawings([drawn([centred_box()])], [keyframe], "map")


def test_the_latest_drawing_of_a_label_on_each_keyframe_counts():
    first = drawn([Box("chair", (10.0, 10.0, 20.0, 20.0))], index=3)
    inherited = drawn([Box("chair", (10.0, 10.0, 20.0, 20.0)), Box("table", (30.0, 30.0, 40.0, 40.0))], index=4)
    redrawn = drawn([Box("chair", (50.0, 50.0, 60.0, 60.0))], index=5)
    other_keyframe = drawn([Box("chair", (1.0, 1.0, 2.0, 2.0))], index=6, source_index=2)
    chosen = final_drawings([redrawn, first, other_keyframe, inherited])
    assert [(image.index, item.label, item.bbox_2d[0]) for image, item in chosen] == [
        (4, "table", 30.0),
        (5, "chair", 50.0),
        (6, "chair", 1.0),
    ]


@pytest.mark.parametrize(
    "box, reason",
    [
        (Box("x", (math.nan, 1.0, 5.0, 5.0)), "non-finite"),
        (Box("x", (1.0, math.inf, 5.0, 5.0)), "non-finite"),
        (Box("x", (-50.0, -50.0, -10.0, -10.0)), "outside"),
        (Box("x", (1e6, 1.0, 2e6, 5.0)), "outside"),
    ],
)
def test_unusable_boxes_are_skipped_with_a_reason(box, reason):
    result = estimate_drawings([drawn([box])], [wall_frame()], "map")
    assert result.estimates == [] and reason in result.skipped[0].reason
    assert (result.skipped[0].label, result.skipped[0].kind, result.skipped[0].image_index) == ("x", OBJECT, 2)


def test_a_box_partly_outside_is_clamped_and_says_so():
    estimate = estimate_drawings([drawn([Box("x", (-30.0, 10.0, 40.0, 50.0))])], [wall_frame()], "map").find("x")
    assert estimate.bbox_px[0] == 0.0 and estimate.valid_3d and "clamped" in estimate.note


def test_unusable_lines_are_skipped_and_degenerate_lines_have_no_direction():
    lines = [
        Line("bad", (math.nan, 0.0), (5.0, 5.0)),
        Line("away", (-50.0, -50.0), (-10.0, 30.0)),
        Line("dot", (100.0, 100.0), (100.0, 100.0)),
    ]
    result = estimate_drawings([drawn(lines=lines)], [wall_frame()], "map")
    assert [(s.label, s.kind) for s in result.skipped] == [("bad", PATH), ("away", PATH)]
    assert "outside" in result.skipped[1].reason
    dot = result.find("dot", PATH)
    assert dot.length == 0.0 and math.isnan(dot.direction[0]) and dot.valid_3d


@pytest.mark.parametrize(
    "depth, note",
    [
        (np.full((HEIGHT, WIDTH, 3), 2.0, np.float32), "depth must be a uint16 (16UC1) or float32 (32FC1) HxW array"),
        (np.full((100, 100), 2.0, np.float32), "not registered"),
        (np.full((HEIGHT, WIDTH), 2.0, np.float64), "depth must be a uint16 (16UC1) or float32 (32FC1) HxW array"),
        (np.zeros((HEIGHT, WIDTH), np.uint16), "no valid depth in the box"),
        (np.full((HEIGHT, WIDTH), np.nan, np.float32), "no valid depth in the box"),
    ],
)
def test_unusable_depth_degrades_to_a_2d_estimate(depth, note):
    estimate = estimate_drawings([drawn([centred_box()])], [wall_frame(depth)], "map").find("thing")
    assert (estimate.has_depth, estimate.has_pose, estimate.valid_3d) == (False, True, False)
    assert note in estimate.note and estimate.bbox_px != (0.0, 0.0, 0.0, 0.0)


def test_a_mostly_invalid_box_gives_no_depth():
    depth = np.full((HEIGHT, WIDTH), np.nan, np.float32)
    depth[::4, ::4] = 2.0  # 1 in 16 readings valid, below geometry.min_valid_fraction
    estimate = estimate_drawings([drawn([centred_box()])], [wall_frame(depth)], "map").find("thing")
    assert not estimate.has_depth and "depth pixels in the box are valid" in estimate.note
    lenient = GeometryConfig(min_valid_fraction=0.05)
    lenient_result = estimate_drawings([drawn([centred_box()])], [wall_frame(depth)], "map", config=lenient)
    assert lenient_result.find("thing").has_depth


@pytest.mark.parametrize(
    "intrinsics, note",
    [
        (None, "no camera intrinsics"),
        (CameraIntrinsics(K, 640, 480), "they are for 640x480"),
        (CameraIntrinsics(K, WIDTH, HEIGHT, (0.1, 0.0, 0.0, 0.0), "kannala_brandt8"), "unsupported distortion model"),
    ],
)
def test_missing_or_unusable_intrinsics_give_pixels_only(intrinsics, note):
    estimate = estimate_drawings([drawn([centred_box()])], [wall_frame(intrinsics=intrinsics)], "map").find("thing")
    assert not estimate.has_depth and not estimate.valid_3d and note in estimate.note
    assert math.isnan(estimate.bearing) and estimate.range_frame_id == ""


def test_keyframes_that_do_not_match_their_drawings_are_skipped():
    other_size = ResizeMapping(640, 480, 616, 476)
    images = [
        drawn([Box("a", (1.0, 1.0, 5.0, 5.0))], source_index=3),
        drawn([Box("b", (1.0, 1.0, 5.0, 5.0))], mapping=other_size),
    ]
    result = estimate_drawings(images, [wall_frame(), None], "map")
    reasons = {s.label: s.reason for s in result.skipped}
    assert "no keyframe for source image 3" in reasons["a"]
    assert "resized from 640x480" in reasons["b"]
    no_frame = estimate_drawings([drawn([Box("c", (1.0, 1.0, 5.0, 5.0))])], [None], "map")
    assert no_frame.skipped[0].reason.startswith("no keyframe")


def test_a_base_pose_in_another_frame_is_ignored_with_a_note():
    odom_base = Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom")
    estimate = estimate_drawings([drawn([centred_box()])], [wall_frame()], "map", base_pose=odom_base).find("thing")
    assert estimate.valid_3d and estimate.range_frame_id == "cam_optical" and "base pose ignored" in estimate.note


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(images=[object()]), "images must be a sequence of ConversationImage"),
        (dict(images=5), "images must be a sequence"),
        (dict(frames=["frame"]), "frames must be a sequence of Frame or None"),
        (dict(target_frame=""), "target_frame"),
        (dict(base_frame=None), "base_frame"),
        (dict(base_pose=(0, 0, 0)), "base_pose"),
        (dict(config={"min_depth": 0.1}), "GeometryConfig"),
    ],
)
def test_wrong_argument_types_are_programming_errors(arguments, message):
    call = dict(images=[drawn([centred_box()])], frames=[wall_frame()], target_frame="map") | arguments
    with pytest.raises(GeometryError, match=message):
        estimate_drawings(**call)


coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-50, 400))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coordinate, coordinate, coordinate, coordinate), max_size=4))
def test_arbitrary_coordinates_never_raise(coordinates):
    boxes = [Box(f"b{i}", c) for i, c in enumerate(coordinates)]
    lines = [Line(f"l{i}", c[:2], c[2:]) for i, c in enumerate(coordinates)]
    result = estimate_drawings([drawn(boxes, lines)], [wall_frame()], "map")
    assert len(result.views) + len(result.skipped) == len(boxes) + len(lines)
    for estimate in result.views:
        assert estimate.valid_3d == math.isfinite(estimate.position[0])


# --- configuration ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, value",
    [
        ("geometry.min_depth", -0.1),
        ("geometry.max_depth", 0.05),
        ("geometry.max_depth", math.inf),
        ("geometry.inner_box_fraction", 0.0),
        ("geometry.inner_box_fraction", 1.5),
        ("geometry.min_valid_fraction", math.nan),
        ("geometry.endpoint_radius", 0.0),
        ("geometry.fusion_radius", 0.0),
    ],
)
def test_invalid_geometry_parameters_are_rejected_with_their_name(name, value):
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        NodeConfig.from_parameters({name: value})


def test_geometry_defaults():
    config = NodeConfig().geometry
    assert (config.min_depth, config.max_depth, config.inner_box_fraction) == (0.1, 20.0, 0.5)
