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

from vilasr_ros.geometry.boxes import MAX_VIEWS, ObjectBox, approach_pose, fit_object_box, spread_views, view_settings
from vilasr_ros.geometry.camera import pixels_to_rays
from vilasr_ros.geometry.estimates import OBJECT, SpatialEstimate
from vilasr_ros.geometry.lifting import KeyframeView
from vilasr_ros.geometry.object_points import (
    DepthView,
    ObjectPoints,
    ObjectSettings,
    estimate_floor_z,
    object_points,
)


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
    radius: float,
) -> tuple[list[SpatialEstimate], dict[int, ObjectBox]]:
    """The fused estimates, objects with a box where their views allow one; and the boxes by estimate index.

    The views of one label are grouped by where their object points lie, not by the surface under the
    box centre (which an occluder or the background can take): the views within ``radius`` of the
    median of all views' point medians are one object, and so on for the rest. A group with fewer than
    half the views of the label's largest group is dropped as views that caught something else (they stay
    in ``EstimationResult.views``). Each object keeps the fused estimate that shares most views with it,
    with one box fitted to all its views' points.
    """
    views = {
        index: view
        for index, keyframe in keyframes.items()
        if isinstance(keyframe, KeyframeView) and (view := depth_view(keyframe)) is not None
    }
    floor_z = estimate_floor_z(list(views.values()), settings) if views else None
    candidates: dict[str, list[tuple[int, SpatialEstimate]]] = {}
    for number, (estimate, members) in enumerate(fused):
        if estimate.kind == OBJECT and estimate.valid_3d:
            candidates.setdefault(estimate.label, []).extend((number, m) for m in members if m.source_index in views)
    by_label: dict[str, list[tuple[int, SpatialEstimate, ObjectPoints]]] = {}
    for label, members in candidates.items():
        # At most MAX_VIEWS per label, spread over the directions it was seen from, sharing one sample budget.
        used = spread_views([(views[member.source_index], member.bbox_px) for _, member in members], MAX_VIEWS)
        per_view = view_settings(settings, len(used))
        for number, member in (members[index] for index in used):
            lifted = object_points(views[member.source_index], member.bbox_px, floor_z, per_view)
            if not lifted.empty:
                by_label.setdefault(label, []).append((number, member, lifted))
    chosen: dict[int, tuple[list[SpatialEstimate], list[ObjectPoints]]] = {}  # fused number -> its object's views
    replaced: set[int] = set()  # fused object estimates whose views went to an object (kept or dropped)
    for lifted in by_label.values():
        replaced.update(number for number, _, _ in lifted)
        groups = _object_groups([points for _, _, points in lifted], radius)
        largest = max(len(group) for group in groups)
        for group in groups:
            if 2 * len(group) < largest:
                continue
            owners = [lifted[i][0] for i in group]
            owner = max(set(owners), key=owners.count)
            chosen[owner] = ([lifted[i][1] for i in group], [lifted[i][2] for i in group])
    estimates: list[SpatialEstimate] = []
    boxes: dict[int, ObjectBox] = {}
    for number, (estimate, _) in enumerate(fused):
        if number in replaced and number not in chosen:
            continue
        if number in chosen:
            members, points = chosen[number]
            if len(members) > 1:
                images = ", ".join(str(index) for index in sorted({member.image_index for member in members}))
                estimate = dataclasses.replace(estimate, num_views=len(members), note=f"fused from images {images}")
            box = fit_object_box(points, floor_z, settings)
            if box is not None:
                boxes[len(estimates)] = box
                estimate = with_box(estimate, box, standoff)
        estimates.append(estimate)
    return estimates, boxes


def _object_groups(views: Sequence[ObjectPoints], radius: float) -> list[list[int]]:
    """Indices of ``views`` grouped by object: those within ``radius`` of the median of the remaining views'
    point medians, repeatedly."""
    centres = [np.median(view.points, axis=0) for view in views]
    remaining = list(range(len(views)))
    groups: list[list[int]] = []
    while remaining:
        consensus = np.median([centres[i] for i in remaining], axis=0)
        near = [i for i in remaining if np.linalg.norm(centres[i] - consensus) <= radius] or remaining[:1]
        groups.append(near)
        remaining = [i for i in remaining if i not in near]
    return groups


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
