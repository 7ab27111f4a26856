"""Image message bytes to arrays: every supported encoding, padding, endianness, compression, errors."""

import struct

import cv2
import numpy as np
import pytest

from vilasr_ros.io.images import (
    ImageConversionError,
    colour_from_compressed,
    colour_from_raw,
    depth_from_compressed,
    depth_from_raw,
)

RGB = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "encoding, pixels",
    [
        ("rgb8", RGB),
        ("bgr8", RGB[..., ::-1]),
        ("rgba8", np.dstack([RGB, np.full((6, 5), 255, np.uint8)])),
        ("bgra8", np.dstack([RGB[..., ::-1], np.full((6, 5), 7, np.uint8)])),
    ],
)
def test_colour_encodings_give_rgb(encoding, pixels):
    data = np.ascontiguousarray(pixels).tobytes()
    image = colour_from_raw(encoding, 6, 5, pixels.shape[2] * 5, False, data)
    assert image.shape == (6, 5, 3) and image.dtype == np.uint8
    assert (image == RGB).all()


def test_rgb8_is_a_view_of_the_message_data():
    data = bytearray(RGB.tobytes())
    image = colour_from_raw("rgb8", 6, 5, 15, False, data)
    data[0] = (int(data[0]) + 1) % 256
    assert image[0, 0, 0] == data[0]  # no copy was made


def test_mono_and_padded_rows():
    gray = RGB[..., 0]
    padded = np.zeros((6, 8), np.uint8)
    padded[:, :5] = gray
    image = colour_from_raw("mono8", 6, 5, 8, False, padded.tobytes())
    assert (image[..., 0] == gray).all() and (image[..., 2] == gray).all()


def test_depth_encodings_and_endianness():
    millimetres = np.array([[0, 1000], [2500, 65535]], np.uint16)
    assert (depth_from_raw("16UC1", 2, 2, 4, False, millimetres.astype("<u2").tobytes()) == millimetres).all()
    assert (depth_from_raw("16UC1", 2, 2, 4, True, millimetres.astype(">u2").tobytes()) == millimetres).all()
    metres = np.array([[0.5, np.nan], [1.25, 3.0]], np.float32)
    out = depth_from_raw("32FC1", 2, 2, 8, False, metres.tobytes())
    assert out.dtype == np.float32 and np.array_equal(out, metres, equal_nan=True)


def test_yuv422_is_converted():
    uyvy = np.full((4, 4, 2), 128, np.uint8)
    uyvy[..., 1] = 200  # luma
    image = colour_from_raw("yuv422", 4, 4, 8, False, uyvy.tobytes())
    # BT.601 video range: Y=200 with neutral chroma is grey 1.164 * (200 - 16) = 214.
    assert image.shape == (4, 4, 3) and all(abs(int(v) - 214) <= 2 for v in image[0, 0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: colour_from_raw("bayer_rggb8", 2, 2, 2, False, b"\0" * 4), "unsupported image encoding 'bayer_rggb8'"),
        (lambda: colour_from_raw("rgb8", 2, 2, 6, False, b"\0" * 5), "needs 12 bytes, message has 5"),
        (lambda: colour_from_raw("rgb8", 2, 2, 4, False, b"\0" * 12), "step 4 is smaller than a row"),
        (lambda: colour_from_raw("16UC1", 2, 2, 4, False, b"\0" * 8), "is a depth encoding"),
        (lambda: depth_from_raw("rgb8", 2, 2, 6, False, b"\0" * 12), "depth encoding must be one of"),
        (lambda: colour_from_raw("rgb8", 0, 2, 6, False, b""), "has size 2x0"),
        (lambda: colour_from_compressed("jpeg", b"not a jpeg"), "not a PNG or JPEG image"),
        (lambda: depth_from_compressed("16UC1; compressedDepth png", b"\0" * 4), "too short"),
        (lambda: depth_from_compressed("jpeg", b"\0" * 40), "unsupported compressed depth format"),
    ],
)
def test_bad_messages_are_refused_with_the_encoding_named(call, message):
    with pytest.raises(ImageConversionError, match=message):
        call()


def test_compressed_colour_png_round_trip():
    ok, png = cv2.imencode(".png", cv2.cvtColor(RGB, cv2.COLOR_RGB2BGR))
    assert ok
    assert (colour_from_compressed("rgb8; png compressed bgr8", png.tobytes()) == RGB).all()


def test_compressed_depth_16_and_32_bit():
    millimetres = np.array([[0, 1000], [2500, 4000]], np.uint16)
    ok, png = cv2.imencode(".png", millimetres)
    header = struct.pack("<iff", 0, 0.0, 0.0)
    assert (depth_from_compressed("16UC1; compressedDepth png", header + png.tobytes()) == millimetres).all()
    quant_a, quant_b = 100.0, 10.0  # depth = a / (v - b)
    depth = np.array([[1.0, 2.0], [0.5, 0.0]], np.float32)
    quantised = np.where(depth > 0, quant_a / np.where(depth > 0, depth, 1) + quant_b, 0).astype(np.uint16)
    ok, png = cv2.imencode(".png", quantised)
    out = depth_from_compressed("32FC1; compressedDepth png", struct.pack("<iff", 0, quant_a, quant_b) + png.tobytes())
    assert np.allclose(out[:1], depth[:1], rtol=1e-3) and abs(out[1, 0] - 0.5) < 1e-3 and np.isnan(out[1, 1])
