"""ROS messages to the core types, by field name only: rclpy messages and messages decoded from a bag alike.

Nothing here imports ROS: any object with the ROS field names works
(``header.stamp.sec``, ``encoding``, ``k``, ``pose.position.x``, ...), so the
live node and offline ingestion convert messages the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.poses import Pose
from vilasr_ros.io.images import colour_from_compressed, colour_from_raw, depth_from_compressed, depth_from_raw


def stamp_ns(stamp: Any) -> int:
    """A builtin_interfaces/Time in integer nanoseconds."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def colour_image(msg: Any, compressed: bool) -> np.ndarray:
    """A sensor_msgs/Image, or a CompressedImage when ``compressed``, as RGB uint8 (raises ImageConversionError)."""
    if compressed:
        return colour_from_compressed(msg.format, msg.data)
    return colour_from_raw(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)


def depth_image(msg: Any, compressed: bool) -> np.ndarray:
    """A depth Image (16UC1 / 32FC1), or a compressedDepth CompressedImage when ``compressed``,
    as uint16 sensor units or float32 metres (raises ImageConversionError)."""
    if compressed:
        return depth_from_compressed(msg.format, msg.data)
    return depth_from_raw(msg.encoding, msg.height, msg.width, msg.step, bool(msg.is_bigendian), msg.data)


def intrinsics(msg: Any) -> CameraIntrinsics:
    """A sensor_msgs/CameraInfo as CameraIntrinsics (raises KeyframeError when it is not a calibration)."""
    return CameraIntrinsics(
        k=np.array(msg.k, dtype=np.float64).reshape(3, 3),
        width=int(msg.width),
        height=int(msg.height),
        distortion=tuple(float(value) for value in msg.d),
        distortion_model=msg.distortion_model or "plumb_bob",
    )


def pose(msg: Any, frame_id: str) -> Pose:
    """A geometry_msgs/Pose in ``frame_id`` as a Pose (raises KeyframeError when not finite)."""
    return Pose(
        (msg.position.x, msg.position.y, msg.position.z),
        (msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w),
        frame_id,
    )
