"""Camera image bytes to numpy arrays, without ROS (what cv_bridge does, for our encodings).

The ROS layer passes the fields of ``sensor_msgs/Image`` (encoding, size, step,
endianness, data) or ``sensor_msgs/CompressedImage`` (format, data); these
functions return RGB uint8 colour or uint16 / float32 depth. Raw data is
viewed, not copied, where the layout allows it.

Every failure is an :class:`ImageConversionError` (OpenCV errors included),
never another exception. The pixel count is checked before anything is
decoded or converted: for compressed images it is read from the PNG or JPEG
header, so a small file declaring a huge image (a "PNG bomb") is refused
without allocating it.
"""

from __future__ import annotations

import struct
import sys

import cv2
import numpy as np
from PIL import Image

MAX_IMAGE_PIXELS = 4096 * 2160  # default limit: a 4K (DCI) image; UHD 3840x2160 fits


class ImageConversionError(ValueError):
    """An image message cannot be converted; the message names the encoding and what is wrong.

    ``reason`` is a short category for counters: malformed, too large, unsupported or undecodable.
    """

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


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
_YUV422 = ("yuv422", "uyvy", "yuv422_yuy2", "yuyv")  # two pixels share one chroma pair: even widths only
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic), which carry the image size
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def check_pixels(what: str, width: int, height: int, max_pixels: int) -> None:
    """Raise ImageConversionError (reason "too large") when ``width`` x ``height`` exceeds ``max_pixels``."""
    if width * height > max_pixels:
        raise ImageConversionError(
            f"{what} is {width}x{height} = {width * height} pixels, more than the limit of {max_pixels} "
            "(cameras.max_image_pixels)",
            reason="too large",
        )


def compressed_size(data) -> tuple[int, int]:
    """(width, height) declared by a PNG or JPEG file's header, read without decoding it.

    Raises ImageConversionError when ``data`` is neither, or its header is cut short.
    """
    head = np.frombuffer(data, dtype=np.uint8)
    if head[:8].tobytes() == _PNG_SIGNATURE:
        if head.size < 24 or head[12:16].tobytes() != b"IHDR":
            raise ImageConversionError(f"PNG header cut short or without IHDR ({head.size} bytes)")
        width, height = struct.unpack(">II", head[16:24].tobytes())
        return width, height
    if head[:2].tobytes() == b"\xff\xd8":
        return _jpeg_size(head)
    raise ImageConversionError(
        f"not a PNG or JPEG image (starts with {head[:8].tobytes()!r}, {head.size} bytes)", reason="unsupported"
    )


def _jpeg_size(head: np.ndarray) -> tuple[int, int]:
    position = 2
    while position + 4 <= head.size:
        if head[position] != 0xFF:
            raise ImageConversionError(f"JPEG segment marker expected at byte {position}")
        marker = int(head[position + 1])
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        length = int(head[position + 2]) << 8 | int(head[position + 3])
        if marker in _JPEG_SOF:
            if length < 7 or position + 9 > head.size:
                raise ImageConversionError("JPEG frame header cut short")
            height = int(head[position + 5]) << 8 | int(head[position + 6])
            width = int(head[position + 7]) << 8 | int(head[position + 8])
            return width, height
        if marker == 0xDA or length < 2:  # scan data before any frame header, or a broken segment
            break
        position += 2 + length
    raise ImageConversionError(f"JPEG without a frame header (size unknown, {head.size} bytes)")


def _decode(buffer: np.ndarray, flags: int, what: str, max_pixels: int) -> np.ndarray | None:
    """cv2.imdecode after checking the declared size; None when OpenCV cannot decode it."""
    width, height = compressed_size(buffer)
    if width == 0 or height == 0:
        raise ImageConversionError(f"{what} declares an empty image ({width}x{height})")
    check_pixels(what, width, height, max_pixels)
    try:
        return cv2.imdecode(buffer, flags)
    except cv2.error as error:
        raise ImageConversionError(f"cannot decode {what}: {_first_line(error)}", reason="undecodable") from None


