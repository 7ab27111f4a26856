"""Malformed and oversized image messages are refused with a reason, before anything large is allocated;
rectified calibration comes from P."""

from __future__ import annotations

import resource
import struct
import time
import zlib
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from vilasr_ros.config import CameraConfig, ConfigError
from vilasr_ros.io import messages
from vilasr_ros.io.images import (
    MAX_IMAGE_PIXELS,
    ImageConversionError,
    colour_from_compressed,
    colour_from_raw,
    compressed_size,
    depth_from_compressed,
    depth_from_raw,
)
from vilasr_ros.keyframes.store import held_bytes


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A tiny PNG that declares ``width`` x ``height`` pixels (the PNG specification's IHDR layout)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + png_chunk(b"IEND", b"")
    )


IMAGE = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "extension, flags",
    [(".png", []), (".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".jpg", [cv2.IMWRITE_JPEG_OPTIMIZE, 1])],
)
def test_the_declared_size_is_read_from_png_and_jpeg_headers(extension, flags):
    ok, encoded = cv2.imencode(extension, IMAGE, flags)
    assert ok
    assert compressed_size(encoded.tobytes()) == (53, 37)


def test_the_68_byte_png_declaring_40000x40000_is_refused_without_decoding():
    bomb = png_bomb(40000, 40000)
    assert len(bomb) == 68
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ImageConversionError, match="40000x40000 = 1600000000 pixels") as error:
        colour_from_compressed("png", bomb)
    assert error.value.reason == "too large"
    assert time.perf_counter() - started < 0.5
    # Decoding it would allocate 4.8 GB; the peak resident memory must not have moved by even 100 MB.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 100_000


def test_a_jpeg_declaring_a_huge_size_is_refused_and_the_limit_is_a_parameter():
    ok, encoded = cv2.imencode(".jpg", IMAGE)
    data = bytearray(encoded.tobytes())
    start = next(i for i in range(2, len(data) - 1) if data[i] == 0xFF and data[i + 1] in (0xC0, 0xC2))
    data[start + 5 : start + 9] = struct.pack(">HH", 60000, 60000)  # height, width in the frame header
    with pytest.raises(ImageConversionError, match="60000x60000") as error:
        colour_from_compressed("jpeg", bytes(data))
    assert error.value.reason == "too large"
    with pytest.raises(ImageConversionError, match="53x37 = 1961 pixels, more than the limit of 1000"):
        colour_from_compressed("jpeg", encoded.tobytes(), max_pixels=1000)
    assert colour_from_compressed("jpeg", encoded.tobytes(), max_pixels=1961).shape == (37, 53, 3)


def test_the_default_limit_admits_4k():
    assert MAX_IMAGE_PIXELS >= 3840 * 2160 and 4096 * 2160 <= MAX_IMAGE_PIXELS < 5000 * 3000


@pytest.mark.parametrize(
    "call, message, reason",
    [
        (lambda: colour_from_compressed("jpeg", b""), "empty compressed image", "malformed"),
        (lambda: colour_from_compressed("png", b"\x89PNG\r\n\x1a\n\0\0"), "PNG header cut short", "malformed"),
        (lambda: colour_from_compressed("jpeg", b"\xff\xd8\xff\xe0\0\x10JFIF"), "JPEG without a frame", "malformed"),
        (lambda: colour_from_compressed("png", png_bomb(64, 64)), "cannot decode", "undecodable"),
        (lambda: colour_from_compressed("png", png_bomb(0, 10)), "declares an empty image", "malformed"),
        (lambda: colour_from_compressed("bmp", b"BM" + bytes(60)), "not a PNG or JPEG", "unsupported"),
        (lambda: colour_from_raw("yuv422", 2, 3, 6, False, bytes(12)), "odd width 3", "malformed"),
        (lambda: colour_from_raw("uyvy", 2, 5, 10, False, bytes(20)), "odd width 5", "malformed"),
        (lambda: colour_from_raw("yuyv", 4, 1, 2, False, bytes(8)), "odd width 1", "malformed"),
        (lambda: colour_from_raw("rgb8", 40000, 40000, 120000, False, b""), "more than the limit", "too large"),
        (lambda: depth_from_raw("16UC1", 30000, 30000, 60000, False, b""), "more than the limit", "too large"),
        (
            lambda: depth_from_compressed("16UC1; compressedDepth png", bytes(12) + png_bomb(40000, 40000, 16, 0)),
            "more than the limit",
            "too large",
        ),
        (lambda: colour_from_raw("bayer_rggb8", 2, 2, 2, False, bytes(4)), "unsupported image encoding", "unsupported"),
    ],
)
def test_malformed_images_raise_only_image_conversion_errors_with_a_reason(call, message, reason):
    with pytest.raises(ImageConversionError, match=message) as error:
        call()
    assert error.value.reason == reason


