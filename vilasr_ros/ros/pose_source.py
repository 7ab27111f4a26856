"""Where camera poses come from: tf2 when a ROS install provides it, else odometry or a pose topic.

``camera_pose(camera_frame, stamp_ns, extrinsic)`` gives the camera optical
frame's pose in a fixed frame at a frame's stamp (None when unknown, and the
keyframe stays 2D); ``base_pose()`` gives the robot base's latest pose in that
fixed frame, for ranges and bearings.

Failures are loud, never silent: tf lookups wait at most ``pose.tf_timeout``
and every failure is counted by cause (:meth:`PoseSource.diagnostics`) and
logged once per cause; a malformed pose message is dropped, counted and
logged (rate-limited); poses in another frame than ``frames.target_frame`` are
reported once. :func:`estimate_problems` says at configure time when the
pose source, target frame and extrinsics cannot give any valid 3D estimate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from geometry_msgs.msg import PoseStamped
from nav_msgs.msg import Odometry
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from vilasr_ros.config import CameraConfig, NodeConfig, PoseConfig
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose
from vilasr_ros.io import messages
from vilasr_ros.keyframes.pairing import TopicPoses
from vilasr_ros.ros.qos import overridable

WARN_PERIOD_S = 5.0


class PoseSource(Protocol):
    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None: ...

    def pose_pending(self, stamp_ns: int) -> bool:
        """True while a pose for ``stamp_ns`` may still arrive (a frame waits for it, boundedly)."""
        ...

    def base_pose(self) -> Pose | None: ...

    def reset(self, after_ns: int | None = None) -> None:
        """Forget buffered poses (time jumped back): those stamped after ``after_ns``, or all."""
        ...

    def diagnostics(self) -> dict[str, int]:
        """Counters for diagnostics: failures and drops by cause."""
        ...

    def close(self) -> None: ...


def tf2_available() -> bool:
    """True when tf2_ros can be imported (a ROS install; the PyPI wheels do not have it)."""
    try:
        import tf2_ros  # noqa: F401
    except ImportError:
        return False
    return True


def resolved_source(config: PoseConfig) -> str:
    """``pose.source`` with auto resolved: tf when tf2_ros is importable, else odometry."""
    if config.source == "auto":
        return "tf" if tf2_available() else "odometry"
    return config.source


def create_pose_source(
    node: Node, config: PoseConfig, target_frame: str, base_frame: str, callback_group
) -> PoseSource:
    """The pose source ``pose.source`` names (``auto``: tf2 when available, else ``pose.topic`` odometry)."""
    source = resolved_source(config)
    if source == "tf":
        return TfPoseSource(node, target_frame, base_frame, config.tf_timeout)
    if source in ("odometry", "pose"):
        return TopicPoseSource(node, config, source, target_frame, callback_group)
    return NoPoseSource()


def estimate_problems(config: NodeConfig, cameras: Sequence[CameraConfig]) -> list[str]:
    """Why the pose source, target frame and extrinsics cannot give valid 3D estimates (empty when they can).

    The node logs these at configure time; with the defaults (``pose.source`` auto
    without tf2, so odometry in ``odom``; ``frames.target_frame`` map; no extrinsic)
    nothing can be valid and this says so.
    """
    source = resolved_source(config.pose)
    how = f"pose.source {source}" + (" (auto: tf2_ros is not installed)" if config.pose.source == "auto" else "")
    target = config.frames.target_frame
    if source == "none":
        return [
            f"{how}: keyframes have no pose, so no estimate is a valid 3D position in {target!r} "
            "(estimates stay camera-relative: range and bearing from the camera)"
        ]
    if source == "tf":
        return []
    problems = []
    missing = [camera.name for camera in cameras if not camera.extrinsic.strip()]
    if missing:
        names = ", ".join(missing)
        problems.append(
            f"{how}: camera(s) {names} have no cameras.<name>.extrinsic, so their keyframes get no pose and no "
            f"valid 3D estimate in {target!r}; set the optical frame's pose in {config.frames.base_frame!r} "
            "or use pose.source tf"
        )
    if source == "odometry" and target != "odom":
        problems.append(
            f"{how}: poses are in the frame of the odometry on {config.pose.topic} (usually 'odom') but "
            f"frames.target_frame is {target!r}: estimates are valid 3D only when they are the same frame "
            "(set frames.target_frame to that frame, or use pose.source tf)"
        )
    return problems


class NoPoseSource:
    """No poses: every keyframe stays in its camera frame (estimates are 2D / camera-relative)."""

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return None

    def pose_pending(self, stamp_ns: int) -> bool:
        return False

    def base_pose(self) -> Pose | None:
        return None

    def reset(self, after_ns: int | None = None) -> None:
        pass

    def diagnostics(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        pass


class TopicPoseSource:
    """Base poses from nav_msgs/Odometry or geometry_msgs/PoseStamped, interpolated to frame stamps,
    composed with each camera's static extrinsic (its optical frame in the base frame)."""

    def __init__(self, node: Node, config: PoseConfig, kind: str, target_frame: str, callback_group) -> None:
        self._node = node
        self._topic = config.topic
        self._target_frame = target_frame
        self._poses = TopicPoses(config.max_gap)
        self._frames_seen: set[str] = set()
        self.dropped: Counter[str] = Counter()
        message_type = Odometry if kind == "odometry" else PoseStamped
        self._subscription = node.create_subscription(
            message_type,
            config.topic,
            self._on_pose,
            **overridable(qos_profile_sensor_data),
            callback_group=callback_group,
        )

    def _on_pose(self, msg: Odometry | PoseStamped) -> None:
        try:
            pose_msg = msg.pose.pose if isinstance(msg, Odometry) else msg.pose
            frame_id = msg.header.frame_id or "odom"
            pose = messages.pose(pose_msg, frame_id)
            self._poses.add(messages.stamp_ns(msg.header.stamp), pose)
        except Exception as error:  # contained: counted and logged
            invalid = isinstance(error, (DataError, ValueError, TypeError, AttributeError))
            reason = "invalid" if invalid else "internal error"
            self.dropped[f"pose {reason}"] += 1
            self._node.get_logger().warning(
                f"ignoring pose on {self._topic} ({self.dropped[f'pose {reason}']} so far): {error}",
                throttle_duration_sec=WARN_PERIOD_S,
            )
            return
        if frame_id not in self._frames_seen:
            self._frames_seen.add(frame_id)
            if frame_id != self._target_frame:
                self._node.get_logger().warning(
                    f"poses on {self._topic} are in {frame_id!r}, not frames.target_frame {self._target_frame!r}: "
                    "estimates from these poses cannot be valid 3D in the target frame"
                )

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return self._poses.camera_pose(camera_frame, stamp_ns, extrinsic)

    def pose_pending(self, stamp_ns: int) -> bool:
        return self._poses.pending(stamp_ns)

    def base_pose(self) -> Pose | None:
        return self._poses.latest

    def reset(self, after_ns: int | None = None) -> None:
        self._poses.clear(after_ns)

    def diagnostics(self) -> dict[str, int]:
        return {f"dropped: {key}": count for key, count in sorted(self.dropped.items())}

    def close(self) -> None:
        self._node.destroy_subscription(self._subscription)


