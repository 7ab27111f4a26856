"""A recorded robot run for the ingest tests: an MCAP rosbag2 of a moving RGB-D camera with odometry, its
parameters, and the frame comparison (shared by test_ingest.py and test_ingest_rosbags.py)."""

from __future__ import annotations

import functools
import math
import struct
from pathlib import Path

import cv2
import numpy as np
import yaml

from vilasr_ros.core.camera import Frame
from vilasr_ros.core.poses import Pose
from vilasr_ros.io.bag_writer import BagWriter

SHARE = Path(__file__).resolve().parents[1] / ".venv" / "share"
MS = 1_000_000
START_NS = 1_700_000_000 * 1_000_000_000  # recordings carry wall-clock stamps
HEIGHT, WIDTH = 120, 160
FRAMES = 30  # 3 s at 10 Hz
STEP_M = 0.13  # base motion per frame: a keyframe every 4 frames at min_translation 0.5
HEADING = math.radians(30)
K = [100.0, 0.0, 80.0, 0.0, 100.0, 60.0, 0.0, 0.0, 1.0]
D = [0.1, -0.05, 0.001, 0.002, 0.0]
EXTRINSIC = "0.2 0.0 0.5 -0.5 0.5 -0.5 0.5"  # optical frame (z forward) on a base looking along x


# --- recordings written with the mcap-ros2-support writer --------------------------------------


class Recording:
    """An MCAP file being written, with the schemas of the message types it uses."""

    def __init__(self, path: Path) -> None:
        self.bag = BagWriter(path, share=SHARE)

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        self.bag.write(topic, type_name, message, log_time_ns)

    def write_raw(self, topic: str, data: bytes, log_time_ns: int) -> None:
        """A message whose bytes are not valid CDR, on an already written topic."""
        writer = self.bag._writer
        writer._writer.add_message(writer._channel_ids[topic], log_time_ns, data, log_time_ns)

    def close(self) -> None:
        self.bag.close()


