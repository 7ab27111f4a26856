"""Pixels and rays: model coordinates -> source-image pixels -> depth pixels, and undistorted camera rays.

Pixel coordinates here are continuous with pixel ``(i, j)`` spanning
``[i, i + 1) x [j, j + 1)`` ("edge" convention), as :class:`ResizeMapping`
scales them. The camera matrix ``K`` (sensor_msgs/CameraInfo, OpenCV) puts
pixel centres at integer coordinates, so a point is shifted by half a pixel
before it is undistorted. Rays are in the camera optical frame (x right,
y down, z forward), as normalised image coordinates ``(x / z, y / z)``.
"""

from __future__ import annotations

import cv2
import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.conversation import ResizeMapping

PINHOLE_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")
FISHEYE_DISTORTION_MODELS = ("equidistant", "fisheye")
OPENCV_COEFFICIENT_COUNTS = (4, 5, 8, 12, 14)
FISHEYE_COEFFICIENT_COUNT = 4
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)


def model_to_source_px(mapping: ResizeMapping, points_model: np.ndarray) -> np.ndarray:
    """Points ``(N, 2)`` in model (resized-image) coordinates -> source-image pixels (edge convention)."""
    return np.array([mapping.to_source(float(x), float(y)) for x, y in np.reshape(points_model, (-1, 2))])


def source_to_depth_px(
    points_source: np.ndarray, source_size: tuple[int, int], depth_size: tuple[int, int]
) -> np.ndarray:
    """Source-image pixels ``(N, 2)`` -> pixels of a registered depth image of ``depth_size`` (width, height).

    The depth image covers the same view at another resolution, so this is a
    scale per axis (edge convention); ``floor`` of the result is the depth
    pixel's column and row.
    """
    scale = np.array([depth_size[0] / source_size[0], depth_size[1] / source_size[1]])
    return np.reshape(points_source, (-1, 2)) * scale


def distortion_problem(intrinsics: CameraIntrinsics) -> str | None:
    """Why the lens model cannot be undistorted here, or None (no distortion is always fine)."""
    coefficients = intrinsics.distortion
    if not any(coefficients):
        return None
    model = intrinsics.distortion_model
    if model in PINHOLE_DISTORTION_MODELS:
        if len(coefficients) not in OPENCV_COEFFICIENT_COUNTS:
            return f"{model} distortion needs 4, 5, 8, 12 or 14 coefficients, got {len(coefficients)}"
        return None
    if model in FISHEYE_DISTORTION_MODELS:
        if len(coefficients) < FISHEYE_COEFFICIENT_COUNT or any(coefficients[FISHEYE_COEFFICIENT_COUNT:]):
            return f"{model} distortion needs 4 coefficients (k1..k4), got {len(coefficients)}"
        return None
    return f"unsupported distortion model {model!r} (supported: plumb_bob, rational_polynomial, equidistant)"


def pixels_to_rays(intrinsics: CameraIntrinsics, points_source: np.ndarray) -> np.ndarray:
    """Source-image pixels ``(N, 2)`` (edge convention) -> undistorted normalised coordinates ``(N, 2)``.

    ``intrinsics`` must pass :func:`distortion_problem`. A ray ``(x, y)``
    meets depth ``z`` (along the optical axis) at ``(x * z, y * z, z)``.
    Points the lens model cannot invert come back as NaN.
    """
    centred = np.reshape(points_source, (-1, 1, 2)).astype(np.float64) - 0.5
    k = np.asarray(intrinsics.k, dtype=np.float64)
    coefficients = np.array(intrinsics.distortion, dtype=np.float64)
    if not coefficients.any():
        homogeneous = np.concatenate([centred[:, 0, :], np.ones((len(centred), 1))], axis=1)
        rays = (np.linalg.inv(k) @ homogeneous.T).T
        return rays[:, :2] / rays[:, 2:]
    if intrinsics.distortion_model in FISHEYE_DISTORTION_MODELS:
        undistorted = cv2.fisheye.undistortPoints(
            centred, k, coefficients[:FISHEYE_COEFFICIENT_COUNT], criteria=_UNDISTORT_CRITERIA
        )
    else:
        undistorted = cv2.undistortPointsIter(centred, k, coefficients, None, None, _UNDISTORT_CRITERIA)
    rays = np.reshape(undistorted, (-1, 2))
    rays[~np.isfinite(rays).all(axis=1)] = np.nan
    return rays


def back_project(rays: np.ndarray, depth_m: np.ndarray | float) -> np.ndarray:
    """Normalised rays ``(N, 2)`` at depths (metres along the optical axis) -> optical-frame points ``(N, 3)``."""
    rays = np.reshape(rays, (-1, 2))
    depth = np.broadcast_to(np.asarray(depth_m, dtype=np.float64), (len(rays),))
    return np.column_stack([rays[:, 0] * depth, rays[:, 1] * depth, depth])
