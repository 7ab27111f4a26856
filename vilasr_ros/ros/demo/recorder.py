"""The demo's drive as an MCAP rosbag2 recording (``--record``), for ``vilasr-ros ingest``."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2

from vilasr_ros.io.bag_writer import BagWriter
from vilasr_ros.ros.demo.script import DRIVE
from vilasr_ros.sim import room as scene

START_NS = 1_700_000_000 * 10**9
PERIOD_NS = 100_000_000
STANDING_TICKS = 20


def record_drive(path: Path, namespace: str) -> None:
    """Write the drive (camera at 10 Hz, odometry at 10 Hz, then 2 s standing) as an MCAP rosbag2 file."""
    bag = BagWriter(path)
    k = scene.camera_matrix().ravel().tolist()
    views = [scene.render(pose) for pose in DRIVE]
    for tick in range(2 * len(DRIVE) + STANDING_TICKS):
        index = min(tick // 2, len(DRIVE) - 1)
        pose, (rgb, depth) = DRIVE[index], views[index]
        stamp = START_NS + tick * PERIOD_NS
        header = {"stamp": {"sec": stamp // 10**9, "nanosec": stamp % 10**9}, "frame_id": "front_optical"}
        odom = {
            "header": {**header, "frame_id": "odom"},
            "child_frame_id": "base_link",
            "pose": {
                "pose": {
                    "position": {"x": pose.x, "y": pose.y, "z": 0.0},
                    "orientation": dict(zip("xyzw", pose.quaternion)),
                }
            },
        }
        bag.write(f"/{namespace}/odom", "nav_msgs/msg/Odometry", odom, stamp)
        bag.write(
            f"/{namespace}/front/image_raw",
            "sensor_msgs/msg/Image",
            {
                "header": header,
                "height": scene.HEIGHT,
                "width": scene.WIDTH,
                "encoding": "rgb8",
                "is_bigendian": 0,
                "step": scene.WIDTH * 3,
                "data": rgb.tobytes(),
            },
            stamp + 1_000_000,
        )
        ok, png = cv2.imencode(".png", depth)
        bag.write(
            f"/{namespace}/front/depth/compressedDepth",
            "sensor_msgs/msg/CompressedImage",
            {
                "header": header,
                "format": "16UC1; compressedDepth png",
                "data": struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes(),
            },
            stamp + 2_000_000,
        )
        bag.write(
            f"/{namespace}/front/camera_info",
            "sensor_msgs/msg/CameraInfo",
            {
                "header": header,
                "height": scene.HEIGHT,
                "width": scene.WIDTH,
                "distortion_model": "plumb_bob",
                "d": [0.0] * 5,
                "k": k,
            },
            stamp + 3_000_000,
        )
    bag.close()
