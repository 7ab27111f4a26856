"""What the reasoning loop and the geometry share: drawings in model pixels, and the images they are on.

The model sees each image resized (Qwen2.5-VL ``smart_resize``) and writes
coordinates in that image's pixels; :class:`ResizeMapping` maps them back to
the source image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Box:
    """A labelled box in model (resized-image) pixels, normalised: x1 <= x2, y1 <= y2, inside the image."""

    label: str
    bbox_2d: tuple[float, float, float, float]


@dataclass(frozen=True)
class Line:
    """A labelled segment in model (resized-image) pixels, inside the image."""

    label: str
    start_point_2d: tuple[float, float]
    end_point_2d: tuple[float, float]


@dataclass(frozen=True)
class ResizeMapping:
    """How a source image was resized for the model; maps model coordinates back."""

    source_width: int
    source_height: int
    width: int  # resized (announced to the model)
    height: int

    def to_source(self, x: float, y: float) -> tuple[float, float]:
        """A point in model (resized) pixels -> source-image pixels."""
        return x * self.source_width / self.width, y * self.source_height / self.height


@dataclass
class ConversationImage:
    """An image of the conversation: a source frame (index 1..N) or a drawing on one."""

    index: int
    source_index: int  # the original frame it shows (itself for a source frame)
    base_index: int | None  # the image the tool call named (None for a source frame)
    pixels: np.ndarray  # what the model sees: resized RGB, annotations drawn
    mapping: ResizeMapping  # model coordinates -> source-image pixels
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
