"""Gravity-aligned 3D boxes fitted to an object's points, the gaps between them, and where to stop in front of one.

Frames: everything is in one gravity-aligned target frame (z up). A box is
its centre, its size ``(length, width, height)`` and its yaw: ``length`` is
the horizontal extent along the box's own x axis, which points at ``yaw``
radians counter-clockwise from the target frame's x axis; ``width`` is the
other horizontal extent, ``height`` the vertical one. ``length >= width``
always, and ``yaw`` lies in ``(-pi/2, pi/2]`` (a box looks the same turned
half a turn).

The fit (:func:`fit_object_box`) MERGES the views of an object
(:class:`~vilasr_ros.geometry.object_points.ObjectPoints`, all in the target
frame) into one box; it never averages per-view boxes. The yaw is fitted to
all views' points together: the one whose robust footprint rectangle (1st to
99th percentile along both axes) the points hug most closely, searched over a
quarter turn (see :func:`_footprint_yaw`). Along the box's axes the extents
are the union of the views' robust extents (each view's 1st to 99th
percentile): a view sees part of an object, so every view's extent is
(nearly) inside the true one, and a side only one view saw is not diluted by
the other views' points. The top is the union's top. The bottom is the
supporting plane when the object stands on the floor (the lowest point that
a view with the lower part in sight saw lies within ``stand_tolerance`` of
it, or no view has the lower part in sight), else that lowest point.

Uncertainty: the centre's covariance adds, per box axis, each side's
variance (one depth reading's noise at the range of the view that set the
side, the quantisation of its sample spacing, a percentile's sampling error over that view's n points,
``extent^2 p (1 - p) / n``, and a model error of 3 % of the extent divided
by the number of views), a quarter of the two sides' sum per axis, and
the scatter of the views' own box centres (each view's extents along the
fused axes) about the fused centre divided by the number of views. It grows
with range, with fewer points and with disagreeing views.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vilasr_ros.geometry.errors import GeometryError
from vilasr_ros.geometry.object_points import DEFAULT_SETTINGS, DepthView, ObjectPoints, ObjectSettings, object_points

EXTENT_PERCENTILE = 1.0  # extents are the 1st to 99th percentile of the points along each axis
YAW_SAMPLES = 800  # points the yaw search reads (a regular subsample of all views')
COARSE_YAW_STEP = math.radians(3.0)
FINE_YAW_STEP = math.radians(0.5)
MIN_POINTS = 20  # fewer points than this make no box
MIN_VIEW_POINTS = 10  # a view with fewer points is left out
MIN_CLOSENESS = 0.01  # metres: the yaw search treats points nearer than this to a side as on it
SHAPE_FRACTION = 0.03  # a side's model error (a real object is no perfect box, a far side is seen edge-on), per view
MAX_VIEWS = 8  # drawings of one object read at most (spread over viewing directions; more add time, hardly accuracy)
FULL_VIEWS = 3  # an object read in up to this many views samples each with settings.max_samples
MIN_VIEW_SAMPLES = 300  # the least samples per view when the budget is shared
FLOOR_SIGMA = 0.01  # metres, 1-sigma of a bottom taken from the floor estimate
FOOTPRINT_PERCENTILE = 5.0  # a view's robust footprint spans the 5th to 95th percentile of its points' x and y
FACING_COSINE = math.cos(math.radians(45.0))  # views look at each other when within this of the line between them


@dataclass(frozen=True)
class ObjectBox:
    """An object as a gravity-aligned box in the target frame, with its uncertainty and how it was seen."""

    centre: tuple[float, float, float]
    size: tuple[float, float, float]  # length >= width (horizontal), height; metres
    yaw: float  # radians about z of the length axis, in (-pi/2, pi/2]
    covariance: np.ndarray  # 3x3 covariance of the centre, m^2
    size_stddev: tuple[float, float, float]  # 1-sigma of length, width, height, metres
    surface_point: tuple[float, float, float] | None  # visible surface under the 2D box centre (nearest view)
    seen_from: tuple[float, float, float]  # mean position of the cameras that saw it
    on_floor: bool  # the bottom is the supporting plane
    num_views: int
    num_points: int

    @property
    def stddev(self) -> float:
        """1-sigma centre uncertainty per axis, metres: sqrt(trace(covariance) / 3)."""
        return float(math.sqrt(max(np.trace(self.covariance), 0.0) / 3.0))

    @property
    def bottom(self) -> float:
        return self.centre[2] - self.size[2] / 2.0

    @property
    def top(self) -> float:
        return self.centre[2] + self.size[2] / 2.0

    def footprint(self) -> np.ndarray:
        """The four xy corners, counter-clockwise, (4, 2)."""
        half_length, half_width = self.size[0] / 2.0, self.size[1] / 2.0
        local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * (half_length, half_width)
        return local @ _rotation_2d(self.yaw).T + np.array(self.centre[:2])

    def corners(self) -> np.ndarray:
        """The eight corners, (8, 3): the footprint at the bottom, then at the top."""
        footprint = self.footprint()
        return np.vstack(
            [np.column_stack([footprint, np.full(4, self.bottom)]), np.column_stack([footprint, np.full(4, self.top)])]
        )


@dataclass(frozen=True)
class BoxDistance:
    """How far apart two boxes are, metres."""

    centre: float  # centre to centre
    gap: float  # closest distance between the two boxes' volumes, 0 when they touch or overlap
    stddev: float  # 1-sigma of the centre distance (both centres' covariances along the line between them)
    gap_stddev: float  # 1-sigma of the gap (adds half of each size's uncertainty along that line)


@dataclass(frozen=True)
class ApproachPose:
    """Where a robot stops in front of an object: on the floor, facing the box, in the target frame."""

    x: float
    y: float
    z: float  # the floor's height when known, else the box's bottom
    yaw: float  # radians about z; the robot's x axis points at the box's centre

    def quaternion(self) -> tuple[float, float, float, float]:
        """Orientation as x, y, z, w (a rotation about z)."""
        return (0.0, 0.0, math.sin(self.yaw / 2.0), math.cos(self.yaw / 2.0))


def fit_object_box(
    views: Sequence[ObjectPoints], floor_z: float | None, settings: ObjectSettings = DEFAULT_SETTINGS
) -> ObjectBox | None:
    """One box from the merged points of every view of one object; None when they hold too few points."""
    seen = [views[index] for index in consistent_views(views, settings)]
    total = sum(len(view.points) for view in seen)
    if total < MIN_POINTS:
        return None
    stride = max(1, math.ceil(total / YAW_SAMPLES))
    footprint = np.concatenate([view.points[::stride, :2] for view in seen])
    ranges = [view.median_range for view in seen]
    closeness = max(MIN_CLOSENESS, float(settings.range_sigma(np.median(ranges))) / 2.0)
    yaw = _footprint_yaw(footprint, closeness)
    rotation = np.eye(3)
    rotation[:2, :2] = _rotation_2d(yaw)
    extents = [_extents(view.points, rotation) for view in seen]
    lows, highs = np.array([low for low, _ in extents]), np.array([high for _, high in extents])
    low, high = lows.min(axis=0), highs.max(axis=0)  # the union of the views' robust extents
    sees_bottom = np.array([not view.bottom_hidden for view in seen])
    lowest = float(lows[sees_bottom, 2].min()) if sees_bottom.any() else math.nan
    on_floor = floor_z is not None and (not sees_bottom.any() or abs(lowest - floor_z) <= settings.stand_tolerance)
    if on_floor:
        low[2] = floor_z
    elif sees_bottom.any():
        low[2] = lowest
    centre_local = (low + high) / 2.0
    size = high - low

    # Each side's variance: one reading's noise and a percentile's sampling error, from the view that set it.
    counts = np.array([len(view.points) for view in seen], dtype=np.float64)
    share = EXTENT_PERCENTILE / 100.0 * (1.0 - EXTENT_PERCENTILE / 100.0)
    spacing = np.array([view.sample_spacing for view in seen])
    view_variance = (
        settings.range_sigma(np.array(ranges))[:, None] ** 2
        + spacing[:, None] ** 2 / 12.0
        + size[None, :] ** 2 * share / counts[:, None]
        + (SHAPE_FRACTION * size[None, :]) ** 2 / len(seen)
    )
    axes = np.arange(3)
    low_variance = view_variance[lows.argmin(axis=0), axes]
    high_variance = view_variance[highs.argmax(axis=0), axes]
    if on_floor:
        low_variance[2] = FLOOR_SIGMA**2
    size_variance = low_variance + high_variance
    covariance = rotation @ np.diag(size_variance / 4.0) @ rotation.T
    if len(seen) > 1:  # disagreeing views: the scatter of each view's own box about the fused one
        view_lows = lows.copy()
        view_lows[:, 2] = low[2] if on_floor else view_lows[:, 2]
        offsets = ((view_lows + highs) / 2.0 - centre_local) @ rotation.T
        covariance = covariance + offsets.T @ offsets / (len(seen) - 1) / len(seen)
        size_variance = size_variance + np.var(highs - view_lows, axis=0, ddof=1) / len(seen)

    centre = rotation @ centre_local
    length, width, height = (float(v) for v in size)
    size_stddev = np.sqrt(size_variance)
    if length < width:
        length, width = width, length
        yaw += math.pi / 2.0
        size_stddev = size_stddev[[1, 0, 2]]
    nearest = min(
        (view for view in seen if view.surface_point is not None),
        key=lambda view: view.median_range,
        default=None,
    )
    return ObjectBox(
        centre=_vector(centre),
        size=(length, width, height),
        yaw=_half_turn(yaw),
        covariance=covariance,
        size_stddev=_vector(size_stddev),
        surface_point=None if nearest is None else _vector(nearest.surface_point),
        seen_from=_vector(np.mean([view.camera_position for view in seen], axis=0)),
        on_floor=bool(on_floor),
        num_views=len(seen),
        num_points=int(total),
    )


def consistent_views(views: Sequence[ObjectPoints], settings: ObjectSettings = DEFAULT_SETTINGS) -> list[int]:
    """Indices of the views :func:`fit_object_box` merges: those with at least MIN_VIEW_POINTS points that
    show the same thing as most of the points do.

    A view can pick the wrong surface (an occluder that covers most of the
    box, another object drawn with the same label); merging it would stretch
    the box over both objects. The views are grouped by their robust
    footprints (:func:`view_groups`); the group with the most points is kept.
    """
    usable = [index for index, view in enumerate(views) if len(view.points) >= MIN_VIEW_POINTS]
    if len(usable) < 2:
        return usable
    groups = view_groups([views[index] for index in usable], settings.view_agreement)
    kept = max(groups, key=lambda group: sum(len(views[usable[i]].points) for i in group))
    return [usable[i] for i in kept]


def view_groups(
    views: Sequence[ObjectPoints], agreement: float, instances: Sequence[int] | None = None
) -> list[list[int]]:
    """Indices of ``views`` (each with points) grouped by the object they show.

    Two views agree when their robust footprints, the boxes between the 5th
    and 95th percentiles of their points' x and y, lie at most ``agreement``
    metres apart (0 when they overlap): each view sees part of an object, and
    two views from opposite corners of a large object have footprints that
    overlap, though their points' medians lie far apart. Two views that face
    each other across a wider gap (each looks within 45 degrees of the line
    across it, towards the other) agree too when the gap is no wider than
    either footprint is long: they see opposite faces of one object, whose
    depth lies hidden between them. Groups are formed transitively, the
    closest pairs first; views with the same ``instances`` entry (drawings on
    one keyframe: two same-label boxes in one image are two objects) never
    share a group. Groups come in order of their first view.
    """
    bounds = [_quantiles(view.points[:, :2], FOOTPRINT_PERCENTILE) for view in views]
    parent = list(range(len(views)))
    members = [set() if instances is None else {instances[index]} for index in range(len(views))]

    def root(index: int) -> int:
        while parent[index] != index:
            index = parent[index]
        return index

    pairs = []
    for i in range(len(views)):
        for j in range(i + 1, len(views)):
            gap = footprint_gap(bounds[i], bounds[j])
            if gap <= agreement or _facing(views[i], bounds[i], views[j], bounds[j]):
                pairs.append((gap, i, j))
    for _, i, j in sorted(pairs):
        a, b = root(i), root(j)
        if a != b and not members[a] & members[b]:
            first, second = min(a, b), max(a, b)
            parent[second] = first
            members[first] |= members[second]
    groups: dict[int, list[int]] = {}
    for index in range(len(views)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def _facing(
    a: ObjectPoints, a_bounds: tuple[np.ndarray, np.ndarray], b: ObjectPoints, b_bounds: tuple[np.ndarray, np.ndarray]
) -> bool:
    """Whether two views look at each other across the gap between their footprints, no wider than either
    footprint's longer side."""
    (a_low, a_high), (b_low, b_high) = a_bounds, b_bounds
    across = np.where(b_low > a_high, b_low - a_high, np.where(a_low > b_high, b_high - a_low, 0.0))  # a -> b
    gap = float(np.linalg.norm(across))
    if gap == 0.0 or gap > min(float(np.max(a_high - a_low)), float(np.max(b_high - b_low))):
        return False
    looks = []
    for view, low, high in ((a, a_low, a_high), (b, b_low, b_high)):
        look = (low + high) / 2.0 - np.asarray(view.camera_position, dtype=np.float64)[:2]
        norm = float(np.linalg.norm(look))
        looks.append(look / norm if norm > 0 else look)
    return bool(looks[0] @ across / gap >= FACING_COSINE and -looks[1] @ across / gap >= FACING_COSINE)


