"""Fusing views of one label from several keyframes, and distances between objects.

Only ``valid_3d`` views (positions in the target frame) are fused. Views of a
label and kind are clustered greedily, most certain first: a view joins the
nearest cluster whose fused position lies within ``fusion_radius`` (paths: both
ends) and holds no other view from the same keyframe (two same-label boxes in
one image are two instances). A cluster becomes one estimate: the per-axis
median of its positions, with ``stddev = sqrt((spread^2 + s^2) / n)``, where
``spread`` is the views' robust scatter (1.4826 * MAD per axis, RMS over the
axes), ``s`` the median per-view stddev and ``n = num_views``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from vilasr_ros.geometry.boxes import ObjectBox, box_distance
from vilasr_ros.geometry.depth import MAD_TO_SIGMA
from vilasr_ros.geometry.estimates import OBJECT, PATH, ObjectDistance, SpatialEstimate
from vilasr_ros.geometry.transforms import Polar

# Range, bearing and elevation of a target-frame position, seen from the base or the given view's camera.
Measure = Callable[[np.ndarray, SpatialEstimate], Polar]
MAX_DISTANCE_OBJECTS = 32  # pairwise distances are given among this many objects at most (496 pairs)


def fuse_views(views: Sequence[SpatialEstimate], fusion_radius: float, measure: Measure) -> list[SpatialEstimate]:
    """One estimate per label and kind and distinct instance, in order of first appearance.

    A label with no ``valid_3d`` view keeps the views of its best drawing
    (depth first, then the latest image) unfused, with ``num_views`` 1; views
    that are not ``valid_3d`` do not enter the fusion of a label that has
    ``valid_3d`` views.
    """
    return [fused for fused, _ in fuse_clusters(views, fusion_radius, measure)]


def fuse_clusters(
    views: Sequence[SpatialEstimate], fusion_radius: float, measure: Measure
) -> list[tuple[SpatialEstimate, list[SpatialEstimate]]]:
    """:func:`fuse_views`, each fused estimate with the views it was fused from."""
    groups: dict[tuple[str, str], list[SpatialEstimate]] = {}
    for view in views:
        groups.setdefault((view.label, view.kind), []).append(view)
    fused: list[tuple[SpatialEstimate, list[SpatialEstimate]]] = []
    for group in groups.values():
        in_target = [view for view in group if view.valid_3d]
        if not in_target:
            best = max(group, key=lambda view: (view.has_depth, view.image_index))
            fused.extend((view, [view]) for view in group if view.image_index == best.image_index)
            continue
        for cluster in _clusters(in_target, fusion_radius):
            fused.append((cluster[0] if len(cluster) == 1 else _fuse(cluster, measure), cluster))
    return fused


def object_distances(
    estimates: Sequence[SpatialEstimate], boxes: Mapping[int, ObjectBox] | None = None
) -> list[ObjectDistance]:
    """Distances between every two objects whose positions are comparable, among the first
    :data:`MAX_DISTANCE_OBJECTS` objects with depth (in estimate order): at most
    ``32 * 31 / 2 = 496`` pairs, so a response stays small whatever the model drew.

    Comparable: both ``valid_3d`` (same target frame), or both from the same
    keyframe with depth (camera frame). When both have a box (``boxes``, by
    estimate index) the distance is between the box centres and the gap between
    the boxes is given; else between the positions, with uncertainty
    ``sqrt(stddev_a^2 + stddev_b^2)``.
    """
    boxes = boxes or {}
    objects = [(index, e) for index, e in enumerate(estimates) if e.kind == OBJECT and e.has_depth]
    objects = objects[:MAX_DISTANCE_OBJECTS]
    distances = []
    for (index_a, a), (index_b, b) in itertools.combinations(objects, 2):
        same_frame = a.valid_3d and b.valid_3d and a.frame_id == b.frame_id
        same_keyframe = not (a.valid_3d or b.valid_3d) and a.source_index == b.source_index
        if not (same_frame or same_keyframe):
            continue
        if index_a in boxes and index_b in boxes:
            between = box_distance(boxes[index_a], boxes[index_b])
            distances.append(
                ObjectDistance(
                    a.label,
                    b.label,
                    index_a,
                    index_b,
                    between.centre,
                    between.stddev,
                    a.frame_id,
                    between.gap,
                    between.gap_stddev,
                )
            )
            continue
        distance = float(np.linalg.norm(np.subtract(a.position, b.position)))
        stddev = math.hypot(a.stddev, b.stddev)
        distances.append(ObjectDistance(a.label, b.label, index_a, index_b, distance, stddev, a.frame_id))
    return distances


def _clusters(views: list[SpatialEstimate], fusion_radius: float) -> list[list[SpatialEstimate]]:
    clusters: list[list[SpatialEstimate]] = []
    for view in sorted(views, key=_certainty):
        best, best_separation = None, math.inf
        for cluster in clusters:
            if any(member.source_index == view.source_index for member in cluster):
                continue
            separation = _separation(view, cluster)
            if separation <= fusion_radius and separation < best_separation:
                best, best_separation = cluster, separation
        if best is None:
            clusters.append([view])
        else:
            best.append(view)
    return sorted(clusters, key=lambda cluster: min(member.image_index for member in cluster))


def _certainty(view: SpatialEstimate) -> float:
    return view.stddev if math.isfinite(view.stddev) else math.inf


def _separation(view: SpatialEstimate, cluster: list[SpatialEstimate]) -> float:
    start = np.median([member.position for member in cluster], axis=0)
    separation = float(np.linalg.norm(np.subtract(view.position, start)))
    if view.kind == PATH:
        end = np.median([member.end_position for member in cluster], axis=0)
        separation = max(separation, float(np.linalg.norm(np.subtract(view.end_position, end))))
    return separation


def _fuse(cluster: list[SpatialEstimate], measure: Measure) -> SpatialEstimate:
    representative = min(cluster, key=_certainty)  # its pixels, image and camera stand for the fused estimate
    starts = np.array([view.position for view in cluster])
    start = np.median(starts, axis=0)
    spread = _spread(starts, start)
    stddevs = [view.stddev for view in cluster if math.isfinite(view.stddev)]
    per_view = float(np.median(stddevs)) if stddevs else math.nan
    if representative.kind == PATH:
        ends = np.array([view.end_position for view in cluster])
        end = np.median(ends, axis=0)
        spread = max(spread, _spread(ends, end))
        length = float(np.linalg.norm(end - start))
        direction = tuple(float(v) for v in (end - start) / length) if length > 0 else (math.nan,) * 3
        size = (length, 0.0, 0.0)
    else:
        end, length, direction = start, 0.0, representative.direction
        sizes = np.array([view.size for view in cluster], dtype=np.float64)
        size = tuple(float(v) for v in _nan_median(sizes))
    polar = measure(start, representative)
    images = ", ".join(str(view.image_index) for view in sorted(cluster, key=lambda view: view.image_index))
    return dataclasses.replace(
        representative,
        position=tuple(float(v) for v in start),
        end_position=tuple(float(v) for v in end),
        size=size,
        length=length,
        direction=direction,
        range_frame_id=polar.frame_id,
        range=polar.range,
        bearing=polar.bearing,
        elevation=polar.elevation,
        stddev=math.sqrt((spread**2 + per_view**2) / len(cluster)),
        num_views=len(cluster),
        note=f"fused from images {images}",
    )


def _spread(points: np.ndarray, centre: np.ndarray) -> float:
    """Robust per-axis scatter of points about their median, RMS over the axes (metres)."""
    per_axis = MAD_TO_SIGMA * np.median(np.abs(points - centre), axis=0)
    return float(math.sqrt(np.mean(per_axis**2)))


def _nan_median(values: np.ndarray) -> np.ndarray:
    """Per-column median over the finite values (NaN where a column has none)."""
    finite = [column[np.isfinite(column)] for column in values.T]
    return np.array([np.median(column) if column.size else math.nan for column in finite])
