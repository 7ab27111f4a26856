"""The node as a process, driven from another: what the demo, the benchmarks and the tests share.

- :class:`NodeProcess`: ``vilasr-ros node`` in its own process, its output in a log file;
- :func:`wait_until_active` / :func:`change_state`: its lifecycle, through the lifecycle services;
- :class:`CameraPublisher`: an RGB-D camera's colour, depth and camera_info messages (and,
  optionally, odometry) published from plain arrays.

Every wait is for a condition with a bound, never a fixed number of spins.
"""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from nav_msgs.msg import Odometry
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from vilasr_ros.core.poses import Pose

STOP_TIMEOUT_S = 20.0


def vilasr_ros_command() -> str:
    """The ``vilasr-ros`` script next to this Python (the venv's, or the ROS install's)."""
    return str(Path(sys.executable).with_name("vilasr-ros"))


class NodeProcess:
    """``vilasr-ros node`` in ``namespace`` with a parameter file and ``-p name:=value`` overrides."""

    def __init__(
        self,
        namespace: str,
        log_path: Path,
        params_file: Path | None = None,
        parameters: Sequence[str] = (),
    ) -> None:
        command = [vilasr_ros_command(), "node", "--namespace", namespace]
        if params_file is not None:
            command += ["--params-file", str(params_file)]
        if parameters:
            command.append("--ros-args")
            for parameter in parameters:
                command += ["-p", parameter]
        self.name = f"/{namespace}/vilasr"
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self._exit_code: int | None = None
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, text=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        """Everything the node printed so far."""
        if not self._log.closed:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def wait(self, timeout: float) -> int:
        """Wait for the node to exit by itself; its exit code (subprocess.TimeoutExpired after ``timeout`` s)."""
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGINT (as Ctrl-C), then kill after ``timeout`` s; returns the exit code (None if it had to be killed).

        A node already stopped returns its exit code again.
        """
        if self._log.closed:
            return self._exit_code
        killed = False
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                killed = True
        self._log.close()
        self._exit_code = None if killed else self.process.returncode
        return self._exit_code


def replay_camera_parameters(transcript: Path) -> list[str]:
    """``name:=value`` overrides for a node replaying ``transcript`` with one camera 'front' on
    ``front/image_raw``, ``front/depth`` and ``front/camera_info`` (relative to its namespace), no poses,
    and keyframes admitted quickly (what the tests and benchmarks feed with :class:`CameraPublisher`)."""
    return [
        "backend.kind:=replay",
        f"backend.transcript:={transcript}",
        "cameras.names:=[front]",
        "cameras.front.image_topic:=front/image_raw",
        "cameras.front.depth_topic:=front/depth",
        "cameras.front.camera_info_topic:=front/camera_info",
        "pose.source:=none",
        "keyframes.min_interval:=0.05",
        "keyframes.min_novelty:=0.05",
    ]


def spin_for(ros_node: Node, seconds: float) -> None:
    """Handle ``ros_node``'s callbacks for ``seconds``."""
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    executor.remove_node(ros_node)
    executor.shutdown()


def wait_until_active(ros_node: Node, node_name: str, timeout: float) -> float:
    """Wait until ``node_name`` reports the active lifecycle state; returns the seconds it took.

    Raises TimeoutError after ``timeout`` s.
    """
    started = time.monotonic()
    client = ros_node.create_client(GetState, f"{node_name}/get_state")
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    try:
        while time.monotonic() - started < timeout:
            if client.wait_for_service(timeout_sec=1.0):
                future = client.call_async(GetState.Request())
                executor.spin_until_future_complete(future, timeout_sec=5.0)
                if future.done() and future.result().current_state.label == "active":
                    return time.monotonic() - started
            time.sleep(0.1)
        raise TimeoutError(f"{node_name} did not become active within {timeout:.0f} s")
    finally:
        executor.remove_node(ros_node)
        executor.shutdown()
        ros_node.destroy_client(client)


