"""The keyframe: a frame the store kept, and the keyframe layer's exception."""

from __future__ import annotations

from dataclasses import dataclass

from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError


class KeyframeError(DataError):
    """Invalid keyframe data or request; the message says what and with which value."""


class ClockMismatch(KeyframeError):
    """Keyframes exist but their stamps lie far from the clock a query is judged by (no sim time, another clock)."""


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
