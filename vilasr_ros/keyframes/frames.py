"""Camera data as plain values: intrinsics, poses, frames and the keyframes kept from them.

A :class:`Frame` holds references to the caller's arrays (no copy) through
read-only views, so a keyframe handed to a query cannot be drawn on in place.
Callers must not write into the arrays after offering a frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DEPTH_DTYPES = (np.dtype(np.uint16), np.dtype(np.float32))
MAX_DEPTH_ASPECT_MISMATCH = 0.01  # relative; depth must be registered to the colour image


class KeyframeError(ValueError):
    """Invalid keyframe data or request; the message says what and with which value."""


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
            raise KeyframeError(f"intrinsics K must be a 3x3 matrix of numbers, got {self.k!r}") from error
        if k.shape != (3, 3) or not np.isfinite(k).all():
            raise KeyframeError(f"intrinsics K must be a finite 3x3 matrix, got {np.shape(self.k)}")
        if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], (0.0, 0.0, 1.0)):
            raise KeyframeError(f"intrinsics K needs fx > 0, fy > 0 and a last row 0 0 1, got {k.tolist()}")
        if not (is_int(self.width) and is_int(self.height) and self.width > 0 and self.height > 0):
            raise KeyframeError(f"intrinsics size must be positive integers, got {self.width}x{self.height}")
        distortion = _floats("intrinsics distortion", self.distortion)
        if not all(math.isfinite(value) for value in distortion):
            raise KeyframeError(f"intrinsics distortion must be finite, got {distortion}")
        if not isinstance(self.distortion_model, str) or not self.distortion_model.strip():
            raise KeyframeError(f"intrinsics distortion_model must be a non-empty string: {self.distortion_model!r}")
        k.flags.writeable = False
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "distortion", distortion)


@dataclass(frozen=True)
class Pose:
    """The camera optical frame's pose in a fixed frame (``frame_id``, e.g. ``map``).

    ``position`` is x, y, z in metres; ``orientation`` a quaternion x, y, z, w,
    normalised on construction.
    """

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]
    frame_id: str

    def __post_init__(self) -> None:
        position = _floats("pose position", self.position)
        orientation = _floats("pose orientation", self.orientation)
        if len(position) != 3 or len(orientation) != 4:
            raise KeyframeError(f"pose needs 3 position and 4 quaternion values, got {position}, {orientation}")
        if not all(math.isfinite(value) for value in position + orientation):
            raise KeyframeError(f"pose must be finite, got position {position}, orientation {orientation}")
        norm = math.sqrt(sum(value * value for value in orientation))
        if norm < 1e-6:
            raise KeyframeError(f"pose quaternion has zero length: {orientation}")
        if not isinstance(self.frame_id, str) or not self.frame_id.strip():
            raise KeyframeError(f"pose frame_id must be a non-empty string, got {self.frame_id!r}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "orientation", tuple(value / norm for value in orientation))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, frame_id: str) -> Pose:
        """From a 4x4 homogeneous transform (fixed frame <- camera optical frame)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
            raise KeyframeError(f"pose matrix must be a finite 4x4 array, got shape {matrix.shape}")
        rotation = matrix[:3, :3]
        if not np.allclose(matrix[3], (0.0, 0.0, 0.0, 1.0)) or not np.allclose(
            rotation @ rotation.T, np.eye(3), atol=1e-6
        ) or np.linalg.det(rotation) < 0:
            raise KeyframeError("pose matrix must be a rigid transform (rotation and translation)")
        return cls(tuple(matrix[:3, 3]), _matrix_to_quaternion(rotation), frame_id)

    def rotation_matrix(self) -> np.ndarray:
        """The 3x3 rotation (fixed frame <- camera optical frame)."""
        x, y, z, w = self.orientation
        return np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )

    def to_matrix(self) -> np.ndarray:
        """The 4x4 homogeneous transform (fixed frame <- camera optical frame)."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation_matrix()
        matrix[:3, 3] = self.position
        return matrix

    def viewing_direction(self) -> np.ndarray:
        """Unit vector of the optical axis (camera +z) in the fixed frame."""
        return self.rotation_matrix()[:, 2]


@dataclass(frozen=True, eq=False)
class Frame:
    """One colour image from a camera, with what is known about it.

    ``depth`` is registered to the colour image (same aspect ratio, possibly a
    lower resolution): uint16 in units of ``depth_scale`` metres (16UC1,
    millimetres by default, 0 = no reading) or float32 metres (32FC1, NaN or
    inf = no reading). ``intrinsics`` describe the colour image. Frames
    compare by identity.
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


