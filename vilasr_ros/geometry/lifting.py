"""One drawing on one keyframe -> one estimate: a box becomes an object, a line a path.

Coordinates flow model (resized image) -> source-image pixels -> depth pixels
for sampling, and source pixels -> undistorted rays -> camera optical frame ->
target frame (the keyframe's pose) -> robot base (REP 103) for range and
bearing. Missing depth, intrinsics or pose degrade the estimate (flags and a
note); unusable coordinates skip the drawing with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics, Frame, depth_problem
from vilasr_ros.core.conversation import Box, ConversationImage, Line
from vilasr_ros.core.poses import Pose, RigidTransform
from vilasr_ros.geometry.camera import (
    back_project,
    distortion_problem,
    model_to_source_px,
    pixels_to_rays,
    source_to_depth_px,
)
from vilasr_ros.geometry.depth import DepthRange, DepthReading, region_depth, segment_endpoint_depths
from vilasr_ros.geometry.estimates import NO_PIXELS, OBJECT, PATH, UNKNOWN_3D, SkippedDrawing, SpatialEstimate
from vilasr_ros.geometry.transforms import Polar, polar_optical, polar_rep103, ray_direction_optical

UNIFORM_TO_SIGMA = 1.0 / math.sqrt(12.0)  # 1-sigma of a uniform quantisation step


@dataclass(frozen=True)
class LiftingSettings:
    """How drawings are lifted to 3D (from :class:`GeometryConfig`), and the robot base to measure from."""

    target_frame: str  # frame of every valid_3d position
    limits: DepthRange
    inner_box_fraction: float
    min_valid_fraction: float
    endpoint_radius: float  # fraction of the depth image width
    base_from_target: RigidTransform | None  # base_frame <- target frame, when the base pose is known
    base_frame: str


@dataclass(frozen=True)
class KeyframeView:
    """A keyframe, checked once for what its drawings can use."""

    frame: Frame
    source_size: tuple[int, int]  # colour image width, height
    depth_m: np.ndarray | None  # float32 metres, NaN = no reading; None when unusable
    depth_quantum: float  # metres per depth unit (uint16 depth), 0 for float depth
    intrinsics: CameraIntrinsics | None  # None when missing or unusable
    camera_to_target: RigidTransform | None  # target <- camera optical frame; None without a usable pose
    notes: tuple[str, ...]  # why depth, intrinsics or pose are missing


def keyframe_problem(frame: Frame) -> str | None:
    """Why no drawing on ``frame`` can be estimated at all (an unusable colour image), or None."""
    rgb = frame.rgb
    if not isinstance(rgb, np.ndarray) or rgb.ndim not in (2, 3) or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        return f"the keyframe's colour image is unusable ({getattr(rgb, 'shape', type(rgb).__name__)})"
    return None


def prepare_keyframe(frame: Frame, target_frame: str) -> KeyframeView:
    """Check ``frame``'s depth, intrinsics and pose once; unusable parts become None with a note."""
    height, width = frame.rgb.shape[:2]
    notes: list[str] = []
    depth_m, quantum = _usable_depth(frame, width, height, notes)
    intrinsics = _usable_intrinsics(frame.intrinsics, width, height, notes)
    camera_to_target = _usable_pose(frame.pose, target_frame, notes)
    return KeyframeView(frame, (width, height), depth_m, quantum, intrinsics, camera_to_target, tuple(notes))


