"""Where camera poses come from: tf2 when a ROS install provides it, else odometry or a pose topic.

``camera_pose(camera_frame, stamp_ns, extrinsic)`` gives the camera optical
frame's pose in a fixed frame at a frame's stamp (None when unknown, and the
keyframe stays 2D); ``base_pose()`` gives the robot base's latest pose in that
fixed frame, for ranges and bearings.
"""

from __future__ import annotations

from typing import Protocol

from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from vilasr_ros.config import PoseConfig
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose
from vilasr_ros.io import messages
from vilasr_ros.keyframes.pairing import TopicPoses


class PoseSource(Protocol):
    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None: ...

    def base_pose(self) -> Pose | None: ...

    def close(self) -> None: ...


def tf2_available() -> bool:
    """True when tf2_ros can be imported (a ROS install; the PyPI wheels do not have it)."""
    try:
        import tf2_ros  # noqa: F401
    except ImportError:
        return False
    return True


def create_pose_source(node: Node, config: PoseConfig, target_frame: str, base_frame: str, callback_group) -> PoseSource:
    """The pose source ``pose.source`` names (``auto``: tf2 when available, else ``pose.topic`` odometry)."""
    source = config.source
    if source == "auto":
        source = "tf" if tf2_available() else "odometry"
    if source == "tf":
        return TfPoseSource(node, target_frame, base_frame)
    if source in ("odometry", "pose"):
        return TopicPoseSource(node, config, source, callback_group)
    return NoPoseSource()


class NoPoseSource:
    """No poses: every keyframe stays in its camera frame (estimates are 2D / camera-relative)."""

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return None

    def base_pose(self) -> Pose | None:
        return None

    def close(self) -> None:
        pass


class TopicPoseSource:
    """Base poses from nav_msgs/Odometry or geometry_msgs/PoseStamped, interpolated to frame stamps,
    composed with each camera's static extrinsic (its optical frame in the base frame)."""

    def __init__(self, node: Node, config: PoseConfig, kind: str, callback_group) -> None:
        self._node = node
        self._poses = TopicPoses(config.max_gap)
        message_type = Odometry if kind == "odometry" else PoseStamped
        self._subscription = node.create_subscription(
            message_type, config.topic, self._on_pose, qos_profile_sensor_data, callback_group=callback_group
        )

    def _on_pose(self, msg: Odometry | PoseStamped) -> None:
        pose_msg = msg.pose.pose if isinstance(msg, Odometry) else msg.pose
        try:
            pose = messages.pose(pose_msg, msg.header.frame_id or "odom")
        except DataError as error:
            self._node.get_logger().warning(f"ignoring pose: {error}", throttle_duration_sec=5.0)
            return
        self._poses.add(messages.stamp_ns(msg.header.stamp), pose)

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return self._poses.camera_pose(camera_frame, stamp_ns, extrinsic)

    def base_pose(self) -> Pose | None:
        return self._poses.latest

    def close(self) -> None:
        self._node.destroy_subscription(self._subscription)


class TfPoseSource:
    """Camera and base poses from tf2 (ROS installs only)."""

    def __init__(self, node: Node, target_frame: str, base_frame: str) -> None:
        import tf2_ros

        self._tf2 = tf2_ros
        self._target_frame = target_frame
        self._base_frame = base_frame
        self._buffer = tf2_ros.Buffer()
        self._listener = tf2_ros.TransformListener(self._buffer, node, spin_thread=False)

    def _lookup(self, frame: str, stamp_ns: int | None) -> Pose | None:
        from rclpy.time import Time

        when = Time(nanoseconds=stamp_ns) if stamp_ns is not None else Time()
        try:
            transform = self._buffer.lookup_transform(self._target_frame, frame, when)
        except (self._tf2.LookupException, self._tf2.ConnectivityException, self._tf2.ExtrapolationException):
            return None
        t, q = transform.transform.translation, transform.transform.rotation
        try:
            return Pose((t.x, t.y, t.z), (q.x, q.y, q.z, q.w), self._target_frame)
        except DataError:
            return None

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return self._lookup(camera_frame, stamp_ns)

    def base_pose(self) -> Pose | None:
        return self._lookup(self._base_frame, None)

    def close(self) -> None:
        self._listener.unregister()
