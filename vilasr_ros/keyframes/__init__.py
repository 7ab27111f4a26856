"""Keyframes: per-camera buffers of sharp, novel, spread-out frames, and their selection for a query.

Plain Python (numpy, OpenCV); the ROS layer converts messages to :class:`~vilasr_ros.core.Frame`
and offers them to a :class:`KeyframeStore`.
"""

from vilasr_ros.keyframes.frames import ClockMismatch, Keyframe, KeyframeError
from vilasr_ros.keyframes.store import Admission, CameraStats, KeyframeStore, StoreStats

__all__ = ["Admission", "ClockMismatch", "CameraStats", "Keyframe", "KeyframeError", "KeyframeStore", "StoreStats"]
