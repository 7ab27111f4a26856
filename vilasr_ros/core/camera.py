"""Camera data as plain values: calibration, and one colour frame with its depth, calibration and pose.

A :class:`Frame` holds references to the caller's arrays (no copy) through
read-only views, so a frame handed to a query cannot be drawn on in place.
Callers must not write into the arrays after building a frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose, floats

DEPTH_DTYPES = (np.dtype(np.uint16), np.dtype(np.float32))
MAX_DEPTH_DOWNSCALE = 16  # a registered depth image is the colour size divided by at most this whole number


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole calibration of the colour image (as in sensor_msgs/CameraInfo)."""

    k: np.ndarray  # 3x3 camera matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]
    width: int
    height: int
    distortion: tuple[float, ...] = ()
    distortion_model: str = "plumb_bob"

    def __post_init__(self) -> None:
        try:
            k = np.array(self.k, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(f"intrinsics K must be a 3x3 matrix of numbers, got {self.k!r}") from error
        if k.shape != (3, 3) or not np.isfinite(k).all():
            raise DataError(f"intrinsics K must be a finite 3x3 matrix, got {np.shape(self.k)}")
        if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], (0.0, 0.0, 1.0)):
            raise DataError(f"intrinsics K needs fx > 0, fy > 0 and a last row 0 0 1, got {k.tolist()}")
        if not (is_int(self.width) and is_int(self.height) and self.width > 0 and self.height > 0):
            raise DataError(f"intrinsics size must be positive integers, got {self.width}x{self.height}")
        distortion = floats("intrinsics distortion", self.distortion)
        if not all(math.isfinite(value) for value in distortion):
            raise DataError(f"intrinsics distortion must be finite, got {distortion}")
        if not isinstance(self.distortion_model, str) or not self.distortion_model.strip():
            raise DataError(f"intrinsics distortion_model must be a non-empty string: {self.distortion_model!r}")
        k.flags.writeable = False
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "distortion", distortion)


@dataclass(frozen=True, eq=False)
class Frame:
    """One colour image from a camera, with what is known about it.

    ``depth`` is registered to the colour image (pixel for pixel, or the colour
    image downscaled by a whole number: see :func:`depth_problem`): uint16 in units of ``depth_scale`` metres (16UC1,
    millimetres by default, 0 = no reading) or float32 metres (32FC1, NaN or
    inf = no reading). ``intrinsics`` describe the colour image; ``pose`` is
    the camera optical frame's pose in a fixed frame. Frames compare by identity.
    """

    camera: str
    stamp_ns: int
    frame_id: str  # the camera's optical frame
    rgb: np.ndarray  # uint8, H x W x 3, RGB order
    depth: np.ndarray | None = None
    depth_scale: float = 0.001
    intrinsics: CameraIntrinsics | None = None
    pose: Pose | None = None

    def __post_init__(self) -> None:
        for name in ("rgb", "depth"):
            array = getattr(self, name)
            if isinstance(array, np.ndarray) and array.flags.writeable:
                view = array.view()
                view.flags.writeable = False
                object.__setattr__(self, name, view)

    @property
    def nbytes(self) -> int:
        """Bytes of image data held: colour plus depth."""
        return self.rgb.nbytes + (0 if self.depth is None else self.depth.nbytes)

    def depth_metres(self) -> np.ndarray | None:
        """Depth in metres as float32 with NaN where there is no reading (a copy for uint16 depth)."""
        if self.depth is None or self.depth.dtype == np.float32:
            return self.depth
        metres = self.depth.astype(np.float32) * np.float32(self.depth_scale)
        metres[self.depth == 0] = np.nan
        return metres


def depth_problem(depth: Any, depth_scale: Any, width: int, height: int) -> str | None:
    """Why ``depth`` cannot serve as the depth of a ``width`` x ``height`` colour image, or None when it can.

    The one validity check of depth images: a non-empty uint16 or float32
    HxW array registered to the colour image, and for uint16 a positive
    ``depth_scale`` (metres per unit). Registered means the same pixel grid:
    the depth size is the colour size, or the colour size divided by one whole
    number n (2..16) in both axes, each rounded down or up (1280x720 / 3 ->
    426 or 427 x 240). A depth image that only has a similar aspect ratio (an
    unaligned 848x480 with a 1280x720 colour image) is not registered.
    """
    if not isinstance(depth, np.ndarray) or depth.ndim != 2 or depth.dtype not in DEPTH_DTYPES:
        return f"depth must be a uint16 (16UC1) or float32 (32FC1) HxW array, got {_describe(depth)}"
    depth_height, depth_width = depth.shape
    if depth_height == 0 or depth_width == 0:
        return f"depth is empty ({depth_width}x{depth_height})"
    if not is_downscale(width, height, depth_width, depth_height):
        return (
            f"depth {depth_width}x{depth_height} is not registered to the {width}x{height} colour image "
            f"(registered depth is the colour size divided by a whole number up to {MAX_DEPTH_DOWNSCALE})"
        )
    if depth.dtype == np.uint16 and not (
        isinstance(depth_scale, (int, float)) and math.isfinite(depth_scale) and depth_scale > 0
    ):
        return f"depth_scale must be a positive number of metres per unit, got {depth_scale!r}"
    return None


def is_downscale(width: int, height: int, small_width: int, small_height: int) -> bool:
    """True when ``small_width`` x ``small_height`` is ``width`` x ``height`` divided by one whole number
    (1..MAX_DEPTH_DOWNSCALE) in both axes, each side rounded down or up."""
    for factor in range(1, MAX_DEPTH_DOWNSCALE + 1):
        if small_width in (width // factor, -(-width // factor)) and small_height in (
            height // factor,
            -(-height // factor),
        ):
            return True
    return False


def frame_problem(frame: Any) -> str | None:
    """Why ``frame`` cannot be used (as a keyframe, or to estimate from), or None when it can."""
    if not isinstance(frame, Frame):
        return f"expected a Frame, got {type(frame).__name__}"
    if not isinstance(frame.camera, str) or not frame.camera.strip():
        return f"camera name must be a non-empty string, got {frame.camera!r}"
    if not isinstance(frame.frame_id, str) or not frame.frame_id.strip():
        return f"frame_id must be a non-empty string, got {frame.frame_id!r}"
    if not is_int(frame.stamp_ns) or frame.stamp_ns < 0:
        return f"stamp_ns must be a non-negative integer of nanoseconds, got {frame.stamp_ns!r}"
    rgb = frame.rgb
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        return f"rgb must be a uint8 HxWx3 array, got {_describe(rgb)}"
    height, width = rgb.shape[:2]
    if height == 0 or width == 0:
        return f"rgb is empty ({width}x{height})"
    if frame.depth is not None:
        problem = depth_problem(frame.depth, frame.depth_scale, width, height)
        if problem:
            return problem
    if frame.intrinsics is not None:
        if not isinstance(frame.intrinsics, CameraIntrinsics):
            return f"intrinsics must be CameraIntrinsics, got {type(frame.intrinsics).__name__}"
        if (frame.intrinsics.width, frame.intrinsics.height) != (width, height):
            return (
                f"intrinsics are for {frame.intrinsics.width}x{frame.intrinsics.height}, the image is {width}x{height}"
            )
    if frame.pose is not None and not isinstance(frame.pose, Pose):
        return f"pose must be a Pose, got {type(frame.pose).__name__}"
    return None


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, not for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"{array.dtype} array of shape {array.shape}"
    return type(array).__name__