def header(stamp_ns: int, frame_id: str) -> dict:
    return {"stamp": {"sec": stamp_ns // 10**9, "nanosec": stamp_ns % 10**9}, "frame_id": frame_id}


@functools.cache
def world() -> np.ndarray:
    """A wide textured wall the camera slides along."""
    rng = np.random.default_rng(0)
    scene = np.zeros((HEIGHT, WIDTH * 3, 3), np.float32)
    for scale in (1, 4, 16):
        noise = rng.standard_normal((HEIGHT // scale + 1, 3 * WIDTH // scale + 1, 3)).astype(np.float32)
        scene += cv2.resize(noise, (3 * WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR) * math.sqrt(scale)
    return ((scene - scene.min()) / (scene.max() - scene.min()) * 255).astype(np.uint8)


def view(index: int) -> np.ndarray:
    return np.ascontiguousarray(world()[:, 2 * index : 2 * index + WIDTH])


def depth_mm(index: int) -> np.ndarray:
    """Depth whose value tells which frame it belongs to: 2000 + index mm, plus a ramp."""
    return (2000 + index + np.arange(WIDTH, dtype=np.uint16)[None, :] + np.zeros((HEIGHT, 1), np.uint16)).astype(
        np.uint16
    )


def base_pose(frames: float) -> Pose:
    """The robot base after ``frames`` frame periods, driving straight along HEADING."""
    distance = STEP_M * frames
    orientation = (0.0, 0.0, math.sin(HEADING / 2), math.cos(HEADING / 2))
    return Pose((distance * math.cos(HEADING), distance * math.sin(HEADING), 0.0), orientation, "odom")


def stamp(index: int) -> int:
    return START_NS + index * 100 * MS


def write_recording(
    path: Path, compressed: bool = False, pose_stamped: bool = False, garbage_depth_at: int | None = None
) -> Path:
    """A camera sliding along a wall at 10 Hz: colour, then odometry (20 Hz), then depth 10 ms later, camera_info at 1 Hz.

    Log times follow arrival: colour at +5 ms, depth (stamped +10 ms) at +12 ms,
    so every colour frame waits for the depth image that comes right after it;
    the first camera_info arrives after the first colour frame.
    """
    recording = Recording(path)
    for index in range(FRAMES):
        t = stamp(index)
        for half in (0, 1):
            odom_stamp = t + half * 50 * MS
            pose = base_pose(index + 0.5 * half)
            pose_msg = {
                "position": dict(zip("xyz", pose.position)),
                "orientation": dict(zip("xyzw", pose.orientation)),
            }
            if pose_stamped:
                message, type_name = (
                    {"header": header(odom_stamp, "odom"), "pose": pose_msg},
                    "geometry_msgs/msg/PoseStamped",
                )
            else:
                message = {
                    "header": header(odom_stamp, "odom"),
                    "child_frame_id": "base_link",
                    "pose": {"pose": pose_msg},
                }
                type_name = "nav_msgs/msg/Odometry"
            recording.write("/odom", type_name, message, odom_stamp + 2 * MS)
        rgb = view(index)
        if compressed:
            _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
            colour = {"header": header(t, "front_optical"), "format": "jpeg", "data": jpeg.tobytes()}
            recording.write("/front/color/compressed", "sensor_msgs/msg/CompressedImage", colour, t + 5 * MS)
        else:
            colour = {
                "header": header(t, "front_optical"),
                "height": HEIGHT,
                "width": WIDTH,
                "encoding": "rgb8",
                "is_bigendian": 0,
                "step": WIDTH * 3,
                "data": rgb.tobytes(),
            }
            recording.write("/front/color/image_raw", "sensor_msgs/msg/Image", colour, t + 5 * MS)
        if index % 10 == 0:
            info = {
                "header": header(t, "front_optical"),
                "height": HEIGHT,
                "width": WIDTH,
                "distortion_model": "plumb_bob",
                "d": D,
                "k": K,
            }
            recording.write("/front/color/camera_info", "sensor_msgs/msg/CameraInfo", info, t + 8 * MS)
        depth = depth_mm(index)
        if compressed:
            _, png = cv2.imencode(".png", depth)
            data = struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes()
            message = {
                "header": header(t + 10 * MS, "front_optical"),
                "format": "16UC1; compressedDepth png",
                "data": data,
            }
            recording.write("/front/depth/compressedDepth", "sensor_msgs/msg/CompressedImage", message, t + 12 * MS)
        elif index == garbage_depth_at:
            recording.write_raw("/front/depth/image_raw", b"\x00\x01\x00\x00\xff", t + 12 * MS)
        else:
            message = {
                "header": header(t + 10 * MS, "front_optical"),
                "height": HEIGHT,
                "width": WIDTH,
                "encoding": "16UC1",
                "is_bigendian": 0,
                "step": WIDTH * 2,
                "data": depth.tobytes(),
            }
            recording.write("/front/depth/image_raw", "sensor_msgs/msg/Image", message, t + 12 * MS)
    recording.close()
    return path


def write_rosbag2_directory(directory: Path, **options) -> Path:
    directory.mkdir()
    write_recording(directory / "run_0.mcap", **options)
    metadata = {
        "rosbag2_bagfile_information": {
            "version": 9,
            "storage_identifier": "mcap",
            "relative_file_paths": ["run_0.mcap"],
            "duration": {"nanoseconds": FRAMES * 100 * MS},
            "starting_time": {"nanoseconds_since_epoch": START_NS},
            "message_count": 0,
            "topics_with_message_count": [],
        }
    }
    (directory / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    return directory


def write_params(path: Path, compressed: bool = False, pose_source: str = "odometry", **keyframes) -> Path:
    camera = {
        "image_topic": "/front/color/compressed" if compressed else "/front/color/image_raw",
        "transport": "compressed" if compressed else "raw",
        "camera_info_topic": "/front/color/camera_info",
        "depth_topic": "/front/depth/compressedDepth" if compressed else "/front/depth/image_raw",
        "depth_transport": "compressedDepth" if compressed else "raw",
        "depth_scale": 0.001,
        "extrinsic": EXTRINSIC,
    }
    parameters = {
        "keyframes": {
            "min_translation": 0.5,
            "min_novelty": 0.9,
            "min_interval": 0.1,
            "max_interval": 60.0,
            **keyframes,
        },
        "pose": {"source": pose_source, "topic": "/odom"},
        "cameras": {"names": ["front"], "front": camera},
    }
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": parameters}}))
    return path


def extrinsic_pose() -> Pose:
    values = [float(v) for v in EXTRINSIC.split()]
    return Pose(tuple(values[:3]), tuple(values[3:]), "base_link")


def frame_index(frame: Frame) -> int:
    return (frame.stamp_ns - START_NS) // (100 * MS)


def assert_same_frames(actual: list[Frame], expected: list[Frame]) -> None:
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected):
        assert (a.camera, a.stamp_ns, a.frame_id, a.depth_scale) == (b.camera, b.stamp_ns, b.frame_id, b.depth_scale)
        assert a.rgb.dtype == b.rgb.dtype and np.array_equal(a.rgb, b.rgb)
        assert (a.depth is None) == (b.depth is None)
        if a.depth is not None:
            assert a.depth.dtype == b.depth.dtype and np.array_equal(a.depth, b.depth, equal_nan=True)
        assert (a.intrinsics is None) == (b.intrinsics is None)
        if a.intrinsics is not None:
            assert np.array_equal(a.intrinsics.k, b.intrinsics.k)
            assert (
                a.intrinsics.width,
                a.intrinsics.height,
                a.intrinsics.distortion,
                a.intrinsics.distortion_model,
            ) == (b.intrinsics.width, b.intrinsics.height, b.intrinsics.distortion, b.intrinsics.distortion_model)
        assert a.pose == b.pose
