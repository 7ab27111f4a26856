"""Keyframe ingestion cost per 1280x720 RGB-D frame: message conversion + KeyframeStore.offer.

    python bench/ingest_bench.py [--one-core] [--frames N]

Prints one JSON object. Each frame of a panning, driving camera (30 Hz stamps,
16UC1 depth, odometry) arrives as sensor_msgs/Image and CameraInfo messages,
as in the node; the timed part is what the node's camera callbacks do with
them: calibration, depth and colour conversion (views of the message data),
pairing by stamp with depth, calibration and the interpolated pose, and
``KeyframeStore.offer`` (timing checks, sharpness and thumbnail scoring,
novelty and pose change, admission, eviction); separately, the rclpy
deserialization of the two messages (paid before the callback runs). Two
store configurations:
``scored`` (``min_interval`` 0: every frame is scored) and ``default`` (the
shipped config: at 30 Hz most frames are rejected as too soon, unscored).

``--one-core`` pins the process to one CPU and limits OpenCV, OpenMP and
the BLAS libraries to one thread (the variables are set before numpy/cv2
are imported).
"""

from __future__ import annotations

import os
import sys

ONE_CORE = "--one-core" in sys.argv
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
if ONE_CORE:
    for variable in THREAD_VARIABLES:
        os.environ[variable] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scene import EXTRINSIC, HEIGHT, WIDTH, Panorama, camera_matrix  # noqa: E402

from vilasr_ros.config import KeyframeConfig  # noqa: E402
from vilasr_ros.core.poses import Pose  # noqa: E402
from vilasr_ros.keyframes.store import KeyframeStore  # noqa: E402

if ONE_CORE:
    cv2.setNumThreads(1)

FRAME_PERIOD_NS = 33_333_333  # 30 Hz
START_NS = 1_700_000_000 * 1_000_000_000


def _messages(rgb: np.ndarray, depth: np.ndarray, stamp_ns: int):
    """The colour, depth and camera_info messages a driver publishes for one frame (built outside the timed part)."""
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    header = Header(frame_id="front_optical")
    header.stamp.sec, header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    colour = Image(header=header, height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=rgb.tobytes())
    depth_msg = Image(header=header, height=HEIGHT, width=WIDTH, encoding="16UC1", step=WIDTH * 2, data=depth.tobytes())
    info = CameraInfo(
        header=header, height=HEIGHT, width=WIDTH, distortion_model="plumb_bob", d=[0.0] * 5, k=camera_matrix()
    )
    return colour, depth_msg, info


def measure(panorama: Panorama, config: KeyframeConfig, frames: int, deadline: float) -> dict:
    """Feed ``frames`` consecutive frames through what the node's camera callbacks run, into a fresh store.

    Per frame, timed: camera_info, depth and colour conversion (vilasr_ros.io.messages),
    pairing by stamp with depth, calibration and the odometry pose (vilasr_ros.keyframes.pairing),
    and KeyframeStore.offer. The odometry callback (adding the base pose) is not timed.
    """
    from vilasr_ros.config import CameraConfig
    from vilasr_ros.io import messages
    from vilasr_ros.io.cameras import pairing_settings
    from vilasr_ros.keyframes.pairing import FramePairing, TopicPoses

    store = KeyframeStore(config, cameras=["front"])
    camera = CameraConfig(
        name="front",
        image_topic="front/image_raw",
        depth_topic="front/depth",
        camera_info_topic="front/camera_info",
        extrinsic=EXTRINSIC,
    )
    poses = TopicPoses(max_gap=0.5)
    pairing = FramePairing(pairing_settings(camera, 0.05, "base_link"), camera_pose=poses.camera_pose)
    conversion, offer, total = [], [], []
    categories: Counter[str] = Counter()
    without_pose = 0
    for number in range(frames):
        if time.monotonic() > deadline:
            break
        stamp = START_NS + number * FRAME_PERIOD_NS
        colour_msg, depth_msg, info_msg = _messages(*panorama.frame(number), stamp)
        position, orientation = panorama.base_pose(number)
        poses.add(stamp, Pose(position, orientation, "odom"))
        now = time.monotonic()
        started = time.perf_counter()
        intrinsics = messages.intrinsics(info_msg)
        depth = messages.depth_image(depth_msg, False)
        rgb = messages.colour_image(colour_msg, False)
        converted = time.perf_counter()
        ready = pairing.add_camera_info(intrinsics, now)
        ready += pairing.add_depth(messages.stamp_ns(depth_msg.header.stamp), depth, now)
        ready += pairing.add_colour(messages.stamp_ns(colour_msg.header.stamp), colour_msg.header.frame_id, rgb, now)
        offering = time.perf_counter()
        admissions = [store.offer(frame) for frame in ready]
        finished = time.perf_counter()
        conversion.append(converted - started)
        offer.append(finished - offering)
        total.append(finished - started)
        without_pose += sum(frame.pose is None or frame.depth is None for frame in ready)
        categories.update(admission.category for admission in admissions)
    stats = store.stats()
    assert stats.total.offered == len(total), f"every frame must be offered once: {stats.total.offered} != {len(total)}"
    assert without_pose == 0, f"{without_pose} frames lacked depth or pose"
    return {
        "frames": len(total),
        "median_ms": 1e3 * statistics.median(total),
        "mean_ms": 1e3 * statistics.fmean(total),
        "p90_ms": 1e3 * float(np.percentile(total, 90)),
        "conversion_median_ms": 1e3 * statistics.median(conversion),
        "offer_median_ms": 1e3 * statistics.median(offer),
        "fps": len(total) / sum(total),
        "keyframes": stats.total.keyframes,
        "categories": dict(categories),
    }


def deserialization(panorama: Panorama, frames: int) -> dict:
    """What rclpy pays before the node's callback runs: deserializing the colour and depth messages."""
    from rclpy.serialization import deserialize_message, serialize_message
    from sensor_msgs.msg import Image

    times = []
    for number in range(frames):
        serialized = [serialize_message(msg) for msg in _messages(*panorama.frame(number), START_NS)[:2]]
        started = time.perf_counter()
        for data in serialized:
            deserialize_message(data, Image)
        times.append(time.perf_counter() - started)
    return {"frames": len(times), "median_ms": 1e3 * statistics.median(times), "mean_ms": 1e3 * statistics.fmean(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one-core", action="store_true", help="one CPU, one thread everywhere")
    parser.add_argument("--frames", type=int, default=300, help="frames per configuration (at 30 Hz: 10 s of video)")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="stop early after this long per configuration")
    args = parser.parse_args()
    panorama = Panorama(args.frames)
    results = {
        "one_core": args.one_core,
        "cpu_affinity": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cv2_threads": cv2.getNumThreads(),
    }
    configs = {"scored": KeyframeConfig(min_interval=0.0), "default": KeyframeConfig()}
    for name, config in configs.items():
        results[name] = measure(panorama, config, args.frames, time.monotonic() + args.max_seconds)
    results["deserialization"] = deserialization(panorama, min(args.frames, 40))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
