"""One camera's subscriptions (colour, depth, camera_info) feeding the keyframe store.

Callbacks run in the camera's own callback group, never in the query's: they
convert the message (views, no copies where the layout allows), pair it with
depth and calibration (:class:`vilasr_ros.keyframes.pairing.FramePairing`, the
same pairing offline ingestion uses), and offer the frames; the store decides
in about a millisecond. Bad messages are dropped with a rate-limited warning
naming why.
"""

from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from vilasr_ros.config import CameraConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.io import messages
from vilasr_ros.io.cameras import pairing_settings
from vilasr_ros.io.images import ImageConversionError
from vilasr_ros.keyframes.pairing import FramePairing
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.ros.pose_source import PoseSource

WARN_PERIOD_S = 5.0
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
        self._pairing = FramePairing(pairing_settings(config, depth_tolerance, base_frame), poses.camera_pose)
        self._compressed = config.transport == "compressed"
        self._depth_compressed = config.depth_transport == "compressedDepth"
        self.frames_received = 0
        self.frames_without_depth = 0
        image_type = CompressedImage if self._compressed else Image
        self._subscriptions = [
            node.create_subscription(
                image_type, config.image_topic, self._on_image, qos_profile_sensor_data, callback_group=callback_group
            )
        ]
        if config.depth_topic:
            depth_type = CompressedImage if self._depth_compressed else Image
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
        self._node.get_logger().warning(f"camera {self.config.name}: {what}", throttle_duration_sec=WARN_PERIOD_S)

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            intrinsics = messages.intrinsics(msg)
        except DataError as error:
            self._warn(f"ignoring camera_info on {self.config.camera_info_topic}: {error}")
            return
        self._offer(self._pairing.add_camera_info(intrinsics, time.monotonic()))

    def _on_depth(self, msg: Image | CompressedImage) -> None:
        try:
            depth = messages.depth_image(msg, self._depth_compressed)
        except ImageConversionError as error:
            self._warn(f"dropping depth on {self.config.depth_topic}: {error}")
            return
        self._offer(self._pairing.add_depth(messages.stamp_ns(msg.header.stamp), depth, time.monotonic()))

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.frames_received += 1
        try:
            rgb = messages.colour_image(msg, self._compressed)
        except ImageConversionError as error:
            self._warn(f"dropping image on {self.config.image_topic}: {error}")
            return
        stamp = messages.stamp_ns(msg.header.stamp)
        self._offer(self._pairing.add_colour(stamp, msg.header.frame_id, rgb, time.monotonic()))

    def _offer(self, frames: list[Frame]) -> None:
        for frame in frames:
            if self.config.depth_topic and frame.depth is None:
                self.frames_without_depth += 1
                self._node.get_logger().warning(
                    f"camera {self.config.name}: no depth on {self.config.depth_topic} near a colour frame "
                    f"({self.frames_without_depth} so far); check the topic, its QoS and cameras.depth_tolerance",
                    throttle_duration_sec=WARN_PERIOD_S,
                )
            admission = self._store.offer(frame)
            if admission.category in ("bad input", "out of order"):
                self._warn(f"frame rejected: {admission.reason}")