def _convert(pixels: np.ndarray, code: int, encoding: str, in_place: bool = False) -> np.ndarray:
    """cv2.cvtColor as an ImageConversionError on failure; ``in_place`` reuses ``pixels`` (same channel count)."""
    try:
        return cv2.cvtColor(pixels, code, dst=pixels) if in_place else cv2.cvtColor(pixels, code)
    except cv2.error as error:
        raise ImageConversionError(f"cannot convert {encoding} to RGB: {_first_line(error)}") from None


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def raw_array(
    encoding: str, height: int, width: int, step: int, is_bigendian: bool, data, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """The pixels of a raw image as an (H, W) or (H, W, C) array viewing ``data`` where possible.

    Only the ``step * height`` bytes of the image are viewed; longer ``data`` is copied
    out so that the result never keeps a larger buffer alive.
    """
    if encoding not in _RAW_LAYOUTS:
        raise ImageConversionError(
            f"unsupported image encoding {encoding!r} (supported: {', '.join(sorted(_RAW_LAYOUTS))})",
            reason="unsupported",
        )
    dtype, channels = _RAW_LAYOUTS[encoding]
    dtype = np.dtype(dtype)
    row_bytes = width * channels * dtype.itemsize
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"{encoding} image has size {width}x{height}")
    check_pixels(f"{encoding} image", width, height, max_pixels)
    if encoding in _YUV422 and width % 2:
        raise ImageConversionError(f"{encoding} image has an odd width {width} (two pixels share their chroma)")
    if step < row_bytes:
        raise ImageConversionError(f"{encoding} image step {step} is smaller than a row ({row_bytes} bytes)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size < step * height:
        raise ImageConversionError(
            f"{encoding} image {width}x{height} needs {step * height} bytes, message has {buffer.size}"
        )
    rows = buffer[: step * height].reshape(height, step)[:, :row_bytes]
    if not rows.flags.c_contiguous or buffer.size > rows.size:  # padded rows or trailing bytes: one copy
        rows = rows.copy()
    pixels = rows.view(dtype)
    if dtype.itemsize > 1 and bool(is_bigendian) != (sys.byteorder == "big"):
        pixels = pixels.byteswap()
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def colour_from_raw(
    encoding: str, height: int, width: int, step: int, is_bigendian: bool, data, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """A raw colour image as RGB uint8 (H, W, 3); rgb8 with a packed layout is a view, not a copy."""
    if encoding in DEPTH_ENCODINGS:
        raise ImageConversionError(f"encoding {encoding!r} is a depth encoding, not a colour image", "unsupported")
    pixels = raw_array(encoding, height, width, step, is_bigendian, data, max_pixels)
    conversion = _TO_RGB[encoding]
    return pixels if conversion is None else _convert(pixels, conversion, encoding)


def depth_from_raw(
    encoding: str, height: int, width: int, step: int, is_bigendian: bool, data, max_pixels: int = MAX_IMAGE_PIXELS
) -> np.ndarray:
    """A raw depth image: uint16 (16UC1 / mono16, sensor units) or float32 metres (32FC1)."""
    if encoding not in DEPTH_ENCODINGS:
        raise ImageConversionError(
            f"depth encoding must be one of {', '.join(DEPTH_ENCODINGS)}, got {encoding!r}", "unsupported"
        )
    return raw_array(encoding, height, width, step, is_bigendian, data, max_pixels)


def colour_from_compressed(format_: str, data, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A sensor_msgs/CompressedImage (jpeg / png) as RGB uint8 (H, W, 3); its size is checked before decoding."""
    if "compresseddepth" in format_.lower():
        raise ImageConversionError(f"format {format_!r} is compressed depth, not a colour image", "unsupported")
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0:
        raise ImageConversionError(f"empty compressed image (format {format_!r})")
    image = _decode(buffer, cv2.IMREAD_COLOR, f"compressed image (format {format_!r})", max_pixels)
    if image is None:
        raise ImageConversionError(
            f"cannot decode compressed image (format {format_!r}, {buffer.size} bytes)", reason="undecodable"
        )
    return _convert(image, cv2.COLOR_BGR2RGB, "bgr8", in_place=True)  # the decoded image is ours: no second copy


def depth_from_compressed(format_: str, data, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A ``compressedDepth`` image (compressed_depth_image_transport) as uint16 or float32 metres.

    ``16UC1; compressedDepth png``: a 12-byte header, then a 16-bit PNG.
    ``32FC1; compressedDepth png``: the PNG holds quantised inverse depth,
    depth = depthQuantA / (value - depthQuantB); 0 means no depth (NaN).
    """
    encoding = format_.split(";")[0].strip()
    if "compresseddepth" not in format_.lower() or encoding not in ("16UC1", "32FC1"):
        raise ImageConversionError(
            f"unsupported compressed depth format {format_!r} (16UC1/32FC1 compressedDepth)", reason="unsupported"
        )
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size <= _COMPRESSED_DEPTH_HEADER.size:
        raise ImageConversionError(f"compressed depth message too short ({buffer.size} bytes)")
    _, quant_a, quant_b = _COMPRESSED_DEPTH_HEADER.unpack(buffer[: _COMPRESSED_DEPTH_HEADER.size].tobytes())
    what = f"compressed depth (format {format_!r})"
    image = _decode(buffer[_COMPRESSED_DEPTH_HEADER.size :], cv2.IMREAD_UNCHANGED, what, max_pixels)
    if image is None or image.dtype != np.uint16 or image.ndim != 2:
        raise ImageConversionError(f"cannot decode the 16-bit PNG of {what}", reason="undecodable")
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