def footprint_gap(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Distance between two axis-aligned xy boxes given as (low, high) corners, 0 when they overlap."""
    separation = np.maximum(0.0, np.maximum(b[0] - a[1], a[0] - b[1]))
    return float(np.linalg.norm(separation))


def box_distance(a: ObjectBox, b: ObjectBox) -> BoxDistance:
    """Centre-to-centre distance and the closest gap between two boxes (exact for yawed boxes).

    The gap is the distance between the two footprints (convex polygons in
    xy: 0 when they overlap) combined with the gap between the height
    intervals: ``sqrt(gap_xy^2 + gap_z^2)``, which is exact for vertical prisms.
    """
    offset = np.subtract(b.centre, a.centre)
    centre = float(np.linalg.norm(offset))
    direction = offset / centre if centre > 0 else np.zeros(3)
    variance = float(direction @ (a.covariance + b.covariance) @ direction)
    gap_xy = _polygon_distance(a.footprint(), b.footprint())
    gap_z = max(0.0, a.bottom - b.top, b.bottom - a.top)
    size_variance = sum(_size_variance_along(box, direction) for box in (a, b)) / 4.0
    return BoxDistance(
        centre=centre,
        gap=float(math.hypot(gap_xy, gap_z)),
        stddev=math.sqrt(variance),
        gap_stddev=math.sqrt(variance + size_variance),
    )


def approach_pose(box: ObjectBox, standoff: float, floor_z: float | None = None) -> ApproachPose:
    """A pose on the floor ``standoff`` metres from the box's footprint, facing the box's centre.

    It lies on the line from the box's centre towards where the cameras saw
    it from (:attr:`ObjectBox.seen_from`), so a robot reaches the side it
    has seen; when the cameras stood right above the centre, it faces the
    box's length side. Its height is the floor's, ``floor_z``, when known
    (also for an object that does not stand on it, such as a wall cabinet),
    else the box's bottom.
    """
    if not (math.isfinite(standoff) and standoff >= 0.0):
        raise GeometryError(f"standoff must be a non-negative number of metres, got {standoff!r}")
    centre = np.array(box.centre[:2])
    towards = np.array(box.seen_from[:2]) - centre
    if np.linalg.norm(towards) < 1e-6:
        towards = _rotation_2d(box.yaw) @ np.array([0.0, 1.0])
    towards = towards / np.linalg.norm(towards)
    local = _rotation_2d(box.yaw).T @ towards
    half = np.array(box.size[:2]) / 2.0
    low, high = 0.0, float(np.linalg.norm(half)) + standoff + 1.0
    for _ in range(60):  # distance to the footprint grows monotonically along the ray
        middle = (low + high) / 2.0
        outside = np.maximum(np.abs(middle * local) - half, 0.0)
        if not outside.any() or np.linalg.norm(outside) < standoff:
            low = middle
        else:
            high = middle
    x, y = centre + high * towards
    z = box.bottom if floor_z is None else floor_z
    return ApproachPose(float(x), float(y), float(z), math.atan2(-towards[1], -towards[0]))


def _footprint_yaw(xy: np.ndarray, closeness: float) -> float:
    """The yaw in [0, pi/2) whose robust footprint rectangle the points of ``xy`` hug most closely.

    The L-shape fit's closeness criterion: for each candidate yaw, the robust
    extents along the two axes make a rectangle, and the score sums
    ``1 / max(d, closeness)`` over the points, ``d`` being a point's distance
    to the rectangle's nearest side. Visible faces lie on the sides at the
    true yaw only. (A least-area rectangle cannot tell a two-face L from its
    diagonal: both rectangles have the same area.)
    """
    stride = max(1, len(xy) // YAW_SAMPLES)
    xy = xy[::stride] - xy.mean(axis=0)

    def scores(yaws: np.ndarray) -> np.ndarray:
        cos, sin = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
        nearest = np.minimum(
            _side_distance(cos * xy[:, 0] + sin * xy[:, 1]), _side_distance(-sin * xy[:, 0] + cos * xy[:, 1])
        )
        return (1.0 / np.maximum(nearest, closeness)).sum(axis=1)

    coarse = np.arange(0.0, math.pi / 2.0, COARSE_YAW_STEP)
    best = coarse[int(np.argmax(scores(coarse)))]
    fine = best + np.arange(-COARSE_YAW_STEP, COARSE_YAW_STEP + 1e-9, FINE_YAW_STEP)
    return float(fine[int(np.argmax(scores(fine)))] % (math.pi / 2.0))


def _side_distance(values: np.ndarray) -> np.ndarray:
    """Per row, each value's distance to the nearer end of the row's 1st to 99th percentile range (0 outside)."""
    count = values.shape[1]
    low = round(EXTENT_PERCENTILE / 100.0 * (count - 1))
    high = count - 1 - low
    ordered = np.partition(values, (low, high), axis=1)
    return np.maximum(np.minimum(values - ordered[:, low : low + 1], ordered[:, high : high + 1] - values), 0.0)


def _extents(points: np.ndarray, rotation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 1st / 99th percentiles of the points along the box's axes (``rotation``: target <- box)."""
    return _quantiles(points @ rotation, EXTENT_PERCENTILE)


def _quantiles(values: np.ndarray, percent: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the ``percent`` and ``100 - percent`` percentiles (nearest rank), quicker than np.percentile."""
    low = round(percent / 100.0 * (len(values) - 1))
    high = len(values) - 1 - low
    ordered = np.partition(values, (low, high), axis=0)
    return ordered[low].copy(), ordered[high].copy()


def _polygon_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between two convex polygons (corners in order), 0 when they overlap."""
    if not _separated(a, b):
        return 0.0
    return min(
        min(_point_segment(point, q, r) for q, r in zip(other, np.roll(other, -1, axis=0)) for point in polygon)
        for polygon, other in ((a, b), (b, a))
    )


def _separated(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex polygons."""
    for polygon in (a, b):
        for start, end in zip(polygon, np.roll(polygon, -1, axis=0)):
            normal = np.array([start[1] - end[1], end[0] - start[0]])
            if (a @ normal).max() < (b @ normal).min() or (b @ normal).max() < (a @ normal).min():
                return True
    return False


def _point_segment(point: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    segment = end - start
    length = float(segment @ segment)
    t = 0.0 if length == 0 else min(1.0, max(0.0, float((point - start) @ segment) / length))
    return float(np.linalg.norm(point - (start + t * segment)))


def _size_variance_along(box: ObjectBox, direction: np.ndarray) -> float:
    """Variance of the box's extent along a unit direction, from its size uncertainties."""
    local = np.array([*(_rotation_2d(box.yaw).T @ direction[:2]), direction[2]])
    return float(np.sum((local * np.array(box.size_stddev)) ** 2))


def _rotation_2d(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _half_turn(angle: float) -> float:
    """The same axis direction as ``angle``, in (-pi/2, pi/2]."""
    wrapped = (angle + math.pi / 2.0) % math.pi - math.pi / 2.0
    return math.pi / 2.0 if wrapped == -math.pi / 2.0 else wrapped


def _vector(values: np.ndarray) -> tuple[float, float, float]:
    return tuple(float(v) for v in values)  # type: ignore[return-value]


@dataclass(frozen=True)
class ObjectEstimate:
    """One object's box from its drawings, with the per-view points it was built from."""

    box: ObjectBox | None  # None when no view holds enough of the object
    views: list[ObjectPoints]  # one per drawing used, in the order given (empty ones included)
    used: list[int]  # indices into the drawings given, of those read (at most ``max_views``)


def estimate_object_box(
    drawings: Sequence[tuple[DepthView, Sequence[float]]],
    floor_z: float | None,
    settings: ObjectSettings = DEFAULT_SETTINGS,
    max_views: int = MAX_VIEWS,
) -> ObjectEstimate:
    """The box of one object drawn on several keyframes: its points on each, merged into one box.

    ``drawings`` pairs each keyframe's :class:`DepthView` with the box drawn
    on it (x_min, y_min, x_max, y_max, drawn-on image pixels). With more
    than ``max_views`` drawings, those read are spread over the directions
    the object was seen from: the largest drawing first, then each time the
    one whose viewing direction differs most from those already taken (the
    larger drawing on ties), so the cost per object stays bounded.
    """
    if max_views < 1:
        raise GeometryError(f"max_views must be at least 1, got {max_views}")
    used = spread_views(drawings, max_views)
    per_view = view_settings(settings, len(used))
    views = [object_points(drawings[index][0], drawings[index][1], floor_z, per_view) for index in used]
    return ObjectEstimate(fit_object_box(views, floor_z, settings), views, used)


def view_settings(settings: ObjectSettings, views: int) -> ObjectSettings:
    """``settings`` for each of ``views`` views of one object: the sample budget of FULL_VIEWS views is
    shared among them (at least MIN_VIEW_SAMPLES each, never more than ``settings.max_samples``), so an
    object seen in many keyframes costs about as much as one seen in three."""
    shared = settings.max_samples * FULL_VIEWS // max(FULL_VIEWS, views)
    return dataclasses.replace(settings, max_samples=min(settings.max_samples, max(MIN_VIEW_SAMPLES, shared)))


def spread_views(drawings: Sequence[tuple[DepthView, Sequence[float]]], count: int) -> list[int]:
    """Indices of up to ``count`` drawings whose viewing directions (horizontal) differ most, largest first."""
    if len(drawings) <= count:
        return list(range(len(drawings)))
    bearings, areas = [], []
    for view, box in drawings:
        x1, y1, x2, y2 = (float(v) for v in box)
        ray = view.rays(np.array([[(x1 + x2) / 2.0, (y1 + y2) / 2.0]]))[0]
        direction = view.rotation @ np.array([ray[0], ray[1], 1.0]) if np.isfinite(ray).all() else np.zeros(3)
        bearings.append(math.atan2(direction[1], direction[0]))
        areas.append(abs((x2 - x1) * (y2 - y1)) if math.isfinite(x1 + x2 + y1 + y2) else 0.0)
    bearings_array, areas_array = np.array(bearings), np.array(areas)
    chosen = [int(np.argmax(areas_array))]
    while len(chosen) < count:
        difference = np.abs(np.angle(np.exp(1j * (bearings_array[:, None] - bearings_array[chosen][None, :]))))
        spread = difference.min(axis=1)
        spread[chosen] = -1.0
        best = np.flatnonzero(spread >= spread.max() - 1e-9)
        chosen.append(int(best[np.argmax(areas_array[best])]))
    return sorted(chosen)