def estimate_object(
    box: Box, image: ConversationImage, view: KeyframeView, settings: LiftingSettings
) -> SpatialEstimate | SkippedDrawing:
    """The object a box shows: robust depth of its inner region, back-projected centre, size, range, bearing."""
    corners_model = np.array(box.bbox_2d, dtype=np.float64).reshape(2, 2)
    if not np.isfinite(corners_model).all():
        return SkippedDrawing(box.label, OBJECT, image.index, f"non-finite box coordinates {box.bbox_2d}")
    corners = np.sort(model_to_source_px(image.mapping, corners_model), axis=0)
    width, height = view.source_size
    if corners[1, 0] < 0 or corners[0, 0] > width or corners[1, 1] < 0 or corners[0, 1] > height:
        return SkippedDrawing(box.label, OBJECT, image.index, f"box lies outside the {width}x{height} image")
    notes = list(view.notes)  # shared with the _Estimate below: later notes still reach it
    clamped = np.clip(corners, 0.0, [width, height])
    if not np.array_equal(clamped, corners):
        notes.append("box clamped to the image")
    (x1, y1), (x2, y2) = clamped
    centre = clamped.mean(axis=0)
    reading = _box_depth(view, centre, clamped[1] - clamped[0], settings, notes)
    estimate = _Estimate(box.label, OBJECT, image, view, notes, bbox_px=(x1, y1, x2, y2))
    if view.intrinsics is None:
        return estimate.two_d(Polar.unknown())
    edges = np.array([centre, (x1, centre[1]), (x2, centre[1]), (centre[0], y1), (centre[0], y2)])
    rays = pixels_to_rays(view.intrinsics, edges)
    if not np.isfinite(rays[0]).all():
        notes.append("the lens model cannot undistort the box centre")
        return estimate.two_d(Polar.unknown())
    if reading is None:
        return estimate.two_d(ray_direction_optical(rays[0], view.frame.frame_id))
    depth = reading.depth
    size = (float(depth * (rays[2, 0] - rays[1, 0])), float(depth * (rays[4, 1] - rays[3, 1])), reading.extent)
    stddev = _point_stddev(rays[0], reading, image, view)
    return estimate.object_3d(back_project(rays[0], depth)[0], size, stddev, settings)


def estimate_path(
    line: Line, image: ConversationImage, view: KeyframeView, settings: LiftingSettings
) -> SpatialEstimate | SkippedDrawing:
    """The path a line shows: 3D start and end from depth around (or along) its endpoints, length, direction."""
    ends_model = np.array([line.start_point_2d, line.end_point_2d], dtype=np.float64)
    if not np.isfinite(ends_model).all():
        return SkippedDrawing(line.label, PATH, image.index, "non-finite line coordinates")
    ends = model_to_source_px(image.mapping, ends_model)
    width, height = view.source_size
    low, high = ends.min(axis=0), ends.max(axis=0)
    if high[0] < 0 or low[0] > width or high[1] < 0 or low[1] > height:
        return SkippedDrawing(line.label, PATH, image.index, f"line lies outside the {width}x{height} image")
    notes = list(view.notes)
    clamped = np.clip(ends, 0.0, [width, height])
    if not np.array_equal(clamped, ends):
        notes.append("line clamped to the image")
    estimate = _Estimate(line.label, PATH, image, view, notes, segment_px=tuple(float(v) for v in clamped.ravel()))
    readings = _endpoint_depths(view, clamped, settings, notes)
    if view.intrinsics is None:
        return estimate.two_d(Polar.unknown())
    rays = pixels_to_rays(view.intrinsics, clamped)
    if not np.isfinite(rays).all():
        notes.append("the lens model cannot undistort the line's endpoints")
        return estimate.two_d(Polar.unknown())
    if readings is None:
        return estimate.two_d(ray_direction_optical(rays[0], view.frame.frame_id))
    start, end = (back_project(ray, reading.depth)[0] for ray, reading in zip(rays, readings))
    stddev = max(_point_stddev(ray, reading, image, view) for ray, reading in zip(rays, readings))
    return estimate.path_3d(start, end, stddev, settings)


