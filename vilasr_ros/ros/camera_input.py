"""One camera's subscriptions (colour, depth, camera_info) feeding the keyframe store.

Callbacks run in the camera's own callback group, never in the query's: they
convert the message (views, no copies where the layout allows), pair depth by
nearest stamp (a colour frame waits up to twice the tolerance for a depth image
or the first camera_info that arrives after it), look up the pose, and offer the frame; the store
decides in about a millisecond. Bad messages are dropped with a rate-limited
warning naming why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from vilasr_ros.config import CameraConfig
from vilasr_ros.imaging import ImageConversionError
from vilasr_ros.keyframes.frames import CameraIntrinsics, Frame, KeyframeError, Pose
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.keyframes.sync import StampedBuffer
from vilasr_ros.ros.conversions import colour_from_msg, depth_from_msg, intrinsics_from_msg, stamp_to_ns
from vilasr_ros.ros.pose_source import PoseSource

WARN_PERIOD_S = 5.0
DEPTH_BUFFER = 30
MAX_PENDING = 5  # colour frames waiting for depth / camera_info; more go on without them
# camera_info is often latched (transient local) and sometimes published reliably only.
CAMERA_INFO_QOS = QoSProfile(
    depth=1, reliability=QoSReliabilityPolicy.BEST_EFFORT, durability=QoSDurabilityPolicy.VOLATILE
)


class CameraInput:
    """Subscribes one configured camera and offers its frames to ``store``."""

    def __init__(
        self,
        node: Node,
        config: CameraConfig,
        store: KeyframeStore,
        poses: PoseSource,
        depth_tolerance: float,
        base_frame: str,
        callback_group,
    ) -> None:
        self.config = config
        self._node = node
        self._store = store
        self._poses = poses
        self._depth_tolerance_ns = round(depth_tolerance * 1e9)
        self._depth: StampedBuffer = StampedBuffer(DEPTH_BUFFER)
        self._pending: list[_PendingFrame] = []
        self._wait_s = 2 * depth_tolerance + 0.1
        self._intrinsics: CameraIntrinsics | None = None
        extrinsic = config.extrinsic_values()
        self._extrinsic = Pose(extrinsic[0], extrinsic[1], base_frame) if extrinsic else None
        self.frames_received = 0
        self.frames_without_depth = 0
        self.messages_dropped = 0
        image_type = CompressedImage if config.transport == "compressed" else Image
        self._subscriptions = [
            node.create_subscription(
                image_type, config.image_topic, self._on_image, qos_profile_sensor_data, callback_group=callback_group
            )
        ]
        if config.depth_topic:
            depth_type = CompressedImage if config.depth_transport == "compressedDepth" else Image
            self._subscriptions.append(
                node.create_subscription(
                    depth_type, config.depth_topic, self._on_depth, qos_profile_sensor_data, callback_group=callback_group
                )
            )
        if config.camera_info_topic:
            self._subscriptions.append(
                node.create_subscription(
                    CameraInfo, config.camera_info_topic, self._on_camera_info, CAMERA_INFO_QOS, callback_group=callback_group
                )
            )

    def close(self) -> None:
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._subscriptions = []

    def _warn(self, what: str) -> None:
        self.messages_dropped += 1
        self._node.get_logger().warning(
            f"camera {self.config.name}: {what}", throttle_duration_sec=WARN_PERIOD_S
        )

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            self._intrinsics = intrinsics_from_msg(msg)
        except KeyframeError as error:
            self._warn(f"ignoring camera_info on {self.config.camera_info_topic}: {error}")
            return
        self._offer_pending(flush_stale=False)

    def _on_depth(self, msg: Image | CompressedImage) -> None:
        try:
            depth = depth_from_msg(msg)
        except ImageConversionError as error:
            self._warn(f"dropping depth on {self.config.depth_topic}: {error}")
            return
        self._depth.add(stamp_to_ns(msg.header.stamp), depth)
        self._offer_pending(flush_stale=False)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.frames_received += 1
        try:
            rgb = colour_from_msg(msg)
        except ImageConversionError as error:
            self._warn(f"dropping image on {self.config.image_topic}: {error}")
            return
        frame_id = self.config.frame_id or msg.header.frame_id or self.config.name
        self._pending.append(_PendingFrame(stamp_to_ns(msg.header.stamp), frame_id, rgb, time.monotonic()))
        self._offer_pending(flush_stale=True)

    def _offer_pending(self, flush_stale: bool) -> None:
        """Offer colour frames whose depth has arrived (or that need none, or waited long enough)."""
        now = time.monotonic()
        waiting = []
        for pending in self._pending:
            depth = self._depth.nearest(pending.stamp_ns, self._depth_tolerance_ns) if self.config.depth_topic else None
            missing = (self.config.depth_topic and depth is None) or (
                self.config.camera_info_topic and self._intrinsics is None
            )
            give_up = flush_stale and now - pending.received > self._wait_s
            if missing and not give_up and len(self._pending) <= MAX_PENDING:
                waiting.append(pending)
                continue
            self._offer(pending, depth)
        self._pending = waiting

    def _offer(self, pending: _PendingFrame, depth) -> None:
        if self.config.depth_topic and depth is None:
            self.frames_without_depth += 1
            self._node.get_logger().warning(
                f"camera {self.config.name}: no depth on {self.config.depth_topic} within "
                f"{self._depth_tolerance_ns / 1e9:g} s of a colour frame ({self.frames_without_depth} so far); "
                "check the topic, its QoS and cameras.depth_tolerance",
                throttle_duration_sec=WARN_PERIOD_S,
            )
        frame = Frame(
            camera=self.config.name,
            stamp_ns=pending.stamp_ns,
            frame_id=pending.frame_id,
            rgb=pending.rgb,
            depth=depth,
            depth_scale=self.config.depth_scale,
            intrinsics=self._intrinsics,
            pose=self._poses.camera_pose(pending.frame_id, pending.stamp_ns, self._extrinsic),
        )
        admission = self._store.offer(frame)
        if admission.category in ("bad input", "out of order"):
            self._warn(f"frame rejected: {admission.reason}")


@dataclass(frozen=True)
class _PendingFrame:
    """A converted colour frame waiting (briefly) for its depth image."""

    stamp_ns: int
    frame_id: str
    rgb: np.ndarray
    received: float  # time.monotonic() at arrival
