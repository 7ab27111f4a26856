"""The floor: plain types every layer shares, importing nothing else of vilasr_ros.

- ``poses``: :class:`Pose`, :class:`RigidTransform`, composition, interpolation,
  the pose-string parser (one quaternion convention: x, y, z, w);
- ``camera``: :class:`CameraIntrinsics`, :class:`Frame` and the one depth-validity check;
- ``conversation``: :class:`Box`, :class:`Line`, :class:`ResizeMapping`,
  :class:`ConversationImage` (what the loop draws and the geometry lifts);
- ``question``: :class:`AnswerType`; ``stop``: :class:`StopReason`;
- ``errors``: :class:`DataError`.
"""

from vilasr_ros.core.camera import CameraIntrinsics, Frame, depth_problem, frame_problem
from vilasr_ros.core.conversation import Box, ConversationImage, Line, ResizeMapping
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose, RigidTransform, compose, interpolate, parse_pose
from vilasr_ros.core.question import AnswerType
from vilasr_ros.core.stop import StopReason

__all__ = [
    "AnswerType",
    "Box",
    "CameraIntrinsics",
    "ConversationImage",
    "DataError",
    "Frame",
    "Line",
    "Pose",
    "ResizeMapping",
    "RigidTransform",
    "StopReason",
    "compose",
    "depth_problem",
    "frame_problem",
    "interpolate",
    "parse_pose",
]
