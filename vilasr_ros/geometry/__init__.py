"""Geometry: what the model drew, as metric facts in the robot's frames.

Boxes and lines in model coordinates are mapped back to source-image pixels,
lifted to 3D with depth, intrinsics (undistorted) and the keyframe's camera
pose, fused per label across keyframes, and measured (sizes, distances,
range and bearing from the robot base, REP 103). Plain Python (numpy,
OpenCV), no ROS. Entry point: :func:`estimate_drawings`.

Modules: ``camera`` (pixels, depth pixels, undistorted rays), ``depth``
(robust depth of a region), ``transforms`` (range and bearing; rigid
transforms themselves are ``vilasr_ros.core.poses``), ``lifting`` (one
drawing on one keyframe -> one estimate), ``fusion`` (views -> fused
estimates, distances), ``object_points`` (an object's depth points, floor
and background separated), ``boxes`` (gravity-aligned 3D boxes, gaps,
approach poses), ``objects`` (a query's objects as boxes), ``estimates``
(the result types), ``pipeline`` (the entry point).
"""

from vilasr_ros.geometry.errors import GeometryError
from vilasr_ros.geometry.estimates import (
    OBJECT,
    PATH,
    EstimationResult,
    ObjectDistance,
    SkippedDrawing,
    SpatialEstimate,
)
from vilasr_ros.geometry.pipeline import estimate_drawings, final_drawings

__all__ = [
    "OBJECT",
    "PATH",
    "EstimationResult",
    "GeometryError",
    "ObjectDistance",
    "SkippedDrawing",
    "SpatialEstimate",
    "estimate_drawings",
    "final_drawings",
]
