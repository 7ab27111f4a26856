"""The objects a query's boxes show, as gravity-aligned 3D boxes in the target frame.

For every fused object estimate, the depth pixels inside each of its views'
boxes are lifted (:mod:`~vilasr_ros.geometry.object_points`: floor, background
and occluders separated), the views' points are merged in the target frame,
and one box is fitted to them (:mod:`~vilasr_ros.geometry.boxes`); the
estimate gains the box, its uncertainty and an approach pose. Views need
depth, intrinsics and a camera pose in the target frame (``valid_3d``);
the target frame must be gravity-aligned (z up: ``map``, ``odom``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from vilasr_ros.geometry.boxes import ObjectBox, approach_pose, fit_object_box
from vilasr_ros.geometry.camera import pixels_to_rays
from vilasr_ros.geometry.estimates import OBJECT, SpatialEstimate
from vilasr_ros.geometry.lifting import KeyframeView
from vilasr_ros.geometry.object_points import DepthView, ObjectSettings, estimate_floor_z, object_points


def depth_view(keyframe: KeyframeView) -> DepthView | None:
    """What the object geometry needs of a keyframe, or None without depth, intrinsics or a target-frame pose."""
    if keyframe.depth_m is None or keyframe.intrinsics is None or keyframe.camera_to_target is None:
        return None
    intrinsics = keyframe.intrinsics
    distorted = any(intrinsics.distortion)
    return DepthView(
        depth_m=keyframe.depth_m,
        k=intrinsics.k,
        image_size=keyframe.source_size,
        rotation=keyframe.camera_to_target.rotation,
        translation=keyframe.camera_to_target.translation,
        to_rays=(lambda pixels: pixels_to_rays(intrinsics, pixels)) if distorted else None,
    )


def object_boxes(
    fused: Sequence[tuple[SpatialEstimate, list[SpatialEstimate]]],
    keyframes: dict[int, KeyframeView | str],
    settings: ObjectSettings,
    standoff: float,
) -> tuple[list[SpatialEstimate], dict[int, ObjectBox]]:
    """The fused estimates, objects with a box where their views allow one; and the boxes by estimate index."""
    views = {
        index: view
        for index, keyframe in keyframes.items()
        if isinstance(keyframe, KeyframeView) and (view := depth_view(keyframe)) is not None
    }
    floor_z = estimate_floor_z(list(views.values()), settings) if views else None
    estimates: list[SpatialEstimate] = []
    boxes: dict[int, ObjectBox] = {}
    for estimate, members in fused:
        box = None
        if estimate.kind == OBJECT and estimate.valid_3d:
            points = [
                object_points(views[member.source_index], member.bbox_px, floor_z, settings)
                for member in members
                if member.source_index in views
            ]
            box = fit_object_box([p for p in points if not p.empty], floor_z, settings) if points else None
        if box is not None:
            boxes[len(estimates)] = box
            estimate = with_box(estimate, box, standoff)
        estimates.append(estimate)
    return estimates, boxes


def with_box(estimate: SpatialEstimate, box: ObjectBox, standoff: float) -> SpatialEstimate:
    """``estimate`` with ``box``, its covariance and the approach pose ``standoff`` metres in front of it."""
    approach = approach_pose(box, standoff)
    return dataclasses.replace(
        estimate,
        box_center=tuple(float(v) for v in box.centre),
        box_size=tuple(float(v) for v in box.size),
        box_yaw=float(box.yaw),
        box_covariance=tuple(float(v) for v in np.asarray(box.covariance, dtype=np.float64).ravel()),
        on_floor=bool(box.on_floor),
        approach=(approach.x, approach.y, approach.z, approach.yaw),
    )
