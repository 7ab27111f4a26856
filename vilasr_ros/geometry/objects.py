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
import math
from collections.abc import Sequence

import numpy as np

from vilasr_ros.geometry.boxes import (
    MAX_VIEWS,
    ObjectBox,
    approach_pose,
    consistent_views,
    fit_object_box,
    spread_views,
    view_groups,
    view_settings,
)
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
) -> tuple[list[SpatialEstimate], dict[int, ObjectBox]]:
    """The fused estimates, objects with a box where their views allow one; and the boxes by estimate index.

    The views of one label are grouped by where their object points lie, not by the surface under the
    box centre (which an occluder or the background can take, and which lies on opposite faces for views
    from opposite sides): by how close their robust footprints are (:func:`~vilasr_ros.geometry.boxes.
    view_groups`, ``settings.view_agreement``), two views from one keyframe never in one group. A group
    with fewer than half the views of the label's largest group is dropped as views that caught something
    else (they stay in ``EstimationResult.views``). Each object, largest group first, keeps the fused
    estimate that shares most views with it and is not yet taken, or else stands on its most certain view;
    its box is fitted to its views' points, and ``num_views`` and the note count the views the box used.
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
    # The query's keyframes share one sample budget (the time per object stays bounded however many there are).
    per_view = view_settings(settings, min(MAX_VIEWS, len(views)))
    by_label: dict[str, list[tuple[int, SpatialEstimate, ObjectPoints]]] = {}
    for label, members in candidates.items():
        # At most MAX_VIEWS per label, spread over the directions it was seen from.
        used = spread_views([(views[member.source_index], member.bbox_px) for _, member in members], MAX_VIEWS)
        for number, member in (members[index] for index in used):
            lifted = object_points(views[member.source_index], member.bbox_px, floor_z, per_view)
            if not lifted.empty:
                by_label.setdefault(label, []).append((number, member, lifted))
    owned: dict[int, list[list[tuple[int, SpatialEstimate, ObjectPoints]]]] = {}  # fused number -> its objects
    replaced: set[int] = set()  # fused object estimates whose views went to objects (kept or dropped)
    for lifted in by_label.values():
        replaced.update(number for number, _, _ in lifted)
        groups = view_groups(
            [points for _, _, points in lifted], settings.view_agreement, [m.source_index for _, m, _ in lifted]
        )
        groups.sort(key=len, reverse=True)
        taken: set[int] = set()
        for group in groups:
            if 2 * len(group) < len(groups[0]):
                continue
            owners = [lifted[i][0] for i in group]
            free = [number for number in owners if number not in taken]
            owner = max(free, key=owners.count) if free else owners[0]  # a taken owner: the group stands alone
            taken.add(owner)
            owned.setdefault(owner, []).append([lifted[i] for i in group])
    estimates: list[SpatialEstimate] = []
    boxes: dict[int, ObjectBox] = {}
    for number, (estimate, _) in enumerate(fused):
        if number not in owned:
            if number not in replaced:
                estimates.append(estimate)
            continue
        for rank, group in enumerate(owned[number]):
            base = estimate if rank == 0 else min((member for _, member, _ in group), key=_certainty)
            object_estimate, box = _object_estimate(base, group, floor_z, settings, standoff)
            if box is not None:
                boxes[len(estimates)] = box
            estimates.append(object_estimate)
    return estimates, boxes


def _object_estimate(
    base: SpatialEstimate,
    group: list[tuple[int, SpatialEstimate, ObjectPoints]],
    floor_z: float | None,
    settings: ObjectSettings,
    standoff: float,
) -> tuple[SpatialEstimate, ObjectBox | None]:
    """``base`` with the box fitted to the group's points; ``num_views`` and the note count the views used."""
    points = [lifted for _, _, lifted in group]
    used = consistent_views(points, settings)
    box = fit_object_box([points[i] for i in used], floor_z, settings)
    members = [group[i][1] for i in used] if box is not None else [member for _, member, _ in group]
    images = sorted({member.image_index for member in members})
    note = f"fused from images {', '.join(str(index) for index in images)}" if len(members) > 1 else base.note
    estimate = dataclasses.replace(base, num_views=len(members), note=note)
    return (estimate if box is None else with_box(estimate, box, standoff, floor_z)), box


def _certainty(view: SpatialEstimate) -> float:
    return view.stddev if math.isfinite(view.stddev) else math.inf


def with_box(
    estimate: SpatialEstimate, box: ObjectBox, standoff: float, floor_z: float | None = None
) -> SpatialEstimate:
    """``estimate`` with ``box``, its covariance and the approach pose ``standoff`` metres in front of it (on the
    floor ``floor_z`` when known)."""
    approach = approach_pose(box, standoff, floor_z)
    return dataclasses.replace(
        estimate,
        box_center=tuple(float(v) for v in box.centre),
        box_size=tuple(float(v) for v in box.size),
        box_yaw=float(box.yaw),
        box_covariance=tuple(float(v) for v in np.asarray(box.covariance, dtype=np.float64).ravel()),
        on_floor=bool(box.on_floor),
        approach=(approach.x, approach.y, approach.z, approach.yaw),
    )