class TfPoseSource:
    """Camera and base poses from tf2 (ROS installs only), each lookup waiting at most ``timeout`` seconds.

    ``buffer`` and ``tf2`` replace the tf2_ros buffer and module (tests without a ROS install).
    """

    def __init__(
        self, node: Node, target_frame: str, base_frame: str, timeout: float, buffer: Any = None, tf2: Any = None
    ) -> None:
        if tf2 is None:
            import tf2_ros as tf2
        self._node = node
        self._tf2 = tf2
        self._target_frame = target_frame
        self._base_frame = base_frame
        self._timeout = Duration(nanoseconds=round(timeout * 1e9))
        self._buffer = buffer if buffer is not None else tf2.Buffer()
        self._listener = None if buffer is not None else tf2.TransformListener(self._buffer, node, spin_thread=False)
        self.failures: Counter[str] = Counter()  # cause -> lookups that failed

    def _lookup(self, frame: str, stamp_ns: int | None) -> Pose | None:
        from rclpy.time import Time

        when = Time(nanoseconds=stamp_ns) if stamp_ns is not None else Time()
        timeout = self._timeout if stamp_ns is not None else Duration()
        try:
            transform = self._buffer.lookup_transform(self._target_frame, frame, when, timeout)
            t, q = transform.transform.translation, transform.transform.rotation
            return Pose((t.x, t.y, t.z), (q.x, q.y, q.z, q.w), self._target_frame)
        except Exception as error:  # every failure is counted, never hidden
            self._fail(frame, error)
            return None

    def _fail(self, frame: str, error: Exception) -> None:
        cause = type(error).__name__
        self.failures[cause] += 1
        if self.failures[cause] == 1:
            self._node.get_logger().warning(
                f"tf: no pose of {frame!r} in {self._target_frame!r} ({cause}: {error}); frames stay without pose "
                f"(counted in diagnostics; logged once per cause)"
            )

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        return self._lookup(camera_frame, stamp_ns)

    def pose_pending(self, stamp_ns: int) -> bool:
        return False  # tf is waited for in the lookup itself (pose.tf_timeout)

    def base_pose(self) -> Pose | None:
        return self._lookup(self._base_frame, None)

    def reset(self, after_ns: int | None = None) -> None:
        self._buffer.clear()  # tf2's buffer forgets everything; transforms come again at their rate

    def diagnostics(self) -> dict[str, int]:
        return {f"tf failures: {cause}": count for cause, count in sorted(self.failures.items())}

    def close(self) -> None:
        if self._listener is not None:
            self._listener.unregister()