class _Estimate:
    """Builds the :class:`SpatialEstimate` of one drawing once its geometry is known."""

    def __init__(
        self,
        label: str,
        kind: str,
        image: ConversationImage,
        view: KeyframeView,
        notes: list[str],
        bbox_px: tuple[float, ...] = NO_PIXELS,
        segment_px: tuple[float, ...] = NO_PIXELS,
    ) -> None:
        self.common = dict(
            label=label,
            kind=kind,
            image_index=image.index,
            source_index=image.source_index,
            camera=view.frame.camera,
            camera_frame_id=view.frame.frame_id,
            keyframe_stamp_ns=view.frame.stamp_ns,
            bbox_px=tuple(float(v) for v in bbox_px),
            segment_px=tuple(float(v) for v in segment_px),
        )
        self.view = view
        self.notes = notes

    def two_d(self, polar: Polar) -> SpatialEstimate:
        """No metric 3D: pixels, and the camera ray's bearing when the intrinsics are known."""
        return SpatialEstimate(
            **self.common,
            has_depth=False,
            has_pose=self.view.camera_to_target is not None,
            valid_3d=False,
            frame_id="",
            range_frame_id=polar.frame_id,
            range=polar.range,
            bearing=polar.bearing,
            elevation=polar.elevation,
            note="; ".join(self.notes),
        )

    def object_3d(
        self, centre_cam: np.ndarray, size: tuple[float, float, float], stddev: float, settings: LiftingSettings
    ) -> SpatialEstimate:
        """Metric 3D of a box: its centre in the camera optical frame, and its size."""
        return self._three_d(centre_cam, centre_cam, size, 0.0, stddev, settings)

    def path_3d(
        self, start_cam: np.ndarray, end_cam: np.ndarray, stddev: float, settings: LiftingSettings
    ) -> SpatialEstimate:
        """Metric 3D of a line: its ends in the camera optical frame."""
        length = float(np.linalg.norm(end_cam - start_cam))
        return self._three_d(start_cam, end_cam, (length, 0.0, 0.0), length, stddev, settings)

    def _three_d(
        self,
        start_cam: np.ndarray,
        end_cam: np.ndarray,
        size: tuple[float, float, float],
        length: float,
        stddev: float,
        settings: LiftingSettings,
    ) -> SpatialEstimate:
        camera_frame = self.view.frame.frame_id
        transform = self.view.camera_to_target
        if transform is None:
            start, end, frame_id, rotation = start_cam, end_cam, camera_frame, np.eye(3)
        else:
            start, end, frame_id = transform.apply(start_cam), transform.apply(end_cam), settings.target_frame
            rotation = transform.rotation
        if transform is not None and settings.base_from_target is not None:
            polar = polar_rep103(settings.base_from_target.apply(start), settings.base_frame)
        else:
            polar = polar_optical(start_cam, camera_frame)
        direction = UNKNOWN_3D
        if self.common["kind"] == PATH and length > 0:
            direction = _vector(rotation @ (end_cam - start_cam) / length)
        return SpatialEstimate(
            **self.common,
            has_depth=True,
            has_pose=transform is not None,
            valid_3d=transform is not None,
            frame_id=frame_id,
            position=_vector(start),
            end_position=_vector(end),
            size=size,
            length=length,
            direction=direction,
            range_frame_id=polar.frame_id,
            range=polar.range,
            bearing=polar.bearing,
            elevation=polar.elevation,
            stddev=stddev,
            note="; ".join(self.notes),
        )


def _vector(values: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in values)  # type: ignore[return-value]


def _box_depth(
    view: KeyframeView, centre: np.ndarray, extent: np.ndarray, settings: LiftingSettings, notes: list[str]
) -> DepthReading | None:
    """Robust depth of the box's inner region, or None (with a note) when too few readings are valid."""
    if view.depth_m is None:
        return None
    half = extent * settings.inner_box_fraction / 2.0
    inner = source_to_depth_px(np.array([centre - half, centre + half]), view.source_size, _size(view.depth_m))
    reading = region_depth(view.depth_m, (inner[0, 0], inner[1, 0]), (inner[0, 1], inner[1, 1]), settings.limits)
    if reading is None:
        notes.append("no valid depth in the box")
        return None
    if reading.valid < settings.min_valid_fraction * reading.total:
        notes.append(f"only {reading.valid} of {reading.total} depth pixels in the box are valid")
        return None
    return reading


