"""Image sizing for Qwen2.5-VL: ``smart_resize``, the resize itself, and the map back to source pixels.

As the reference (qwen_vl_utils ``fetch_image``): RGBA is composited on white,
other modes converted to RGB, then the image is resized with Pillow's bicubic
filter to its ``smart_resize`` size.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict

import numpy as np
from PIL import Image

from vilasr_ros.core.conversation import ResizeMapping

PATCH_FACTOR = 28  # 14 px patches, merged 2x2: sides are multiples of 28
MIN_PIXELS = 56 * 56
MAX_ASPECT_RATIO = 200


class ImageError(ValueError):
    """An image cannot be used (wrong shape, dtype, or aspect ratio)."""


def smart_resize(
    height: int, width: int, max_pixels: int, min_pixels: int = MIN_PIXELS, factor: int = PATCH_FACTOR
) -> tuple[int, int]:
    """Qwen2.5-VL's target size: sides rounded to ``factor``, area within [min_pixels, max_pixels].

    Returns ``(height, width)``. Same arithmetic as the model's image processor.
    """
    if height <= 0 or width <= 0:
        raise ImageError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise ImageError(f"aspect ratio of {width}x{height} exceeds {MAX_ASPECT_RATIO}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def check_rgb(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Return ``image`` if it is an RGB uint8 array of shape (H, W, 3); raise :class:`ImageError` otherwise."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"{what} must have shape (height, width, 3), got {image.shape}")
    if image.dtype != np.uint8:
        raise ImageError(f"{what} must be uint8, got {image.dtype}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"{what} is empty")
    return image


def resize_for_model(image: np.ndarray, max_pixels: int) -> tuple[np.ndarray, ResizeMapping]:
    """Resize an RGB image to its ``smart_resize`` size with Pillow's bicubic filter; return it with the mapping back."""
    check_rgb(image)
    source_height, source_width = image.shape[:2]
    height, width = smart_resize(source_height, source_width, max_pixels)
    if (height, width) == (source_height, source_width):
        resized = np.ascontiguousarray(image)
    else:
        pillow = Image.fromarray(np.ascontiguousarray(image), "RGB")
        resized = np.asarray(pillow.resize((width, height), Image.Resampling.BICUBIC)).copy()
    return resized, ResizeMapping(source_width, source_height, width, height)


class ResizeCache:
    """Resized copies of source images that outlive one query (keyframes are asked about again and again).

    Keyed by the source array's identity, checked through a weak reference, so
    a freed array never matches; at most ``capacity`` entries, least recently
    used first out. Thread-safe.
    """

    def __init__(self, capacity: int = 64) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, int], tuple[weakref.ref, np.ndarray, ResizeMapping]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def resize(self, image: np.ndarray, max_pixels: int) -> tuple[np.ndarray, ResizeMapping]:
        """``resize_for_model(image, max_pixels)``, from the cache when this very array was resized before."""
        key = (id(image), max_pixels)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0]() is image:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[1], entry[2]
        resized, mapping = resize_for_model(image, max_pixels)
        try:
            reference = weakref.ref(image)
        except TypeError:  # not weak-referenceable: do not cache
            return resized, mapping
        with self._lock:
            self.misses += 1
            self._entries[key] = (reference, resized, mapping)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        return resized, mapping
