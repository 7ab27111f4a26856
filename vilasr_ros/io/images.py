"""Camera image bytes to numpy arrays, without ROS (what cv_bridge does, for our encodings).

The ROS layer passes the fields of ``sensor_msgs/Image`` (encoding, size, step,
endianness, data) or ``sensor_msgs/CompressedImage`` (format, data); these
functions return RGB uint8 colour or uint16 / float32 depth. Raw data is
viewed, not copied, where the layout allows it.
"""

from __future__ import annotations

import struct
import sys

import cv2
import numpy as np
from PIL import Image


class ImageConversionError(ValueError):
    """An image message cannot be converted; the message names the encoding and what is wrong."""


# encoding -> (dtype, channels)
_RAW_LAYOUTS = {
    "rgb8": (np.uint8, 3),
    "bgr8": (np.uint8, 3),
    "8UC3": (np.uint8, 3),
    "rgba8": (np.uint8, 4),
    "bgra8": (np.uint8, 4),
    "8UC4": (np.uint8, 4),
    "mono8": (np.uint8, 1),
    "8UC1": (np.uint8, 1),
    "yuv422": (np.uint8, 2),
    "uyvy": (np.uint8, 2),
    "yuv422_yuy2": (np.uint8, 2),
    "yuyv": (np.uint8, 2),
    "mono16": (np.uint16, 1),
    "16UC1": (np.uint16, 1),
    "32FC1": (np.float32, 1),
}
_TO_RGB = {
    "rgb8": None,
    "bgr8": cv2.COLOR_BGR2RGB,
    "8UC3": cv2.COLOR_BGR2RGB,
    "rgba8": cv2.COLOR_RGBA2RGB,
    "bgra8": cv2.COLOR_BGRA2RGB,
    "8UC4": cv2.COLOR_BGRA2RGB,
    "mono8": cv2.COLOR_GRAY2RGB,
    "8UC1": cv2.COLOR_GRAY2RGB,
    "yuv422": cv2.COLOR_YUV2RGB_UYVY,
    "uyvy": cv2.COLOR_YUV2RGB_UYVY,
    "yuv422_yuy2": cv2.COLOR_YUV2RGB_YUY2,
    "yuyv": cv2.COLOR_YUV2RGB_YUY2,
}
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
_COMPRESSED_DEPTH_HEADER = struct.Struct("<iff")  # format enum, depthQuantA, depthQuantB


def raw_array(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data) -> np.ndarray:
    """The pixels of a raw image as an (H, W) or (H, W, C) array viewing ``data`` where possible."""
    if encoding not in _RAW_LAYOUTS:
        raise ImageConversionError(
            f"unsupported image encoding {encoding!r} (supported: {', '.join(sorted(_RAW_LAYOUTS))})"
        )
    dtype, channels = _RAW_LAYOUTS[encoding]
    dtype = np.dtype(dtype)
    row_bytes = width * channels * dtype.itemsize
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"{encoding} image has size {width}x{height}")
    if step < row_bytes:
        raise ImageConversionError(f"{encoding} image step {step} is smaller than a row ({row_bytes} bytes)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise ImageConversionError(
            f"{encoding} image {width}x{height} needs {step * height} bytes, message has {buffer.size}"
        )
    rows = buffer[: step * height].reshape(height, step)[:, :row_bytes]
    if not rows.flags.c_contiguous:  # padded rows: one copy
        rows = np.ascontiguousarray(rows)
    pixels = rows.view(dtype)
    if dtype.itemsize > 1 and bool(is_bigendian) != (sys.byteorder == "big"):
        pixels = pixels.byteswap()
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def colour_from_raw(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data) -> np.ndarray:
    """A raw colour image as RGB uint8 (H, W, 3); rgb8 with a packed layout is a view, not a copy."""
    if encoding in DEPTH_ENCODINGS:
        raise ImageConversionError(f"encoding {encoding!r} is a depth encoding, not a colour image")
    pixels = raw_array(encoding, height, width, step, is_bigendian, data)
    conversion = _TO_RGB[encoding]
    return pixels if conversion is None else cv2.cvtColor(pixels, conversion)


def depth_from_raw(encoding: str, height: int, width: int, step: int, is_bigendian: bool, data) -> np.ndarray:
    """A raw depth image: uint16 (16UC1 / mono16, sensor units) or float32 metres (32FC1)."""
    if encoding not in DEPTH_ENCODINGS:
        raise ImageConversionError(f"depth encoding must be one of {', '.join(DEPTH_ENCODINGS)}, got {encoding!r}")
    return raw_array(encoding, height, width, step, is_bigendian, data)


def colour_from_compressed(format_: str, data) -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg / png) as RGB uint8 (H, W, 3)."""
    if "compresseddepth" in format_.lower():
        raise ImageConversionError(f"format {format_!r} is compressed depth, not a colour image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageConversionError(f"cannot decode compressed image (format {format_!r}, {len(data)} bytes)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def depth_from_compressed(format_: str, data) -> np.ndarray:
    """A ``compressedDepth`` image (compressed_depth_image_transport) as uint16 or float32 metres.

    ``16UC1; compressedDepth png``: a 12-byte header, then a 16-bit PNG.
    ``32FC1; compressedDepth png``: the PNG holds quantised inverse depth,
    depth = depthQuantA / (value - depthQuantB); 0 means no depth (NaN).
    """
    encoding = format_.split(";")[0].strip()
    if "compresseddepth" not in format_.lower() or encoding not in ("16UC1", "32FC1"):
        raise ImageConversionError(f"unsupported compressed depth format {format_!r} (16UC1/32FC1 compressedDepth)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size <= _COMPRESSED_DEPTH_HEADER.size:
        raise ImageConversionError(f"compressed depth message too short ({buffer.size} bytes)")
    _, quant_a, quant_b = _COMPRESSED_DEPTH_HEADER.unpack(buffer[: _COMPRESSED_DEPTH_HEADER.size].tobytes())
    image = cv2.imdecode(buffer[_COMPRESSED_DEPTH_HEADER.size :], cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype != np.uint16 or image.ndim != 2:
        raise ImageConversionError(f"cannot decode the 16-bit PNG of compressed depth (format {format_!r})")
    if encoding == "16UC1":
        return image
    values = image.astype(np.float32)
    with np.errstate(divide="ignore"):
        depth = np.where(image > 0, quant_a / (values - quant_b), np.nan).astype(np.float32)
    return depth


def to_rgb(image: Image.Image) -> Image.Image:
    """An RGB copy of a Pillow image: RGBA composited on white, any other mode converted (as qwen_vl_utils does)."""
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.split()[3])
        return background
    return image.convert("RGB")


def load_rgb(path: str) -> np.ndarray:
    """An image file as RGB uint8 (H, W, 3), read as the reference reads it (Pillow, transparency composited on
    white); raises :class:`ImageConversionError` naming the file."""
    try:
        with Image.open(path) as image:
            return np.asarray(to_rgb(image)).copy()
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageConversionError(f"cannot read image {path} ({error})") from error
