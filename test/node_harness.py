"""Start the vilasr node as a process and feed it a synthetic camera, for the integration tests."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

VILASR_ROS = str(Path(sys.executable).with_name("vilasr-ros"))
WAIT = 30.0
WIDTH, HEIGHT = 320, 240
FX = 250.0
TRANSCRIPT = [
    "<think> Find the box. </think> Action: Object Mapper\n```json\n"
    '[{"index": 1, "bbox_2d": [130, 90, 190, 150], "label": "crate"}]\n```',
    "<think> And the path to it. </think> Action: Path Tracer\n```json\n"
    '[{"index": 2, "start_point_2d": [160, 230], "end_point_2d": [160, 120], "label": "route"}]\n```',
    "<think> It is straight ahead. </think> Action: Answer\n<answer> 2 m </answer>",
]


def start_node(namespace: str, tmp_path: Path, *overrides: str) -> subprocess.Popen:
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps(TRANSCRIPT))
    parameters = [
        "backend.kind:=replay",
        f"backend.transcript:={transcript}",
        "cameras.names:=[front]",
        "cameras.front.image_topic:=front/image_raw",
        "cameras.front.depth_topic:=front/depth",
        "cameras.front.camera_info_topic:=front/camera_info",
        "pose.source:=none",
        "keyframes.min_interval:=0.05",
        "keyframes.min_novelty:=0.05",
        *overrides,
    ]
    command = [VILASR_ROS, "node", "--namespace", namespace, "--ros-args"]
    for parameter in parameters:
        command += ["-p", parameter]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_node(process: subprocess.Popen) -> tuple[int, str]:
    """SIGINT the node and return (exit code, output); a node already stopped returns (code, "")."""
    if process.returncode is not None:
        return process.returncode, ""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the node did not stop within {WAIT} s of SIGINT:\n{output}")
    return process.returncode, output


class Camera:
    """Publishes a synthetic RGB-D camera (a textured wall 2 m away, panning) from the test process."""

    def __init__(self, node, namespace: str) -> None:
        self.node = node
        self.image = node.create_publisher(Image, f"/{namespace}/front/image_raw", qos_profile_sensor_data)
        self.depth = node.create_publisher(Image, f"/{namespace}/front/depth", qos_profile_sensor_data)
        self.info = node.create_publisher(CameraInfo, f"/{namespace}/front/camera_info", qos_profile_sensor_data)
        self.texture = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH * 3, 3), dtype=np.uint8)
        self.frames = 0

    def publish(self, count: int, period: float = 0.05) -> None:
        for _ in range(count):
            stamp = self.node.get_clock().now().to_msg()
            shift = (self.frames * 12) % (WIDTH * 2)
            rgb = np.ascontiguousarray(self.texture[:, shift : shift + WIDTH])
            header = Header(stamp=stamp, frame_id="front_optical")
            self.image.publish(Image(header=header, height=HEIGHT, width=WIDTH, encoding="rgb8", step=WIDTH * 3, data=rgb.tobytes()))
            depth = np.full((HEIGHT, WIDTH), 2000, np.uint16)
            self.depth.publish(Image(header=header, height=HEIGHT, width=WIDTH, encoding="16UC1", step=WIDTH * 2, data=depth.tobytes()))
            info = CameraInfo(header=header, height=HEIGHT, width=WIDTH, distortion_model="plumb_bob", d=[0.0] * 5)
            info.k = [FX, 0.0, WIDTH / 2, 0.0, FX, HEIGHT / 2, 0.0, 0.0, 1.0]
            self.info.publish(info)
            self.frames += 1
            time.sleep(period)


def wait_until_active(ros_node, node_name: str) -> None:
    client = ros_node.create_client(GetState, f"{node_name}/get_state")
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    try:
        assert client.wait_for_service(timeout_sec=WAIT), "lifecycle services did not appear"
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            future = client.call_async(GetState.Request())
            executor.spin_until_future_complete(future, timeout_sec=5)
            if future.done() and future.result().current_state.label == "active":
                return
            time.sleep(0.1)
        pytest.fail("the node did not become active")
    finally:
        executor.remove_node(ros_node)
        ros_node.destroy_client(client)


def change_state(ros_node, node_name: str, transition: int) -> bool:
    """Ask the node's lifecycle service for ``transition``; True when it succeeded."""
    client = ros_node.create_client(ChangeState, f"{node_name}/change_state")
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    try:
        assert client.wait_for_service(timeout_sec=WAIT)
        future = client.call_async(ChangeState.Request(transition=Transition(id=transition)))
        executor.spin_until_future_complete(future, timeout_sec=WAIT)
        return bool(future.done() and future.result().success)
    finally:
        executor.remove_node(ros_node)
        ros_node.destroy_client(client)