def _endpoint_depths(
    view: KeyframeView, ends: np.ndarray, settings: LiftingSettings, notes: list[str]
) -> tuple[DepthReading, DepthReading] | None:
    """Depth at both endpoints, or None (with a note) when either has none."""
    if view.depth_m is None:
        return None
    depth_size = _size(view.depth_m)
    start, end = source_to_depth_px(ends, view.source_size, depth_size)
    radius = max(1, round(settings.endpoint_radius * depth_size[0]))
    readings = segment_endpoint_depths(view.depth_m, start, end, radius, settings.limits)
    missing = [name for name, reading in zip(("start", "end"), readings) if reading is None]
    if missing:
        notes.append(f"no valid depth at the line's {' and '.join(missing)}")
        return None
    return readings[0], readings[1]


def _point_stddev(ray: np.ndarray, reading: DepthReading, image: ConversationImage, view: KeyframeView) -> float:
    """1-sigma per axis of a back-projected point: depth spread and quantisation, and the model's pixel grid.

    The model writes integer coordinates on the resized image, one step of
    which spans ``source / resized`` source pixels.
    """
    k = view.intrinsics.k
    depth = reading.depth
    sigma_depth = math.hypot(reading.spread, view.depth_quantum * UNIFORM_TO_SIGMA)
    step_x = image.mapping.source_width / image.mapping.width * UNIFORM_TO_SIGMA / k[0, 0]
    step_y = image.mapping.source_height / image.mapping.height * UNIFORM_TO_SIGMA / k[1, 1]
    sigma_x = math.hypot(depth * step_x, ray[0] * sigma_depth)
    sigma_y = math.hypot(depth * step_y, ray[1] * sigma_depth)
    return math.sqrt((sigma_x**2 + sigma_y**2 + sigma_depth**2) / 3.0)


def _size(depth: np.ndarray) -> tuple[int, int]:
    return depth.shape[1], depth.shape[0]


def _usable_depth(frame: Frame, width: int, height: int, notes: list[str]) -> tuple[np.ndarray | None, float]:
    if frame.depth is None:
        notes.append("the keyframe has no depth")
        return None, 0.0
    problem = depth_problem(frame.depth, frame.depth_scale, width, height)
    if problem:
        notes.append(f"depth ignored: {problem}")
        return None, 0.0
    quantum = float(frame.depth_scale) if frame.depth.dtype == np.uint16 else 0.0
    return frame.depth_metres(), quantum


def _usable_intrinsics(intrinsics: object, width: int, height: int, notes: list[str]) -> CameraIntrinsics | None:
    if intrinsics is None:
        notes.append("the keyframe has no camera intrinsics")
        return None
    if not isinstance(intrinsics, CameraIntrinsics):
        notes.append(f"intrinsics ignored: expected CameraIntrinsics, got {type(intrinsics).__name__}")
        return None
    if (intrinsics.width, intrinsics.height) != (width, height):
        notes.append(
            f"intrinsics ignored: they are for {intrinsics.width}x{intrinsics.height}, the image is {width}x{height}"
        )
        return None
    problem = distortion_problem(intrinsics)
    if problem:
        notes.append(f"intrinsics ignored: {problem}")
        return None
    return intrinsics


def _usable_pose(pose: object, target_frame: str, notes: list[str]) -> RigidTransform | None:
    if pose is None:
        notes.append("the keyframe has no camera pose")
        return None
    if not isinstance(pose, Pose):
        notes.append(f"pose ignored: expected a Pose, got {type(pose).__name__}")
        return None
    if pose.frame_id != target_frame:
        notes.append(f"pose ignored: it is in {pose.frame_id!r}, not the target frame {target_frame!r}")
        return None
    return RigidTransform.from_pose(pose)
