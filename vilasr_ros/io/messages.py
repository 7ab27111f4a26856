"""ROS messages to the core types, by field name only: rclpy messages and messages decoded from a bag alike.

Nothing here imports ROS: any object with the ROS field names works
(``header.stamp.sec``, ``encoding``, ``k``, ``pose.position.x``, ...), so the
live node and offline ingestion convert messages the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose
from vilasr_ros.io.images import (
    MAX_IMAGE_PIXELS,
    colour_from_compressed,
    colour_from_raw,
    depth_from_compressed,
    depth_from_raw,
)


def stamp_ns(stamp: Any) -> int:
    """A builtin_interfaces/Time in integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def colour_image(msg: Any, compressed: bool, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A sensor_msgs/Image, or a CompressedImage when ``compressed``, as RGB uint8 (raises ImageConversionError,
    also when it has more than ``max_pixels`` pixels, checked before decoding)."""
    if compressed:
        return colour_from_compressed(msg.format, msg.data, max_pixels)
    return colour_from_raw(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data, max_pixels)


def depth_image(msg: Any, compressed: bool, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """A depth Image (16UC1 / 32FC1), or a compressedDepth CompressedImage when ``compressed``,
    as uint16 sensor units or float32 metres (raises ImageConversionError)."""
    if compressed:
        return depth_from_compressed(msg.format, msg.data, max_pixels)
    return depth_from_raw(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data, max_pixels)


def intrinsics(msg: Any, rectified: bool = False) -> CameraIntrinsics:
    """A sensor_msgs/CameraInfo as CameraIntrinsics (raises DataError when it is not a calibration).

    ``rectified``: the image is rectified (``image_rect*``), so the camera matrix is
    the left 3x3 of the projection matrix P and there is no distortion (K and D
    describe the raw image); without a P, K is used.
    """
    width, height = int(msg.width), int(msg.height)
    if not rectified:
        return CameraIntrinsics(
            k=_matrix(msg.k, 9, "K").reshape(3, 3),
            width=width,
            height=height,
            distortion=tuple(float(value) for value in msg.d),
            distortion_model=msg.distortion_model or "plumb_bob",
        )
    p = _matrix(msg.p, 12, "P").reshape(3, 4)
    k = p[:, :3] if p.any() else _matrix(msg.k, 9, "K").reshape(3, 3)
    return CameraIntrinsics(k=k, width=width, height=height, distortion=(), distortion_model="plumb_bob")


def _matrix(values: Any, size: int, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size != size:
        raise DataError(f"camera_info {name} must have {size} values, got {array.size}")
    return array


def pose(msg: Any, frame_id: str) -> Pose:
    """A geometry_msgs/Pose in ``frame_id`` as a Pose (raises KeyframeError when not finite)."""
    return Pose(
        (msg.position.x, msg.position.y, msg.position.z),
        (msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w),
        frame_id,
    )
