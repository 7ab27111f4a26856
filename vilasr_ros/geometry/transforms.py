"""Range, bearing and elevation of points in REP 103 body frames or camera optical frames."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Polar:
    """Where a point lies seen from a frame: metres and radians (NaN when unknown)."""

    frame_id: str
    range: float
    bearing: float  # about the vertical axis, 0 straight ahead, positive to the left
    elevation: float  # positive upwards

    @classmethod
    def unknown(cls) -> Polar:
        return cls("", math.nan, math.nan, math.nan)


def polar_rep103(point: np.ndarray, frame_id: str) -> Polar:
    """Range, bearing and elevation of a point in a REP 103 body frame (x forward, y left, z up)."""
    x, y, z = (float(value) for value in point)
    return Polar(frame_id, math.sqrt(x * x + y * y + z * z), math.atan2(y, x), math.atan2(z, math.hypot(x, y)))


def polar_optical(point: np.ndarray, frame_id: str) -> Polar:
    """Range, bearing and elevation of a point in a camera optical frame (x right, y down, z forward).

    Bearing is about the camera's own vertical (its -y axis), which is the
    world vertical only for a level camera.
    """
    x, y, z = (float(value) for value in point)
    return polar_rep103(np.array([z, -x, -y]), frame_id)


def ray_direction_optical(ray: np.ndarray, frame_id: str) -> Polar:
    """Bearing and elevation of a normalised ray ``(x / z, y / z)`` from an optical frame; range unknown."""
    direction = polar_optical(np.array([ray[0], ray[1], 1.0]), frame_id)
    return Polar(frame_id, math.nan, direction.bearing, direction.elevation)
