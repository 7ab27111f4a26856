"""Poses and rigid transforms: one quaternion convention (x, y, z, w), one pose-string parser.

A :class:`Pose` is a frame's pose in a fixed frame (``frame_id``); a
:class:`RigidTransform` maps points from a child frame into its parent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vilasr_ros.core.errors import DataError

POSE_STRING_FORMS = "'x y z qx qy qz qw' or 'x y z roll pitch yaw' (metres, radians)"


@dataclass(frozen=True)
class Pose:
    """A frame's pose (e.g. a camera optical frame) in a fixed frame ``frame_id`` (e.g. ``map``).

    ``position`` is x, y, z in metres; ``orientation`` a quaternion x, y, z, w,
    normalised on construction.
    """

    position: tuple[float, float, float]
    orientation: tuple[float, float, float, float]
    frame_id: str

    def __post_init__(self) -> None:
        position = floats("pose position", self.position)
        orientation = floats("pose orientation", self.orientation)
        if len(position) != 3 or len(orientation) != 4:
            raise DataError(f"pose needs 3 position and 4 quaternion values, got {position}, {orientation}")
        if not all(math.isfinite(value) for value in position + orientation):
            raise DataError(f"pose must be finite, got position {position}, orientation {orientation}")
        norm = math.sqrt(sum(value * value for value in orientation))
        if norm < 1e-6:
            raise DataError(f"pose quaternion has zero length: {orientation}")
        if not isinstance(self.frame_id, str) or not self.frame_id.strip():
            raise DataError(f"pose frame_id must be a non-empty string, got {self.frame_id!r}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "orientation", tuple(value / norm for value in orientation))

    @classmethod
    def from_matrix(cls, matrix: np.ndarray, frame_id: str) -> Pose:
        """From a 4x4 homogeneous transform (fixed frame <- posed frame)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != (4, 4) or not np.isfinite(matrix).all():
            raise DataError(f"pose matrix must be a finite 4x4 array, got shape {matrix.shape}")
        rotation = matrix[:3, :3]
        if (
            not np.allclose(matrix[3], (0.0, 0.0, 0.0, 1.0))
            or not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-6)
            or np.linalg.det(rotation) < 0
        ):
            raise DataError("pose matrix must be a rigid transform (rotation and translation)")
        return cls(tuple(matrix[:3, 3]), matrix_to_quaternion(rotation), frame_id)

    def rotation_matrix(self) -> np.ndarray:
        """The 3x3 rotation (fixed frame <- posed frame)."""
        return quaternion_to_matrix(self.orientation)

    def to_matrix(self) -> np.ndarray:
        """The 4x4 homogeneous transform (fixed frame <- posed frame)."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation_matrix()
        matrix[:3, 3] = self.position
        return matrix

    def viewing_direction(self) -> np.ndarray:
        """Unit vector of the posed frame's +z axis (a camera's optical axis) in the fixed frame."""
        return self.rotation_matrix()[:, 2]


@dataclass(frozen=True)
class RigidTransform:
    """``parent <- child``: maps points in the child frame to the parent frame (``p_parent = R p_child + t``)."""

    rotation: np.ndarray  # 3x3
    translation: np.ndarray  # 3

    @classmethod
    def from_pose(cls, pose: Pose) -> RigidTransform:
        """The transform ``pose.frame_id <- the frame whose pose this is``."""
        return cls(pose.rotation_matrix(), np.array(pose.position, dtype=np.float64))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Points ``(N, 3)`` or ``(3,)`` in the child frame -> the parent frame."""
        points = np.asarray(points, dtype=np.float64)
        return points @ self.rotation.T + self.translation

    def inverse(self) -> RigidTransform:
        """``child <- parent``."""
        rotation = self.rotation.T
        return RigidTransform(rotation, -rotation @ self.translation)


def compose(parent: Pose, child_in_parent: Pose) -> Pose:
    """The pose of a child frame in ``parent``'s fixed frame: parent @ child (e.g. base in map @ camera in base)."""
    return Pose.from_matrix(parent.to_matrix() @ child_in_parent.to_matrix(), parent.frame_id)


def interpolate(start: Pose, end: Pose, fraction: float) -> Pose:
    """Linear interpolation of position and spherical of orientation, ``fraction`` in [0, 1]."""
    a = np.array(start.position)
    b = np.array(end.position)
    q0 = np.array(start.orientation)
    q1 = np.array(end.orientation)
    if np.dot(q0, q1) < 0.0:
        q1 = -q1
    dot = float(np.clip(np.dot(q0, q1), -1.0, 1.0))
    if dot > 0.9995:
        q = q0 + fraction * (q1 - q0)
    else:
        angle = np.arccos(dot)
        q = (np.sin((1 - fraction) * angle) * q0 + np.sin(fraction * angle) * q1) / np.sin(angle)
    return Pose(tuple(a + fraction * (b - a)), tuple(q / np.linalg.norm(q)), start.frame_id)


def parse_pose(text: str, frame_id: str) -> Pose:
    """A pose string, ``'x y z qx qy qz qw'`` or ``'x y z roll pitch yaw'`` (metres, radians; commas allowed).

    Raises :class:`DataError` naming both forms when ``text`` is neither.
    """
    try:
        values = [float(part) for part in str(text).replace(",", " ").split()]
    except ValueError:
        values = []
    if len(values) not in (6, 7) or not all(math.isfinite(value) for value in values):
        raise DataError(f"a pose must be {POSE_STRING_FORMS}, got {text!r}")
    orientation = quaternion_from_rpy(*values[3:]) if len(values) == 6 else tuple(values[3:])
    return Pose(tuple(values[:3]), orientation, frame_id)


def quaternion_from_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """The quaternion (x, y, z, w) of fixed-axis roll, pitch, yaw (REP 103: about x, then y, then z)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
        cr * cp * cy + sr * sp * sy,
    )


def quaternion_from_yaw(yaw: float) -> tuple[float, float, float, float]:
    """The quaternion (x, y, z, w) of a turn by ``yaw`` radians about z (a gravity-aligned heading)."""
    return (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


def yaw_of(quaternion: tuple[float, float, float, float]) -> float:
    """The heading (radians about z, in (-pi, pi]) of an orientation (x, y, z, w): where its x axis points."""
    x, y, z, w = quaternion
    return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def rotation_between(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The angle (radians, 0 to pi) of the rotation from orientation ``a`` to ``b`` (unit quaternions)."""
    cosine = abs(sum(p * q for p, q in zip(a, b)))
    return 2.0 * math.acos(min(1.0, cosine))


def quaternion_to_matrix(quaternion: tuple[float, float, float, float]) -> np.ndarray:
    """The 3x3 rotation of a unit quaternion (x, y, z, w)."""
    x, y, z, w = quaternion
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """The unit quaternion (x, y, z, w) of a 3x3 rotation matrix."""
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


def floats(what: str, values: Any) -> tuple[float, ...]:
    """``values`` as a tuple of floats; :class:`DataError` naming ``what`` when they are not numbers."""
    try:
        return tuple(float(value) for value in values)
    except (TypeError, ValueError) as error:
        raise DataError(f"{what} must be numbers, got {values!r}") from error
