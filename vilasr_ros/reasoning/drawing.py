"""The drawing tool: annotation lists, the reference's per-label merge, and Pillow rendering.

Rendering follows the authors' ``utils/edit_image.py`` (``plot_bounding_boxes``,
``plot_movement``) pixel for pixel: Pillow ``ImageDraw`` on the image at the
model's resolution, boxes as 4 px outlines inside the box edge with the label in
the box colour in Pillow's default font at (x1 + 8, y1 + 6), colours from a
23-name list followed by Pillow's colour map, lines black 4 px with a red start
and a blue end dot of radius 4, coordinates converted with the reference's
arithmetic (``int`` truncation, boxes' corners then ordered).

Two deliberate differences from the reference (see the README): a call that
moves or replaces an item already drawn is rendered from the pristine (resized)
source frame with its full merged list, so the replaced item really disappears
(the reference draws on top of the previous drawing, as the engine does for
every other call); and same-label items of one call are all kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import numpy as np
from PIL import Image, ImageColor, ImageDraw

from vilasr_ros.core.conversation import Box, Line

# The reference's colour list: 23 names, then every name of Pillow's colour map, cycled.
COLOR_NAMES = (
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "pink",
    "purple",
    "brown",
    "gray",
    "beige",
    "turquoise",
    "cyan",
    "magenta",
    "lime",
    "navy",
    "maroon",
    "teal",
    "olive",
    "coral",
    "lavender",
    "violet",
    "gold",
    "silver",
) + tuple(ImageColor.colormap)
LINE_COLOR = "black"
START_DOT = "red"
END_DOT = "blue"
STROKE = 4
DOT_RADIUS = 4
LABEL_OFFSET = (8, 6)
# Pillow draws with C ints: coordinates are kept within this many pixels of the image
# (far beyond anything visible) so an absurd value cannot overflow.
_COORDINATE_LIMIT = 1 << 20


Annotation = TypeVar("Annotation", Box, Line)


def merge_by_label(inherited: Iterable[Annotation], new: Iterable[Annotation]) -> list[Annotation]:
    """The reference's per-label merge, keeping same-label items of one call.

    Inherited items keep their order; a label present in the new call replaces
    every inherited item with that label, at the position of the first one, by
    all of the call's items with that label (the reference keeps only the last
    of them); new labels are appended in call order.
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
    """A copy of the RGB uint8 ``image`` with ``boxes`` then ``lines`` drawn like the reference tool.

    Coordinates are the model's, as written (not clamped): Pillow clips what falls
    outside the image, as it does in the reference.
    """
    canvas = Image.fromarray(np.ascontiguousarray(image), "RGB")
    draw = ImageDraw.Draw(canvas)
    width, height = canvas.size
    for position, box in enumerate(boxes):
        color = COLOR_NAMES[position % len(COLOR_NAMES)]
        # plot_bounding_boxes: int(v / input_width * width), with input size == image size.
        x1, x2 = (_limit(int(box.bbox_2d[i] / width * width), width) for i in (0, 2))
        y1, y2 = (_limit(int(box.bbox_2d[i] / height * height), height) for i in (1, 3))
        x1, x2 = min(x1, x2), max(x1, x2)
        y1, y2 = min(y1, y2), max(y1, y2)
        draw.rectangle(((x1, y1), (x2, y2)), outline=color, width=STROKE)
        draw.text((x1 + LABEL_OFFSET[0], y1 + LABEL_OFFSET[1]), box.label, fill=color)
    for line in lines:
        # plot_movement: int(v) / input_width * width (a float), for the segment and both dots.
        points = _clip_segment(
            [(int(x) / width * width, int(y) / height * height) for x, y in (line.start_point_2d, line.end_point_2d)],
            width,
            height,
        )
        draw.line((*points[0], *points[1]), fill=LINE_COLOR, width=STROKE)
        for (x, y), color in zip(points, (START_DOT, END_DOT)):
            draw.ellipse([(x - DOT_RADIUS, y - DOT_RADIUS), (x + DOT_RADIUS, y + DOT_RADIUS)], fill=color)
    return np.asarray(canvas).copy()


def _limit(value: float, size: int) -> float:
    return min(max(value, -_COORDINATE_LIMIT), size + _COORDINATE_LIMIT)


def _clip_segment(points: list[tuple[float, float]], width: int, height: int) -> list[tuple[float, float]]:
    """The segment cut to within ``_COORDINATE_LIMIT`` of the image, keeping its direction."""
    (x0, y0), (x1, y1) = points
    low, high = 0.0, 1.0
    for start, delta, lower, upper in (
        (x0, x1 - x0, -_COORDINATE_LIMIT, width + _COORDINATE_LIMIT),
        (y0, y1 - y0, -_COORDINATE_LIMIT, height + _COORDINATE_LIMIT),
    ):
        if delta == 0:
            if not lower <= start <= upper:
                return [(_limit(x0, width), _limit(y0, height)), (_limit(x1, width), _limit(y1, height))]
            continue
        t0, t1 = sorted(((lower - start) / delta, (upper - start) / delta))
        low, high = max(low, t0), min(high, t1)
    if low > high:  # entirely far outside: nothing visible either way
        return [(_limit(x0, width), _limit(y0, height)), (_limit(x1, width), _limit(y1, height))]
    if (low, high) == (0.0, 1.0):
        return points
    dx, dy = x1 - x0, y1 - y0
    return [(x0 + low * dx, y0 + low * dy), (x0 + high * dx, y0 + high * dy)]
