"""One drawn box on one keyframe -> the 3D points of the object it shows, in a gravity-aligned target frame.

Plain numpy and OpenCV on plain arrays (no keyframe, drawing or reasoning
types), so any caller can feed it. Conventions:

- The target frame has z up (gravity-aligned, e.g. ``map`` or ``odom``); the
  floor, when known, is the plane ``z = floor_z``.
- Depth is metres along the optical axis, registered to the image the box was
  drawn on (same view, possibly another resolution); NaN, inf and readings
  outside ``[min_depth, max_depth]`` are holes.
- Pixels use the edge convention (pixel ``(i, j)`` spans ``[i, i + 1)``), the
  camera matrix puts pixel centres at integers (sensor_msgs/CameraInfo), and
  rays are normalised optical-frame coordinates ``(x / z, y / z)``.

How the object is told apart (:func:`object_points`): the depth pixels whose
centres lie in the box are read on a regular sub-grid of at most
``max_samples`` samples, each the median of its ``(2 r + 1)^2``
neighbourhood (this fills holes and lowers noise; a median keeps depth edges
where they are). Samples are lifted into the target frame. Those within
``max(floor_margin, 2 sigma_z)`` of the floor (or below it) are the
supporting plane. The others split into surfaces (connected components,
4-neighbour) wherever neighbouring samples' depths jump. Jumps are found on
inverse depth, which changes linearly across the image on any plane: a step
is a jump when it departs from the neighbouring steps by more than
``max(min_edge_gap, edge_gap * depth)`` (in inverse depth), so a face seen at a
grazing angle, whose depth steps grow along it, stays whole, and so does a
fold between two faces. A one-sample band around every jump keeps noise from
leaving gaps in a silhouette; the chosen surface takes back the band samples
it reaches without crossing a jump.

The drawn box is the object's full extent, so the object is the NEAREST
surface whose own extent spans the box, side by side within
``side_tolerance`` of the box's width or height, where a side may also be cut
short by something nearer (an occluder), the floor, the image border or holes,
but not by something farther (the background). The background spans the box
too but lies behind the object; an occluder is nearer but its extent stops
where the object shows past it. Known limits: an object hidden behind an
occluder over most of its box is not found (the occluder is taken), and a
side face seen within about 15 degrees of edge-on gives too few samples to
measure the object's depth along it (an object taller than the camera, whose
top is not in view, then comes out too thin).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from vilasr_ros.geometry.errors import GeometryError

# Image pixels (N, 2), edge convention -> undistorted normalised rays (N, 2); NaN where the lens cannot invert.
RayFunction = Callable[[np.ndarray], np.ndarray]

FLOOR_BIN = 0.02  # metres, histogram bin of the floor search
FLOOR_SAMPLES = 4000  # depth pixels read per view to find the floor
MIN_FLOOR_SHARE = 0.03  # a horizontal plane needs this share of the samples to be the floor
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
EXTENT_PERCENTILE = 10  # a surface's extent towards a side: this percentile of its rows' (columns') reach
BORDER_GAP_SHARE = 0.6  # a step at the box's edge is a jump from this share of the edge gap


@dataclass(frozen=True)
class DepthView:
    """One keyframe as the object geometry needs it: depth, the camera model, and the camera pose.

    ``k`` and ``image_size`` describe the image the boxes are drawn on
    (the colour image); ``depth_m`` may have another resolution with the same
    aspect ratio. ``rotation`` and ``translation`` map camera optical-frame
    points into the target frame (``p_target = rotation @ p_camera +
    translation``). ``to_rays`` undistorts; None means an ideal pinhole ``k``.
    """

    depth_m: np.ndarray  # (H, W) float metres along the optical axis
    k: np.ndarray  # 3x3 camera matrix of the drawn-on image
    image_size: tuple[int, int]  # drawn-on image width, height
    rotation: np.ndarray  # 3x3, target <- camera optical frame
    translation: np.ndarray  # 3, the camera's optical centre in the target frame
    to_rays: RayFunction | None = None

    def __post_init__(self) -> None:
        depth = np.asarray(self.depth_m)
        if depth.ndim != 2 or 0 in depth.shape or not np.issubdtype(depth.dtype, np.floating):
            raise GeometryError(f"depth must be a non-empty HxW float array of metres, got {depth.dtype} {depth.shape}")
        k = np.asarray(self.k, dtype=np.float64)
        if k.shape != (3, 3) or not np.isfinite(k).all() or k[0, 0] <= 0 or k[1, 1] <= 0:
            raise GeometryError(f"k must be a finite 3x3 camera matrix with positive focal lengths, got {self.k!r}")
        width, height = self.image_size
        if width <= 0 or height <= 0:
            raise GeometryError(f"image_size must be positive (width, height), got {self.image_size}")
        rotation = np.asarray(self.rotation, dtype=np.float64)
        if rotation.shape != (3, 3) or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6):
            raise GeometryError("rotation must be a 3x3 rotation matrix (target <- camera optical frame)")
        translation = np.asarray(self.translation, dtype=np.float64).reshape(-1)
        if translation.shape != (3,) or not np.isfinite(translation).all():
            raise GeometryError(f"translation must be 3 finite numbers, got {self.translation!r}")
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "rotation", rotation)
        object.__setattr__(self, "translation", translation)

    def grid_rays(self, pixel_x: np.ndarray, pixel_y: np.ndarray) -> np.ndarray:
        """Rays of the grid of pixels ``pixel_x`` x ``pixel_y`` (edge convention), row-major, (rows * columns, 2)."""
        rays = np.empty((len(pixel_y), len(pixel_x), 2))
        if self.to_rays is None:  # separable
            rays[:, :, 0] = (pixel_x - 0.5 - self.k[0, 2]) / self.k[0, 0]
            rays[:, :, 1] = ((pixel_y - 0.5 - self.k[1, 2]) / self.k[1, 1])[:, None]
            return rays.reshape(-1, 2)
        rays[:, :, 0] = pixel_x
        rays[:, :, 1] = pixel_y[:, None]
        return self.rays(rays.reshape(-1, 2))

    def rays(self, pixels: np.ndarray) -> np.ndarray:
        """Image pixels (N, 2), edge convention -> normalised rays (N, 2)."""
        pixels = np.reshape(pixels, (-1, 2)).astype(np.float64)
        if self.to_rays is not None:
            return np.reshape(self.to_rays(pixels), (-1, 2))
        return (pixels - 0.5 - self.k[:2, 2]) / np.array([self.k[0, 0], self.k[1, 1]])


@dataclass(frozen=True)
class ObjectSettings:
    """How objects are separated from floor and background, and the depth noise model (for the box fit too)."""

    min_depth: float = 0.1
    max_depth: float = 10.0
    range_noise: float = 0.01  # 1-sigma depth noise as a fraction of the range
    depth_noise: float = 0.003  # plus this, metres (quantisation, calibration)
    max_samples: int = 3000  # samples read per view inside the box (a regular sub-grid)
    median_radius: int = 2  # each sample is the median of (2 r + 1)^2 depth pixels
    edge_gap: float = 0.02  # a neighbour this fraction of the depth ...
    min_edge_gap: float = 0.03  # ... or these metres (the larger) off the surface's continuation lies on another
    floor_margin: float = 0.03  # metres: points less than max(this, 2 sigma_z) above the floor belong to it
    side_tolerance: float = 0.15  # fraction of the box's width / height a surface's extent may fall short by
    min_surface: float = 0.03  # fraction of the box's non-floor samples a surface needs to be considered
    stand_tolerance: float = 0.15  # metres: an object whose lowest point is this close to the floor stands on it
    view_agreement: float = 0.3  # metres two views' robust footprints may lie apart and still show one object

    def __post_init__(self) -> None:
        if not 0 < self.min_depth < self.max_depth:
            raise GeometryError(f"need 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}")
        if self.max_samples < 16:
            raise GeometryError(f"max_samples must be at least 16, got {self.max_samples}")
        if self.median_radius not in (0, 1, 2):
            raise GeometryError(f"median_radius must be 0, 1 or 2 (OpenCV's float median), got {self.median_radius}")
        if min(self.range_noise, self.depth_noise, self.edge_gap, self.min_edge_gap) < 0:
            raise GeometryError("noise and edge gaps must be non-negative")
        if self.floor_margin < 0 or self.stand_tolerance < 0 or self.view_agreement < 0:
            raise GeometryError("floor margin, stand tolerance and view agreement must be non-negative")

    def range_sigma(self, ranges: np.ndarray | float) -> np.ndarray:
        """1-sigma noise of a single depth reading along its ray, metres."""
        return np.hypot(self.depth_noise, self.range_noise * np.asarray(ranges, dtype=np.float64))


DEFAULT_SETTINGS = ObjectSettings()


@dataclass(frozen=True)
class ObjectPoints:
    """The object one box shows on one keyframe: its points in the target frame and how they were seen."""

    points: np.ndarray  # (N, 3) target frame; (0, 3) when the box shows no object
    ranges: np.ndarray  # (N,) metres from the camera to each point
    camera_position: np.ndarray  # (3,) the camera's optical centre, target frame
    surface_point: np.ndarray | None  # (3,) the object's visible surface under the box centre
    bottom_hidden: bool  # the object's lower part is out of view or behind something nearer
    occluded_fraction: float  # share of the box's samples covered by surfaces in front of the object
    floor_fraction: float  # share of the box's samples on the floor
    median_range: float = math.nan  # metres, of the points
    sample_spacing: float = 0.0  # metres between neighbouring samples at the points' median range
    note: str = ""  # why there are no points, empty otherwise
    box_px: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))  # as drawn, clipped

    @property
    def empty(self) -> bool:
        return len(self.points) == 0


def object_points(
    view: DepthView,
    box_px: Sequence[float],
    floor_z: float | None,
    settings: ObjectSettings = DEFAULT_SETTINGS,
) -> ObjectPoints:
    """The 3D points of the object inside ``box_px`` (x_min, y_min, x_max, y_max; drawn-on image pixels).

    ``floor_z`` is the supporting plane's height in the target frame (see
    :func:`estimate_floor_z`), or None when unknown (no floor separation).
    Never raises on bad data: a box off the image or without depth gives
    empty points and a note.
    """
    box = np.asarray(box_px, dtype=np.float64).reshape(-1)
    if box.shape != (4,):
        raise GeometryError(f"box_px must be 4 numbers (x_min, y_min, x_max, y_max), got {box_px!r}")
    width, height = view.image_size
    if not np.isfinite(box).all():
        return _empty(view, (0.0,) * 4, "non-finite box")
    (x1, x2), (y1, y2) = sorted(box[[0, 2]]), sorted(box[[1, 3]])
    clipped = (max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height)))
    grid = _sample_grid(view, clipped, settings)
    if grid is None:
        return _empty(view, clipped, "the box covers no depth pixel")
    pixel_x, pixel_y, depth = grid
    shape = depth.shape
    pixel_step = (pixel_x[1] - pixel_x[0]) if len(pixel_x) > 1 else width / view.depth_m.shape[1]
    rays = view.grid_rays(pixel_x, pixel_y)
    depth = depth.ravel()
    if view.to_rays is not None:
        depth[~np.isfinite(rays[:, 0])] = np.nan
    valid = np.count_nonzero(~np.isnan(depth))
    if valid == 0:
        return _empty(view, clipped, "no valid depth in the box")
    rotation, translation = view.rotation, view.translation
    up = rays @ rotation[2, :2] + rotation[2, 2]  # target-frame z of the direction (x/z, y/z, 1)
    norms = np.sqrt(1.0 + (rays * rays).sum(axis=1))
    ranges = depth * norms
    floor_count = 0
    if floor_z is not None:
        margin = np.maximum(settings.floor_margin, 2.0 * settings.range_sigma(ranges) * np.abs(up) / norms)
        with np.errstate(invalid="ignore"):
            floor = depth * up + translation[2] < floor_z + margin
        floor_count = int(np.count_nonzero(floor))
        depth = np.where(floor, np.nan, depth)
    floor_fraction = floor_count / valid
    if floor_count == valid:
        return _empty(view, clipped, "the box shows only the floor", floor_fraction)
    surfaces = _Surfaces(depth.reshape(shape), settings)
    chosen = surfaces.choose()
    if chosen is None:
        return _empty(view, clipped, "no surface in the box is large enough", floor_fraction)
    selected = np.flatnonzero(surfaces.with_rim(chosen).ravel())
    chosen_depth, chosen_rays = depth[selected], rays[selected]
    optical = np.column_stack([chosen_rays * chosen_depth[:, None], chosen_depth])
    rows, columns = np.divmod(selected, shape[1])
    median_range = float(np.median(ranges[selected]))
    out_of_view = clipped[3] >= height - 1.0 and rows[-1] == shape[0] - 1
    return ObjectPoints(
        points=optical @ rotation.T + translation,
        ranges=ranges[selected],
        camera_position=translation,
        surface_point=_surface_point(view, clipped, pixel_x[columns], pixel_y[rows], chosen_depth),
        bottom_hidden=bool(surfaces.bottom_hidden(chosen) or out_of_view),
        occluded_fraction=surfaces.nearer_area(chosen) / valid,
        floor_fraction=floor_fraction,
        median_range=median_range,
        sample_spacing=median_range * pixel_step / view.k[0, 0],
        box_px=clipped,
    )


def estimate_floor_z(views: Sequence[DepthView], settings: ObjectSettings = DEFAULT_SETTINGS) -> float | None:
    """The floor's height in the target frame (z up) from whole depth images, or None when none shows a floor.

    The floor is the lowest horizontal plane that holds at least 3 % of the
    samples: the lowest peak of a 2 cm histogram of the samples' heights,
    refined to the median height near it. Assumes the floor is in view
    somewhere (a camera looking slightly down).
    """
    heights = []
    for view in views:
        depth_height, depth_width = view.depth_m.shape
        stride = max(1, math.ceil(math.sqrt(depth_height * depth_width / FLOOR_SAMPLES)))
        rows = np.arange(stride // 2, depth_height, stride)
        columns = np.arange(stride // 2, depth_width, stride)
        depth = view.depth_m[rows[:, None], columns].astype(np.float64).ravel()
        scale_x, scale_y = view.image_size[0] / depth_width, view.image_size[1] / depth_height
        rays = view.grid_rays((columns + 0.5) * scale_x, (rows + 0.5) * scale_y)
        with np.errstate(invalid="ignore"):
            keep = (depth >= settings.min_depth) & (depth <= settings.max_depth) & np.isfinite(rays[:, 0])
        up = rays[keep] @ view.rotation[2, :2] + view.rotation[2, 2]
        heights.append(depth[keep] * up + view.translation[2])
    z = np.concatenate(heights) if heights else np.empty(0)
    if z.size < 50:
        return None
    low, high = np.percentile(z, (0.5, 99.5))
    if high - low < FLOOR_BIN:
        return None
    edges = np.arange(low - FLOOR_BIN, high + 2 * FLOOR_BIN, FLOOR_BIN)
    counts = np.convolve(np.histogram(z, edges)[0], (1.0, 2.0, 1.0), mode="same") / 4.0
    peaks = [
        i
        for i in range(1, len(counts) - 1)
        if counts[i] >= counts[i - 1] and counts[i] >= counts[i + 1] and counts[i] >= MIN_FLOOR_SHARE * z.size
    ]
    if not peaks:
        return None
    centre = (edges[peaks[0]] + edges[peaks[0] + 1]) / 2.0
    return float(np.median(z[np.abs(z - centre) <= 1.5 * FLOOR_BIN]))


def _empty(view: DepthView, box: tuple, note: str, floor_fraction: float = 0.0) -> ObjectPoints:
    return ObjectPoints(
        points=np.empty((0, 3)),
        ranges=np.empty(0),
        camera_position=view.translation,
        surface_point=None,
        bottom_hidden=False,
        occluded_fraction=0.0,
        floor_fraction=floor_fraction,
        note=note,
        box_px=tuple(float(v) for v in box),
    )


def _sample_grid(
    view: DepthView, box: tuple[float, float, float, float], settings: ObjectSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The box's sample grid: its pixels' x (columns) and y (rows) in the drawn-on image (edge convention), and
    the median-filtered depth there, (rows, columns) float64 with NaN for no reading; None when it is empty.

    The grid steps ``stride`` depth pixels; the median runs over the depth
    image read every ``step = stride // 2`` pixels (every pixel for strides
    1 to 3), so a large box costs no more than a small one.
    """
    depth_m = view.depth_m
    depth_height, depth_width = depth_m.shape
    scale_x, scale_y = view.image_size[0] / depth_width, view.image_size[1] / depth_height
    first_column, stop_column = _span(box[0] / scale_x, box[2] / scale_x, depth_width)
    first_row, stop_row = _span(box[1] / scale_y, box[3] / scale_y, depth_height)
    if stop_column <= first_column or stop_row <= first_row:
        return None
    count = (stop_column - first_column) * (stop_row - first_row)
    stride = max(1, math.ceil(math.sqrt(count / settings.max_samples)))
    step = max(1, stride // 2)
    stride -= stride % step
    rows = np.arange(first_row + (stop_row - first_row - 1) % stride // 2, stop_row, stride)
    columns = np.arange(first_column + (stop_column - first_column - 1) % stride // 2, stop_column, stride)
    top = rows[0] - step * min(settings.median_radius, rows[0] // step)
    left = columns[0] - step * min(settings.median_radius, columns[0] // step)
    margin = step * settings.median_radius + 1
    window = depth_m[top : rows[-1] + margin : step, left : columns[-1] + margin : step]
    with np.errstate(invalid="ignore"):
        window = np.where((window >= settings.min_depth) & (window <= settings.max_depth), window, 0.0)
    window = window.astype(np.float32)
    if settings.median_radius:
        window = cv2.medianBlur(window, 2 * settings.median_radius + 1)  # holes (0) bias it slightly nearer
    every = stride // step
    sampled = window[(rows[0] - top) // step :: every, (columns[0] - left) // step :: every]
    sampled = sampled[: len(rows), : len(columns)]
    depth = np.where(sampled >= settings.min_depth, sampled, np.nan).astype(np.float64)
    return (columns + 0.5) * scale_x, (rows + 0.5) * scale_y, depth


def _span(low: float, high: float, size: int) -> tuple[int, int]:
    """Indices ``[first, stop)`` of the pixels whose centres lie in ``[low, high]``, clipped to ``[0, size)``."""
    first = max(math.ceil(low - 0.5), 0)
    stop = min(math.floor(high - 0.5) + 1, size)
    return first, stop


class _Surfaces:
    """The box's non-floor samples split into surfaces at depth jumps, and which surface the box is about."""

    def __init__(self, depth: np.ndarray, settings: ObjectSettings) -> None:
        self.depth = depth  # (rows, columns), NaN: floor or no reading
        self.settings = settings
        solid = ~np.isnan(depth)
        edge = np.zeros_like(solid)
        with np.errstate(invalid="ignore"):
            self.across = across = self._jumps(depth)  # (rows, columns - 1): jump to the right neighbour
            self.down = down = self._jumps(depth.T).T  # (rows - 1, columns): jump to the neighbour below
        edge[:, 1:] |= across
        edge[:, :-1] |= across
        edge[1:] |= down
        edge[:-1] |= down
        # A band one sample wider than the jumps' ends, so that noise cannot leave a gap in a silhouette.
        edge = cv2.dilate(edge.view(np.uint8), _CROSS).view(bool)
        self.solid = solid
        self.usable = solid & ~edge  # on a surface: neither floor, hole nor an edge between surfaces
        count, labels, stats, _ = cv2.connectedComponentsWithStats(self.usable.view(np.uint8), connectivity=4)
        self.labels = labels
        self.areas = stats[:, cv2.CC_STAT_AREA]
        least = max(4.0, settings.min_surface * np.count_nonzero(solid))
        large = np.flatnonzero(self.areas >= least)
        large = large[large > 0]
        sums = np.bincount(labels.ravel(), weights=np.where(self.usable, depth, 0.0).ravel(), minlength=count)
        means = sums[large] / self.areas[large]
        order = np.argsort(means)
        self.order = [int(label) for label in large[order]]  # nearest first
        self.means = dict(zip(self.order, (float(m) for m in means[order])))
        self.occluded: dict[int, float] = {}

    def with_rim(self, label: int) -> np.ndarray:
        """The surface's samples plus the edge-band samples that continue it: reached from it without a jump,
        in up to two steps (the band reaches two samples from a jump: its end and the dilation)."""
        mask = self.labels == label
        band = self.solid & ~self.usable
        for _ in range(2):
            reached = np.zeros_like(mask)
            reached[:, 1:] |= mask[:, :-1] & ~self.across
            reached[:, :-1] |= mask[:, 1:] & ~self.across
            reached[1:] |= mask[:-1] & ~self.down
            reached[:-1] |= mask[1:] & ~self.down
            mask = mask | (reached & band)
        return mask

    def _jumps(self, depth: np.ndarray) -> np.ndarray:
        """Which steps between neighbours along each row are depth jumps (rows, columns - 1).

        On inverse depth, which changes linearly across the image on any plane
        whatever the angle it is seen at: a step is a jump when it lies outside
        the range of its two neighbouring steps (or departs from the one that
        is known; where neither is, the step itself counts) by more than the
        edge gap in inverse depth, ``gap(d) / d^2`` at the nearer depth ``d``.
        A face seen at a grazing angle steps steadily and stays whole, the step
        across a fold between two faces lies between its neighbours, an
        object's silhouette against what lies behind it departs abruptly. The
        steps at the box's edges count as jumps from ``BORDER_GAP_SHARE`` of
        the gap: a loosely drawn box shows a strip of what lies behind.
        """
        inverse = 1.0 / depth
        steps = inverse[:, 1:] - inverse[:, :-1]
        nearer = np.fmin(depth[:, 1:], depth[:, :-1])
        tolerance = self._gap(nearer) / (nearer * nearer)
        if steps.shape[1]:
            tolerance[:, [0, -1]] *= BORDER_GAP_SHARE
        before = np.full_like(steps, np.nan)
        before[:, 1:] = steps[:, :-1]
        after = np.full_like(steps, np.nan)
        after[:, :-1] = steps[:, 1:]
        departure = np.fmax(steps - np.fmax(before, after), np.fmin(before, after) - steps)
        departure = np.where(np.isnan(departure), np.abs(steps), departure)  # neither neighbour known
        return departure > tolerance

    def _gap(self, depth: np.ndarray | float) -> np.ndarray | float:
        return np.maximum(self.settings.min_edge_gap, self.settings.edge_gap * depth)

    def choose(self) -> int | None:
        """The nearest surface whose extent spans the box; else the one that comes closest to spanning it."""
        fallback, least = None, math.inf
        for label in self.order:
            shortfall = self._shortfall(label)
            if shortfall <= self.settings.side_tolerance:
                return label
            if shortfall < least:
                fallback, least = label, shortfall
        return fallback

    def nearer_area(self, label: int) -> int:
        """Samples on large surfaces in front of ``label``'s by more than an edge gap (occluders)."""
        limit = self.means[label] - self._gap(self.means[label])
        return int(sum(self.areas[other] for other, mean in self.means.items() if mean < limit))

    def bottom_hidden(self, label: int) -> bool:
        """Whether, in at least 30 % of the surface's columns, what lies below it is mostly something nearer."""
        return self.occluded[label] >= 0.3

    def _shortfall(self, label: int) -> float:
        """How far the surface's extent, extended through what may hide it, falls short of the box's sides.

        The largest of the four sides' shortfalls, as a fraction of the box's
        width (left, right) or height (top, bottom).
        """
        mask, depth = self.labels == label, self.depth
        rows, columns = mask.shape
        left = self._side(mask, depth)[0] / columns
        right = self._side(mask[:, ::-1], depth[:, ::-1])[0] / columns
        top = self._side(mask.T, depth.T)[0] / rows
        bottom, self.occluded[label] = self._side(mask.T[:, ::-1], depth.T[:, ::-1])
        return max(left, right, top, bottom / rows)

    def _side(self, mask: np.ndarray, depth: np.ndarray) -> tuple[float, float]:
        """Per row, the samples before the surface's first one: the surface's reach towards that side
        (samples short of it), and the share of rows where those samples are mostly nearer (an occluder).

        A row reaches the side unless what lies before the surface is mostly
        farther than the surface's first sample by more than an edge gap:
        only the background, which is farther, truly ends the surface; what is
        nearer may hide it, and floor, holes and its own edge say nothing. The
        reach is the 10th percentile over the rows.
        """
        present = mask.any(axis=1)
        first = np.argmax(mask, axis=1)[present]
        if not len(first):
            return float(mask.shape[1]), 0.0
        depth = depth[present]
        before = np.arange(mask.shape[1]) < first[:, None]
        reference = depth[np.arange(len(first)), first]
        gap = self._gap(reference)[:, None]
        with np.errstate(invalid="ignore"):
            nearer = np.count_nonzero(before & (depth < reference[:, None] - gap), axis=1)
            farther = np.count_nonzero(before & (depth > reference[:, None] + gap), axis=1)
        reach = np.where(farther > 0.2 * (nearer + farther), first, 0)
        rank = int(EXTENT_PERCENTILE / 100.0 * (len(reach) - 1))
        shortfall = float(np.partition(reach, rank)[rank])
        return shortfall, float(np.count_nonzero(nearer > 0.5 * (nearer + farther)) / len(first))


def _surface_point(
    view: DepthView, box: tuple, pixel_x: np.ndarray, pixel_y: np.ndarray, depth: np.ndarray
) -> np.ndarray | None:
    """The object's surface under the box centre: the centre's ray at the median depth of the 9 nearest samples."""
    centre = np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])
    ray = view.rays(centre[None])[0]
    if not np.isfinite(ray).all():
        return None
    distance = (pixel_x - centre[0]) ** 2 + (pixel_y - centre[1]) ** 2
    nearest = np.argpartition(distance, 8)[:9] if len(distance) > 9 else slice(None)
    z = float(np.median(depth[nearest]))
    return view.rotation @ np.array([ray[0] * z, ray[1] * z, z]) + view.translation