def change_state(ros_node: Node, node_name: str, transition: int, timeout: float) -> bool:
    """Ask ``node_name``'s lifecycle service for ``transition`` (a lifecycle_msgs Transition id); True on success."""
    client = ros_node.create_client(ChangeState, f"{node_name}/change_state")
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    try:
        if not client.wait_for_service(timeout_sec=timeout):
            raise TimeoutError(f"{node_name}/change_state did not appear within {timeout:.0f} s")
        future = client.call_async(ChangeState.Request(transition=Transition(id=transition)))
        executor.spin_until_future_complete(future, timeout_sec=timeout)
        return bool(future.done() and future.result().success)
    finally:
        executor.remove_node(ros_node)
        executor.shutdown()
        ros_node.destroy_client(client)


class CameraPublisher:
    """Publishes one RGB-D camera as its driver would: rgb8 colour, 16UC1 depth (raw or compressedDepth),
    camera_info, all with one header; and the robot's odometry when an odometry topic is given."""

    def __init__(
        self,
        node: Node,
        prefix: str,
        k: np.ndarray,
        compressed_depth: bool = False,
        odometry_topic: str | None = None,
    ) -> None:
        self.node = node
        self.k = [float(v) for v in np.asarray(k, dtype=np.float64).ravel()]
        self.compressed_depth = compressed_depth
        depth_type, depth_topic = (CompressedImage, "depth/compressedDepth") if compressed_depth else (Image, "depth")
        self.image_pub = node.create_publisher(Image, f"{prefix}/image_raw", qos_profile_sensor_data)
        self.depth_pub = node.create_publisher(depth_type, f"{prefix}/{depth_topic}", qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, f"{prefix}/camera_info", qos_profile_sensor_data)
        self.odom_pub = (
            node.create_publisher(Odometry, odometry_topic, qos_profile_sensor_data) if odometry_topic else None
        )
        self.published = 0

    def wait_for_subscribers(self, timeout: float) -> None:
        """Wait until the colour, depth and camera_info topics each have a subscriber (discovery between
        processes takes a moment, and a best-effort frame published before it is simply lost)."""
        deadline = time.monotonic() + timeout
        publishers = (self.image_pub, self.depth_pub, self.info_pub)
        while any(publisher.get_subscription_count() < 1 for publisher in publishers):
            if time.monotonic() > deadline:
                topics = [p.topic_name for p in publishers if p.get_subscription_count() < 1]
                raise TimeoutError(f"no subscriber on {', '.join(topics)} within {timeout:.0f} s")
            time.sleep(0.05)

    def publish(
        self,
        rgb: np.ndarray,
        depth: np.ndarray | None,
        frame_id: str,
        base_pose: Pose | None = None,
        stamp_ns: int | None = None,
    ) -> None:
        """One frame: ``rgb`` (HxWx3 uint8), ``depth`` (HxW uint16 millimetres) and the base pose in odom,
        stamped now (or ``stamp_ns``: a replayed bag, a clock that jumped)."""
        now = self.node.get_clock().now()
        stamp = now.to_msg() if stamp_ns is None else type(now)(nanoseconds=stamp_ns).to_msg()
        if base_pose is not None and self.odom_pub is not None:
            odom = Odometry(header=Header(stamp=stamp, frame_id=base_pose.frame_id), child_frame_id="base_link")
            position, orientation = odom.pose.pose.position, odom.pose.pose.orientation
            position.x, position.y, position.z = base_pose.position
            orientation.x, orientation.y, orientation.z, orientation.w = base_pose.orientation
            self.odom_pub.publish(odom)
        height, width = rgb.shape[:2]
        header = Header(stamp=stamp, frame_id=frame_id)
        info = CameraInfo(header=header, height=height, width=width, distortion_model="plumb_bob", d=[0.0] * 5)
        info.k = self.k
        self.info_pub.publish(info)
        if depth is not None:
            self.depth_pub.publish(self._depth_message(header, depth))
        self.image_pub.publish(
            Image(header=header, height=height, width=width, encoding="rgb8", step=width * 3, data=rgb.tobytes())
        )
        self.published += 1

    def _depth_message(self, header: Header, depth: np.ndarray) -> Image | CompressedImage:
        if self.compressed_depth:  # compressed_depth_image_transport: 12-byte header, then a 16-bit PNG
            ok, png = cv2.imencode(".png", depth)
            if not ok:
                raise ValueError("cannot encode the depth image as PNG")
            data = struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes()
            return CompressedImage(header=header, format="16UC1; compressedDepth png", data=data)
        height, width = depth.shape
        return Image(header=header, height=height, width=width, encoding="16UC1", step=width * 2, data=depth.tobytes())
