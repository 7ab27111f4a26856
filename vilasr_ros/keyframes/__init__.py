"""Keyframes: per-camera buffers of sharp, novel, spread-out frames, and their selection for a query.

Plain Python (numpy, OpenCV); the ROS layer converts messages to :class:`Frame`
and offers them to a :class:`KeyframeStore`.
"""

from vilasr_ros.keyframes.frames import CameraIntrinsics, Frame, Keyframe, KeyframeError, Pose
from vilasr_ros.keyframes.store import Admission, CameraStats, KeyframeStore, StoreStats

__all__ = [
    "Admission",
    "CameraIntrinsics",
    "CameraStats",
    "Frame",
    "Keyframe",
    "KeyframeError",
    "KeyframeStore",
    "Pose",
    "StoreStats",
]
