"""Cheap per-frame scores: sharpness, a thumbnail for view novelty, and pose change.

Scoring a 1280x720 frame is one grayscale conversion, two area resizes and
a Laplacian (about a millisecond on one core); comparing two frames is a dot
product of thumbnails. A shift of the view by 10 % of its width gives a
novelty of about 0.25, by 30 % about 0.65 (measured on a photo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vilasr_ros.core.poses import Pose, rotation_between

ANALYSIS_WIDTH = 320  # sharpness is measured at most this wide, so it does not depend on the resolution
THUMBNAIL_SIZE = (64, 48)  # width, height of the novelty thumbnail (any aspect ratio is squeezed to it)
THUMBNAIL_BLUR = 1.5  # Gaussian sigma in thumbnail pixels: novelty then grows with the share of the view that changed


@dataclass(frozen=True)
class ImageScores:
    """What the store needs to know about a colour image."""

    sharpness: float  # variance of the Laplacian of the downscaled grayscale image
    thumbnail: np.ndarray  # smoothed grayscale, float32, zero mean and unit norm (all zeros for a flat image)


def score_image(rgb: np.ndarray) -> ImageScores:
    """Sharpness and thumbnail of a uint8 HxWx3 RGB image."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    if width > ANALYSIS_WIDTH:
        size = (ANALYSIS_WIDTH, max(1, round(height * ANALYSIS_WIDTH / width)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    _, deviation = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S))
    thumbnail = cv2.resize(gray, THUMBNAIL_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
    thumbnail = cv2.GaussianBlur(thumbnail, (0, 0), THUMBNAIL_BLUR).ravel()
    thumbnail -= thumbnail.mean()
    norm = float(np.linalg.norm(thumbnail))
    if norm > 1e-3:
        thumbnail /= norm
    else:
        thumbnail[:] = 0.0
    return ImageScores(float(deviation[0, 0]) ** 2, thumbnail)


def novelty(previous: np.ndarray, current: np.ndarray) -> float:
    """How much a view changed, in [0, 1]: 1 - normalised correlation of two thumbnails.

    Insensitive to exposure (gain and offset). A flat thumbnail has nothing to
    correlate: it is fully novel against a textured one, not at all against a flat one.
    """
    previous_flat = not previous.any()
    current_flat = not current.any()
    if previous_flat or current_flat:
        return 0.0 if previous_flat and current_flat else 1.0
    return float(np.clip(1.0 - float(np.dot(previous, current)), 0.0, 1.0))


def pose_change(previous: Pose, current: Pose) -> tuple[float, float]:
    """Translation (metres) and rotation (degrees) from ``previous`` to ``current``."""
    translation = math.dist(previous.position, current.position)
    return translation, math.degrees(rotation_between(previous.orientation, current.orientation))
