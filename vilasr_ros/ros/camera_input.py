"""One camera's subscriptions (colour, depth, camera_info) feeding the keyframe store.

Callbacks run in the camera's own callback groups, never in the query's: one
for colour, one for depth and camera_info, so that a colour stream that keeps
its callback busy cannot starve the depth stream (the depth messages would then
be overwritten in their subscription's history: at 30 Hz raw 720p RGB-D, 60 %
of the depth images were lost with one group). They convert the message
(views, no copies where the layout allows) in parallel, then, one at a time
under the camera's lock, pair it with depth and calibration
(:class:`vilasr_ros.keyframes.pairing.FramePairing`, the same pairing offline
ingestion uses) and offer the frames; the store decides in about a millisecond.

Every callback contains its failures: a message that cannot be used (a bad
encoding, a size over ``cameras.max_image_pixels`` read from its header before
decoding, an OpenCV error, a late or far-future stamp, unregistered depth, any
unexpected exception) is dropped, counted per reason in :attr:`CameraInput.dropped`
(published in diagnostics) and logged at most once per topic and reason every
``WARN_PERIOD_S``. A bad depth image drops only the depth.

Time: a :class:`~vilasr_ros.keyframes.sync.StampGuard` judges the colour stamps.
When they jump back (a bag replayed in a loop, a simulator reset) the camera's
keyframes and the depth and poses stamped on the old time line are cleared, once
per jump, and logged (depth and poses already stamped on the new line are kept,
so the first frames after the jump have them); a single far-future stamp is dropped. Stamps far from the node
clock are reported as such (``use_sim_time``?).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections import Counter

from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from vilasr_ros.config import CameraConfig, CamerasConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.io import messages
from vilasr_ros.io.cameras import pairing_settings
from vilasr_ros.io.images import ImageConversionError
from vilasr_ros.keyframes.pairing import FramePairing
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.keyframes.sync import JUMPED_BACK, JUMPED_FORWARD, StampGuard
from vilasr_ros.ros.pose_source import PoseSource
from vilasr_ros.ros.qos import overridable

WARN_PERIOD_S = 5.0
CALLBACK_GROUPS = 2  # per camera: colour; depth and camera_info
CLOCK_WARN_S = 60.0  # colour stamps farther than this from the node clock are reported
# camera_info is often latched (transient local) and sometimes published reliably only.
CAMERA_INFO_QOS = QoSProfile(
    depth=1, reliability=QoSReliabilityPolicy.BEST_EFFORT, durability=QoSDurabilityPolicy.VOLATILE
)


IMAGE_MMAP_THRESHOLD = 128 << 10  # bytes: larger allocations (images) get their own pages (glibc's initial value)
_M_MMAP_THRESHOLD = -3  # glibc mallopt parameter (malloc.h)


def return_image_memory_to_the_system() -> bool:
    """Make glibc serve every allocation over 128 kB (image messages, decoded frames) with its own
    mmap, returned to the system when freed.

    Without it glibc raises its mmap threshold (up to 32 MB) after the first large free and serves
    later images from its heap arenas, one per executor thread; freed frames then stay resident
    between the keyframes that are kept, and the process's RSS grows well past the keyframe buffer.
    Measured (test_input_attacks, 5,000 frames with 4K PNGs, keyframes.max_bytes 40 MB): peak RSS
    234 MB above the idle node without this, 111-134 MB with it. True when applied (glibc).
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, IMAGE_MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False


class Throttle:
    """Rate limit per key: :meth:`allow` is True at most once every ``period`` seconds for each key,
    and then says how many calls for that key it refused since."""

    def __init__(self, period: float, clock=time.monotonic) -> None:
        self._period = period
        self._clock = clock
        self._last: dict[str, float] = {}
        self._refused: Counter[str] = Counter()

    def allow(self, key: str) -> tuple[bool, int]:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._period:
            self._refused[key] += 1
            return False, 0
        self._last[key] = now
        return True, self._refused.pop(key, 0)