def test_yuv422_with_an_even_width_still_converts():
    uyvy = np.full((2, 4, 2), 128, np.uint8)
    assert colour_from_raw("uyvy", 2, 4, 8, False, uyvy.tobytes()).shape == (2, 4, 3)


def test_a_raw_image_never_keeps_a_larger_message_buffer_alive():
    packed = IMAGE.tobytes()
    view = colour_from_raw("rgb8", 37, 53, 53 * 3, False, packed)
    assert held_bytes(view) == IMAGE.nbytes  # a view of exactly the image
    longer = colour_from_raw("rgb8", 37, 53, 53 * 3, False, packed + bytes(10 * IMAGE.nbytes))
    assert (longer == IMAGE).all() and held_bytes(longer) == IMAGE.nbytes  # trailing bytes: copied out


def test_held_bytes_counts_the_buffer_under_a_view_once():
    whole = np.zeros((100, 100), np.uint16)
    corner = whole[:10, :10]
    assert corner.nbytes == 200 and held_bytes(corner) == whole.nbytes
    assert held_bytes(corner, whole[50:, 50:]) == whole.nbytes
    assert held_bytes(np.frombuffer(bytearray(1000), np.uint8)[:10]) == 1000
    assert held_bytes(None) == 0


def camera_info(**fields):
    k = [500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0]
    p = [480.0, 0.0, 310.0, 0.0, 0.0, 470.0, 235.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    values = dict(k=k, p=p, d=[0.1, -0.2, 0.0, 0.0, 0.05], width=640, height=480, distortion_model="plumb_bob")
    return SimpleNamespace(**{**values, **fields})


def test_rectified_images_use_p_and_no_distortion():
    raw = messages.intrinsics(camera_info())
    assert raw.k[0, 0] == 500.0 and raw.distortion == (0.1, -0.2, 0.0, 0.0, 0.05)
    rectified = messages.intrinsics(camera_info(), rectified=True)
    assert rectified.k.tolist() == [[480.0, 0.0, 310.0], [0.0, 470.0, 235.0], [0.0, 0.0, 1.0]]
    assert rectified.distortion == ()
    assert messages.intrinsics(camera_info(p=[0.0] * 12), rectified=True).k[0, 0] == 500.0  # no P: K
    with pytest.raises(ValueError, match="P must have 12 values"):
        messages.intrinsics(camera_info(p=[1.0] * 5), rectified=True)


@pytest.mark.parametrize(
    "topic, setting, rectified",
    [
        ("/camera/color/image_raw", "auto", False),
        ("/camera/color/image_rect_color", "auto", True),
        ("/camera/image_rect", "auto", True),
        ("/camera/image_rect/compressed", "auto", True),
        ("/camera/image_rectangle_raw", "auto", True),  # image_rect* as image_proc names them
        ("/camera/rect/image_raw", "auto", False),
        ("/camera/color/image_raw", "true", True),
        ("/camera/image_rect", "false", False),
    ],
)
def test_rectified_defaults_from_the_topic_name(topic, setting, rectified):
    assert CameraConfig(name="c", image_topic=topic, rectified=setting).is_rectified == rectified


def test_rectified_must_be_auto_true_or_false():
    with pytest.raises(ConfigError, match="cameras.c.rectified must be one of auto, true, false"):
        CameraConfig(name="c", rectified="yes")
