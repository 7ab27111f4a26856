"""Malformed camera messages for the attack tests: fuzzed encodings, sizes, steps, payloads and stamps,
and PNG "bombs" (tiny files declaring huge images)."""

from __future__ import annotations

import random
import struct
import zlib

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

WIDTH, HEIGHT = 160, 120


def textured(seed: int, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A sharp random RGB texture, unlike any other seed's."""
    small = np.random.default_rng(seed).integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


def png_bomb(width: int, height: int, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A 68-byte PNG declaring ``width`` x ``height`` pixels (IHDR as the PNG specification lays it out)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(bytes(10)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + idat + chunk(b"IEND", b"")


def fuzzed_header(rng: random.Random, now_s: int) -> Header:
    seconds = rng.choice([0, 1, now_s, now_s - 3600, now_s + 3600, 2**31 - 1])
    return Header(
        stamp=Time(sec=seconds, nanosec=rng.randint(0, 999_999_999)),
        frame_id=rng.choice(["", "front_optical", "x" * 200]),
    )


def fuzzed_image(rng: random.Random, compressed: bool, now_s: int) -> Image | CompressedImage:
    """A random, mostly malformed Image (or CompressedImage): every field drawn from edge cases."""
    header = fuzzed_header(rng, now_s)
    if compressed:
        ok, good = cv2.imencode(rng.choice([".png", ".jpg"]), textured(rng.randint(0, 5)))
        payload = rng.choice(
            [
                b"",
                bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))),
                png_bomb(rng.randint(0, 90000), 70000),
                good.tobytes()[: rng.randint(0, good.size)],
                b"\x89PNG\r\n\x1a\n" + bytes(30),
                b"\xff\xd8" + bytes(50),
                bytes(12) + png_bomb(40000, 40000, 16, 0),
                good.tobytes(),
            ]
        )
        format_ = rng.choice(
            [
                "jpeg",
                "png",
                "",
                "rgb8; jpeg compressed bgr8",
                "16UC1; compressedDepth png",
                "32FC1; compressedDepth png",
                "junk",
            ]
        )
        return CompressedImage(header=header, format=format_, data=payload)
    width, height = rng.choice([(0, 0), (1, 1), (3, 2), (WIDTH, HEIGHT), (5, 70000), (90000, 90000)])
    encoding = rng.choice(
        [
            "rgb8",
            "bgr8",
            "rgba8",
            "mono8",
            "mono16",
            "16UC1",
            "32FC1",
            "yuv422",
            "uyvy",
            "yuyv",
            "bayer_rggb8",
            "",
            "8UC3",
            "rgb8; junk",
        ]
    )
    step = rng.choice([0, 1, width, width * 2, width * 3, width * 4 + 5, 2**32 - 1])
    size = rng.choice([0, 7, step * height if step * height < 200_000 else 10, 1000])
    return Image(
        header=header,
        height=height,
        width=width,
        encoding=encoding,
        step=step,
        is_bigendian=rng.randint(0, 1),
        data=bytes(rng.getrandbits(8) for _ in range(size)),
    )


def fuzzed_camera_info(rng: random.Random, now_s: int = 0) -> CameraInfo:
    info = CameraInfo(
        header=fuzzed_header(rng, now_s),
        width=rng.randint(0, 5000),
        height=rng.randint(0, 5000),
        distortion_model=rng.choice(["", "plumb_bob", "equidistant", "x" * 300]),
    )
    info.k = [rng.choice([0.0, 1.0, -1.0, float("nan"), float("inf"), 1e300]) for _ in range(9)]
    info.p = [rng.choice([0.0, 1.0, float("nan")]) for _ in range(12)]
    info.d = [rng.uniform(-1e9, 1e9) for _ in range(rng.randint(0, 14))]
    return info


def fuzzed_odometry(rng: random.Random, now_s: int) -> Odometry:
    message = Odometry(header=fuzzed_header(rng, now_s), child_frame_id=rng.choice(["", "base_link"]))
    values = [0.0, 1.0, -1e308, float("nan"), float("inf"), 1e-300]
    pose = message.pose.pose
    pose.position.x, pose.position.y, pose.position.z = (rng.choice(values) for _ in range(3))
    q = pose.orientation
    q.x, q.y, q.z, q.w = (rng.choice(values) for _ in range(4))
    return message
