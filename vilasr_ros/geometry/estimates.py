"""What the geometry layer produces: per-drawing estimates, distances and skipped drawings.

The fields of :class:`SpatialEstimate` mirror ``msg/SpatialEstimate.msg`` one
to one (``kind`` as a string, ``keyframe_stamp_ns`` as integer nanoseconds),
plus ``direction`` and ``note``, so the ROS conversion is a field copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vilasr_ros.core.poses import Pose, quaternion_from_yaw

OBJECT = "object"  # a box the model drew (SpatialEstimate.KIND_OBJECT)
PATH = "path"  # a line the model drew (SpatialEstimate.KIND_PATH)

Vector3 = tuple[float, float, float]
UNKNOWN_3D: Vector3 = (math.nan, math.nan, math.nan)
NO_PIXELS = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SpatialEstimate:
    """One object (box) or path (line) the model drew, in source-image pixels and, when possible, in 3D.

    Frames: ``position``, ``end_position`` and ``direction`` are in
    ``frame_id``, which is

    - the target frame (``map``) when ``valid_3d``: depth, intrinsics and a
      camera pose in the target frame were all available;
    - the keyframe's camera optical frame when ``has_depth`` but not
      ``has_pose`` (``valid_3d`` is False: the point is metric but not in the
      target frame, and views from different keyframes cannot be compared);
    - ``""`` without depth or intrinsics: every 3D field is NaN (2D only).

    ``has_depth`` is True when depth was used: valid readings in the box's
    inner region (or at both path ends) and intrinsics to back-project them.

    ``position`` is the object's visible surface under the box centre (the
    box centre's ray at the robust depth of the box's inner region): an
    object's volumetric centre lies behind it by about half its depth. Paths:
    ``position`` is the start, ``end_position`` the end. ``size`` is
    (width, height) across the view at that depth and the visible depth
    extent along it for objects, ``(length, 0, 0)`` for paths. ``range``,
    ``bearing`` and ``elevation`` are of ``position`` from
    ``range_frame_id``: the robot base (REP 103) when its pose was given and
    the estimate is ``valid_3d``, else the camera (optical frame, bearing
    about the camera's vertical); without depth, the camera ray's bearing and
    elevation with a NaN range. ``stddev`` is the 1-sigma position
    uncertainty per axis, metres (sqrt of the covariance trace / 3). Unused
    pixel arrays (``segment_px`` of an object, ``bbox_px`` of a path) are zeros.

    Objects with depth and a pose also get the object itself as a
    gravity-aligned box in the target frame (``has_box``): ``box_center``,
    ``box_size`` (length along the box's own x axis >= width, height; metres),
    ``box_yaw`` (radians about the target frame's z, in (-pi/2, pi/2]),
    ``box_covariance`` (the centre's 3x3 covariance, row-major, m^2),
    ``on_floor`` (its bottom is the supporting plane) and ``approach``: where a
    robot stops in front of it (x, y, z on the floor, yaw facing the box), on the
    side the cameras saw it from, ``geometry.approach_standoff`` from the box.
    """

    label: str
    kind: str  # OBJECT or PATH
    image_index: int  # conversation index of the drawn image (1-based)
    source_index: int  # conversation index of the keyframe it was drawn on (1-based)
    camera: str
    camera_frame_id: str
    keyframe_stamp_ns: int
    bbox_px: tuple[float, float, float, float]  # objects: x_min, y_min, x_max, y_max in source-image pixels
    segment_px: tuple[float, float, float, float]  # paths: x_start, y_start, x_end, y_end in source-image pixels
    has_depth: bool
    has_pose: bool
    valid_3d: bool
    frame_id: str
    position: Vector3 = UNKNOWN_3D
    end_position: Vector3 = UNKNOWN_3D
    size: Vector3 = UNKNOWN_3D
    length: float = math.nan  # paths, metres (objects: 0)
    direction: Vector3 = UNKNOWN_3D  # paths: unit vector start -> end in frame_id (objects: NaN)
    range_frame_id: str = ""
    range: float = math.nan
    bearing: float = math.nan
    elevation: float = math.nan
    stddev: float = math.nan
    num_views: int = 1
    note: str = ""  # why the estimate is degraded (no depth, no pose, clamped box, ...), empty when it is not
    box_center: Vector3 = UNKNOWN_3D
    box_size: Vector3 = UNKNOWN_3D
    box_yaw: float = math.nan
    box_covariance: tuple[float, ...] = ()  # 9 values, row-major, when has_box
    on_floor: bool = False
    approach: tuple[float, float, float, float] = (math.nan,) * 4  # x, y, z, yaw in frame_id

    @property
    def has_box(self) -> bool:
        return len(self.box_covariance) == 9

    @property
    def approach_pose(self) -> Pose | None:
        """``approach`` as a pose in ``frame_id`` (what the message's ``approach_pose`` carries), or None
        when there is no approach (NaN)."""
        x, y, z, yaw = self.approach
        if not all(math.isfinite(value) for value in self.approach):
            return None
        return Pose((x, y, z), quaternion_from_yaw(yaw), self.frame_id)


@dataclass(frozen=True)
class ObjectDistance:
    """How far apart two estimated objects are, metres, with 1-sigma uncertainties.

    ``distance`` is centre to centre: between the boxes' centres when both have
    a box, else between their positions (visible surfaces). ``gap`` is the
    closest distance between the two boxes (0 when they touch or overlap; NaN
    without boxes): what a robot passing between them has.
    """

    label_a: str
    label_b: str
    index_a: int  # position of the first object in EstimationResult.estimates
    index_b: int
    distance: float
    stddev: float
    frame_id: str  # the frame both positions are in
    gap: float = math.nan
    gap_stddev: float = math.nan


@dataclass(frozen=True)
class SkippedDrawing:
    """A box or line that produced no estimate, and why."""

    label: str
    kind: str
    image_index: int
    reason: str


@dataclass(frozen=True)
class EstimationResult:
    """A query's estimates: fused (one per label, kind and distinct instance), per view, and between objects."""

    estimates: list[SpatialEstimate] = field(default_factory=list)
    views: list[SpatialEstimate] = field(default_factory=list)  # one per drawing, before fusion
    distances: list[ObjectDistance] = field(default_factory=list)
    skipped: list[SkippedDrawing] = field(default_factory=list)

    def find(self, label: str, kind: str = OBJECT) -> SpatialEstimate | None:
        """The estimate of ``label`` (the first, when several instances carry it)."""
        return next((e for e in self.estimates if e.label == label and e.kind == kind), None)