class CameraInput:
    """Subscribes one configured camera and offers its frames to ``store``.

    Its callbacks need :data:`CALLBACK_GROUPS` executor threads to run side by side.
    """

    def __init__(
        self,
        node: Node,
        config: CameraConfig,
        store: KeyframeStore,
        poses: PoseSource,
        cameras: CamerasConfig,
        base_frame: str,
    ) -> None:
        return_image_memory_to_the_system()
        self.config = config
        self._node = node
        self._store = store
        self._poses = poses
        self._max_pixels = cameras.max_image_pixels
        self._rectified = config.is_rectified
        self._pairing = FramePairing(
            pairing_settings(config, cameras.depth_tolerance, base_frame),
            poses.camera_pose,
            self._pairing_problem,
            pose_pending=poses.pose_pending,
        )
        self._jump_back_ns = round(cameras.stamp_jump_back * 1e9)
        self._guard = StampGuard(self._jump_back_ns, round(cameras.stamp_jump_forward * 1e9))
        self._throttle = Throttle(WARN_PERIOD_S)
        self._lock = threading.RLock()  # pairing, the stamp guard, counters: shared by the two groups
        self._compressed = config.transport == "compressed"
        self._depth_compressed = config.depth_transport == "compressedDepth"
        self.frames_received = 0
        self.frames_without_depth = 0
        self.depth_received = 0
        self.time_jumps = 0
        self.clock_offset_s = 0.0  # node clock minus the last colour stamp
        self.dropped: Counter[str] = Counter()  # "<input> <reason>" -> messages dropped
        image_type = CompressedImage if self._compressed else Image
        depth_type = CompressedImage if self._depth_compressed else Image
        colour_group, depth_group = MutuallyExclusiveCallbackGroup(), MutuallyExclusiveCallbackGroup()
        wanted = [
            (image_type, config.image_topic, self._on_image, qos_profile_sensor_data, colour_group),
            (depth_type, config.depth_topic, self._on_depth, qos_profile_sensor_data, depth_group),
            (CameraInfo, config.camera_info_topic, self._on_camera_info, CAMERA_INFO_QOS, depth_group),
        ]
        self._subscriptions = [
            node.create_subscription(kind, topic, callback, **overridable(qos), callback_group=group)
            for kind, topic, callback, qos, group in wanted
            if topic
        ]

    @property
    def pairing_bytes(self) -> int:
        """Bytes held by frames waiting for depth and by buffered depth images."""
        return self._pairing.held_bytes

    def close(self) -> None:
        for subscription in self._subscriptions:
            self._node.destroy_subscription(subscription)
        self._subscriptions = []

    # --- callbacks: each catches everything, a bad message must never reach the executor -------------

    def _on_camera_info(self, msg: CameraInfo) -> None:
        try:
            intrinsics = messages.intrinsics(msg, rectified=self._rectified)
            with self._lock:
                self._offer(self._pairing.add_camera_info(intrinsics, time.monotonic()))
        except Exception as error:  # contained: counted and logged
            self._drop("camera_info", self.config.camera_info_topic, error)

    def _on_depth(self, msg: Image | CompressedImage) -> None:
        self.depth_received += 1
        try:
            depth = messages.depth_image(msg, self._depth_compressed, self._max_pixels)
            stamp = messages.stamp_ns(msg.header.stamp)
            with self._lock:
                self._offer(self._pairing.add_depth(stamp, depth, time.monotonic(), msg.header.frame_id))
        except Exception as error:
            self._drop("depth", self.config.depth_topic, error)

    def _on_image(self, msg: Image | CompressedImage) -> None:
        self.frames_received += 1
        try:
            rgb = messages.colour_image(msg, self._compressed, self._max_pixels)
            stamp = messages.stamp_ns(msg.header.stamp)
            with self._lock:
                if not self._check_stamp(stamp):  # after decoding: a malformed message never moves the time reference
                    return
                self._offer(self._pairing.add_colour(stamp, msg.header.frame_id, rgb, time.monotonic()))
        except Exception as error:
            self._drop("image", self.config.image_topic, error)

    # --- time ------------------------------------------------------------------------------------------

    def _follow_a_jump_while_away(self, stamp: int) -> None:
        """The first frame since this input started (activation) or started over: keyframes kept from
        before that lie ahead of it by more than ``cameras.stamp_jump_back`` are of an old time line
        (time went back while the node was inactive); they go, or every new frame would be out of order."""
        newest = max((keyframe.stamp_ns for keyframe in self._store.keyframes([self.config.name])), default=None)
        if newest is not None and newest - stamp > self._jump_back_ns:
            self.time_jumps += 1
            self._store.clear(self.config.name)
            self._node.get_logger().warning(
                f"camera {self.config.name}: its first frame is {(newest - stamp) / 1e9:.1f} s before the keyframes "
                "kept from before (time went back while the node was inactive?): cleared them"
            )

    def start_over(self) -> None:
        """Forget this camera's keyframes, buffered depth, waiting frames and stamp reference (the node
        clock jumped back): the next frame is taken as the first of a new time line."""
        with self._lock:
            self.time_jumps += 1
            self._store.clear(self.config.name)
            self._pairing.clear()
            self._guard.reset()

    def _check_stamp(self, stamp: int) -> bool:
        """Judge a colour stamp: False drops the frame; a confirmed jump back resets the buffers."""
        self.clock_offset_s = (self._node.get_clock().now().nanoseconds - stamp) / 1e9
        if abs(self.clock_offset_s) > CLOCK_WARN_S:
            side = "behind" if self.clock_offset_s > 0 else "ahead of"
            self._warn(
                f"clock {side}",
                f"camera stamps are {abs(self.clock_offset_s):.0f} s {side} the node clock: is use_sim_time set?",
            )
        if self._guard.reference_ns is None:
            self._follow_a_jump_while_away(stamp)
        verdict = self._guard.check(stamp)
        if verdict.verdict == JUMPED_BACK:
            self.time_jumps += 1
            self._store.clear(self.config.name)
            # What the old time line left: depth and poses stamped after the new time (plus the pairing
            # tolerance). Those that came on the new line already are kept for the frames now arriving.
            new_line_ends = self._guard.reference_ns + round(self._pairing.settings.depth_tolerance * 1e9)
            self._pairing.clear(after_ns=new_line_ends)
            self._poses.reset(after_ns=new_line_ends)
            self._node.get_logger().warning(
                f"camera {self.config.name}: stamps jumped back {-verdict.offset_s:.1f} s (a bag replayed in a loop "
                "or a simulator reset?): cleared its keyframes and the depth and poses of the old time line"
            )
        elif verdict.verdict == JUMPED_FORWARD:
            self._node.get_logger().warning(
                f"camera {self.config.name}: stamps jumped ahead {verdict.offset_s:.1f} s; following the new time"
            )
        elif not verdict.accepted:
            where = "before" if verdict.offset_s < 0 else "after"
            self._count_and_warn(
                "image",
                self.config.image_topic,
                f"stamp {verdict.verdict}",
                f"stamp {abs(verdict.offset_s):.3f} s {where} the camera's latest (a time jump is followed once "
                f"3 frames agree; cameras.stamp_jump_back / stamp_jump_forward)",
            )
            return False
        return True

    # --- frames ----------------------------------------------------------------------------------------

    def _offer(self, frames: list[Frame]) -> None:
        for frame in frames:
            if self.config.depth_topic and frame.depth is None:
                self.frames_without_depth += 1
                self._warn(
                    "no depth",
                    f"no depth on {self.config.depth_topic} near a colour frame ({self.frames_without_depth} so far); "
                    "check the topic, its QoS and cameras.depth_tolerance",
                )
            admission = self._store.offer(frame)
            if admission.category in ("bad input", "out of order", "too large"):
                self._warn(f"rejected {admission.category}", f"frame rejected: {admission.reason}")

    def _pairing_problem(self, category: str, message: str) -> None:
        self._count_and_warn("depth", self.config.depth_topic, category.removeprefix("depth "), message)

    # --- drops and warnings ----------------------------------------------------------------------------

    def _drop(self, what: str, topic: str, error: Exception) -> None:
        if isinstance(error, ImageConversionError):
            reason, text = error.reason, str(error)
        elif isinstance(error, (ValueError, TypeError, AttributeError)):  # DataError is a ValueError
            reason, text = "invalid", str(error)
        else:
            reason, text = "internal error", f"{type(error).__name__}: {error}"
        self._count_and_warn(what, topic, reason, text)

    def _count_and_warn(self, what: str, topic: str, reason: str, text: str) -> None:
        with self._lock:
            self.dropped[f"{what} {reason}"] += 1
        self._warn(f"{topic} {reason}", f"dropping {what} on {topic}: {text}")

    def _warn(self, key: str, text: str) -> None:
        with self._lock:
            allowed, refused = self._throttle.allow(key)
        if allowed:
            more = f" ({refused} more since the last warning)" if refused else ""
            self._node.get_logger().warning(f"camera {self.config.name}: {text}{more}")
