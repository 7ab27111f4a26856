"""The drawing tool: annotation lists, the reference's per-label merge, and rendering.

Every derived image is rendered from the pristine (resized) source frame with
its full merged annotation list, so a box the model replaced really disappears
(the reference draws on top of the previous drawing, where it stays visible).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import cv2
import numpy as np

from vilasr_ros.core.conversation import Box, Line

# The reference palette, cycled in list order (RGB).
PALETTE = (
    (255, 0, 0),  # red
    (0, 128, 0),  # green
    (0, 0, 255),  # blue
    (255, 255, 0),  # yellow
    (255, 165, 0),  # orange
    (255, 192, 203),  # pink
    (128, 0, 128),  # purple
    (165, 42, 42),  # brown
    (128, 128, 128),  # gray
)
LINE_COLOR = (0, 0, 0)
START_DOT = (255, 0, 0)
END_DOT = (0, 0, 255)
STROKE = 4
DOT_RADIUS = 4


Annotation = TypeVar("Annotation", Box, Line)


def merge_by_label(inherited: Iterable[Annotation], new: Iterable[Annotation]) -> list[Annotation]:
    """The reference's per-label merge, keeping same-label items of one call.

    Inherited items keep their order; a label present in the new call replaces
    every inherited item with that label, at the position of the first one, by
    all of the call's items with that label (the reference keeps only the last
    of them: a reported bug); new labels are appended in call order.
    """
    groups: dict[str, list[Annotation]] = {}
    for item in inherited:
        groups.setdefault(item.label, []).append(item)
    replaced: dict[str, list[Annotation]] = {}
    for item in new:
        replaced.setdefault(item.label, []).append(item)
    groups.update(replaced)
    return [item for items in groups.values() for item in items]


def clamp_box(bbox: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    """Order the corners and clamp them into the image."""
    x1, x2 = sorted((_clamp(bbox[0], width), _clamp(bbox[2], width)))
    y1, y2 = sorted((_clamp(bbox[1], height), _clamp(bbox[3], height)))
    return x1, y1, x2, y2


def clamp_point(point: tuple[float, float], width: int, height: int) -> tuple[float, float]:
    """Clamp a point into the image."""
    return _clamp(point[0], width), _clamp(point[1], height)


def _clamp(value: float, limit: int) -> float:
    return float(min(max(value, 0.0), float(limit)))


def render(image: np.ndarray, boxes: list[Box], lines: list[Line]) -> np.ndarray:
    """A copy of the RGB ``image`` with ``boxes`` and ``lines`` drawn like the reference tool."""
    canvas = image.copy()
    height, width = canvas.shape[:2]
    for position, box in enumerate(boxes):
        color = PALETTE[position % len(PALETTE)]
        x1, y1, x2, y2 = (int(round(v)) for v in box.bbox_2d)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), color, STROKE, lineType=cv2.LINE_AA)
        _label(canvas, box.label, x1 + STROKE, y1 + STROKE, color, width, height)
    for line in lines:
        start = tuple(int(round(v)) for v in line.start_point_2d)
        end = tuple(int(round(v)) for v in line.end_point_2d)
        cv2.line(canvas, start, end, LINE_COLOR, STROKE, lineType=cv2.LINE_AA)
        cv2.circle(canvas, start, DOT_RADIUS, START_DOT, -1, lineType=cv2.LINE_AA)
        cv2.circle(canvas, end, DOT_RADIUS, END_DOT, -1, lineType=cv2.LINE_AA)
    return canvas


def _label(canvas: np.ndarray, text: str, x: int, y: int, color: tuple[int, int, int], width: int, height: int) -> None:
    """Write ``text`` on a filled tag near (x, y), kept inside the image."""
    text = text.encode("ascii", "replace").decode("ascii")  # Hershey fonts are ASCII only
    scale, thickness = 0.45, 1
    (text_width, text_height), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = max(0, min(x, width - text_width - 2))
    y = max(0, min(y, height - text_height - baseline - 2))
    cv2.rectangle(canvas, (x, y), (x + text_width + 2, y + text_height + baseline + 2), color, -1)
    ink = (0, 0, 0) if sum(color) > 382 else (255, 255, 255)
    cv2.putText(canvas, text, (x + 1, y + text_height + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)
