"""Robust depth from a depth image: the median of the valid readings in a region, with its spread.

Depth images here are float32 metres along the optical axis with NaN where
there is no reading (:meth:`Frame.depth_metres`); regions are given in depth
pixels (edge convention, see :mod:`vilasr_ros.geometry.camera`). A reading is
valid when finite and within ``[min_depth, max_depth]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAD_TO_SIGMA = 1.4826  # median absolute deviation -> standard deviation of a normal distribution
MAX_REGION_SAMPLES = 20_000  # larger regions are read on a regular sub-grid
SEGMENT_SAMPLES = 33  # points along a segment when an endpoint has no depth of its own


@dataclass(frozen=True)
class DepthRange:
    """Depth readings outside ``[min_depth, max_depth]`` metres are invalid."""

    min_depth: float
    max_depth: float


@dataclass(frozen=True)
class DepthReading:
    """A robust depth: metres along the optical axis, with how it was obtained."""

    depth: float  # median of the valid readings
    spread: float  # 1.4826 * median absolute deviation (1-sigma of the readings), metres
    extent: float  # 10th to 90th percentile of the readings, metres (how deep the visible surface is)
    valid: int  # valid readings used
    total: int  # readings looked at


def robust_depth(values: np.ndarray, limits: DepthRange) -> DepthReading | None:
    """The median and spread of the valid readings among ``values``, or None when none is valid."""
    values = np.ravel(values)
    valid = values[np.isfinite(values) & (values >= limits.min_depth) & (values <= limits.max_depth)]
    if valid.size == 0:
        return None
    valid = valid.astype(np.float64)
    median = float(np.median(valid))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(valid - median)))
    low, high = np.percentile(valid, (10, 90))
    return DepthReading(median, spread, float(high - low), int(valid.size), int(values.size))


def region_depth(
    depth_m: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float], limits: DepthRange
) -> DepthReading | None:
    """Robust depth of the depth pixels whose centres lie in ``x_range`` x ``y_range`` (depth pixels).

    A region thinner than a pixel reads the pixel it lies on. None when the
    region is outside the image or holds no valid reading.
    """
    rows = _pixel_span(y_range, depth_m.shape[0])
    columns = _pixel_span(x_range, depth_m.shape[1])
    if rows is None or columns is None:
        return None
    count = (rows[1] - rows[0]) * (columns[1] - columns[0])
    stride = max(1, math.ceil(math.sqrt(count / MAX_REGION_SAMPLES)))
    return robust_depth(depth_m[rows[0] : rows[1] : stride, columns[0] : columns[1] : stride], limits)


def window_depth(depth_m: np.ndarray, point: np.ndarray, radius: int, limits: DepthRange) -> DepthReading | None:
    """Robust depth of the ``(2 radius + 1)``-pixel square window around a point (depth pixels)."""
    column, row = (math.floor(value) for value in point)
    return region_depth(depth_m, (column - radius, column + radius + 1), (row - radius, row + radius + 1), limits)


def segment_endpoint_depths(
    depth_m: np.ndarray, start: np.ndarray, end: np.ndarray, radius: int, limits: DepthRange
) -> tuple[DepthReading | None, DepthReading | None]:
    """Depth at both ends of a segment (depth pixels), each from its window, else from the segment.

    An end with no valid reading in its window takes the depth of the
    straight 3D line through the readings along the segment: inverse depth is
    affine along the image of a 3D line, so a robust (Theil-Sen) fit of
    ``1 / depth`` against the position along the segment, evaluated at that
    end. Its spread is the fit residuals' robust spread.
    """
    readings = [window_depth(depth_m, start, radius, limits), window_depth(depth_m, end, radius, limits)]
    if all(readings):
        return readings[0], readings[1]
    fractions = np.linspace(0.0, 1.0, SEGMENT_SAMPLES)
    samples = [(t, window_depth(depth_m, start + t * (end - start), radius, limits)) for t in fractions]
    known = [(t, reading) for t, reading in samples if reading is not None]
    for which, fraction in ((0, 0.0), (1, 1.0)):
        if readings[which] is None and known:
            readings[which] = known[0][1] if len(known) == 1 else _fitted_depth(known, fraction, limits)
    return readings[0], readings[1]


def _fitted_depth(known: list[tuple[float, DepthReading]], fraction: float, limits: DepthRange) -> DepthReading | None:
    fractions = np.array([t for t, _ in known])
    depths = np.array([reading.depth for _, reading in known])
    inverse = 1.0 / depths
    i, j = np.triu_indices(len(known), k=1)
    slope = float(np.median((inverse[j] - inverse[i]) / (fractions[j] - fractions[i])))
    intercept = float(np.median(inverse - slope * fractions))
    inverse_at = intercept + slope * fraction
    if inverse_at <= 0.0:
        return None
    depth = 1.0 / inverse_at
    if not limits.min_depth <= depth <= limits.max_depth:
        return None
    residuals = depths - 1.0 / np.maximum(intercept + slope * fractions, 1e-9)
    spread = MAD_TO_SIGMA * float(np.median(np.abs(residuals)))
    return DepthReading(depth, spread, 0.0, len(known), len(known))


def _pixel_span(edges: tuple[float, float], size: int) -> tuple[int, int] | None:
    """Indices ``[first, stop)`` of the pixels whose centres lie in ``edges``, clipped to the image."""
    low, high = sorted(edges)
    first = math.ceil(low - 0.5)
    stop = math.floor(high - 0.5) + 1
    if stop <= first:  # thinner than a pixel: the pixel it lies on
        first = math.floor((low + high) / 2.0)
        stop = first + 1
    first, stop = max(first, 0), min(stop, size)
    return (first, stop) if stop > first else None