@dataclass(frozen=True, eq=False)
class Keyframe:
    """A frame the store kept, with a stable id and why it was admitted; compares by identity."""

    id: int
    frame: Frame
    reason: str  # e.g. "moved 0.52 m"
    category: str  # first, moved, turned, novel view or max interval
    sharpness: float
    novelty: float  # vs the camera's previous keyframe; 1.0 for the first one
    translation: float | None = None  # metres vs the previous keyframe, when both have poses
    rotation: float | None = None  # degrees vs the previous keyframe, when both have poses

    @property
    def camera(self) -> str:
        return self.frame.camera

    @property
    def stamp_ns(self) -> int:
        return self.frame.stamp_ns


def frame_problem(frame: Any) -> str | None:
    """Why ``frame`` cannot be used as a keyframe, or None when it can."""
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
    problem = _depth_problem(frame, width, height)
    if problem:
        return problem
    if frame.intrinsics is not None:
        if not isinstance(frame.intrinsics, CameraIntrinsics):
            return f"intrinsics must be CameraIntrinsics, got {type(frame.intrinsics).__name__}"
        if (frame.intrinsics.width, frame.intrinsics.height) != (width, height):
            return (
                f"intrinsics are for {frame.intrinsics.width}x{frame.intrinsics.height}, "
                f"the image is {width}x{height}"
            )
    if frame.pose is not None and not isinstance(frame.pose, Pose):
        return f"pose must be a Pose, got {type(frame.pose).__name__}"
    return None


def _depth_problem(frame: Frame, width: int, height: int) -> str | None:
    depth = frame.depth
    if depth is None:
        return None
    if not isinstance(depth, np.ndarray) or depth.ndim != 2 or depth.dtype not in DEPTH_DTYPES:
        return f"depth must be a uint16 (16UC1) or float32 (32FC1) HxW array, got {_describe(depth)}"
    depth_height, depth_width = depth.shape
    if depth_height == 0 or depth_width == 0:
        return f"depth is empty ({depth_width}x{depth_height})"
    if abs(depth_width * height - width * depth_height) > MAX_DEPTH_ASPECT_MISMATCH * width * depth_height:
        return f"depth {depth_width}x{depth_height} is not registered to the {width}x{height} colour image"
    if depth.dtype == np.uint16 and not (
        isinstance(frame.depth_scale, (int, float)) and math.isfinite(frame.depth_scale) and frame.depth_scale > 0
    ):
        return f"depth_scale must be a positive number of metres per unit, got {frame.depth_scale!r}"
    return None


def _describe(array: Any) -> str:
    if isinstance(array, np.ndarray):
        return f"{array.dtype} array of shape {array.shape}"
    return type(array).__name__


def _floats(what: str, values: Any) -> tuple[float, ...]:
    try:
        return tuple(float(value) for value in values)
    except (TypeError, ValueError) as error:
        raise KeyframeError(f"{what} must be numbers, got {values!r}") from error


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, not for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _matrix_to_quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    r = rotation
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        return ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4)
    if r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        return (s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s)
    if r[1, 1] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        return ((r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s)
    s = 2.0 * math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
    return ((r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4, (r[1, 0] - r[0, 1]) / s)
