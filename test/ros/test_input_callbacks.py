"""The camera and pose callbacks called directly (no executor, no DDS): nothing a message holds escapes
as an exception; drops are counted per reason; time jumps reset the buffers; tf failures are counted;
the configure-time warning about estimates."""

from __future__ import annotations

import random
import sys
import threading
from collections import Counter
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from fuzz_messages import HEIGHT, WIDTH, fuzzed_camera_info, fuzzed_image, png_bomb, textured
from nav_msgs.msg import Odometry
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from vilasr_ros.config import CameraConfig, CamerasConfig, KeyframeConfig, NodeConfig
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.ros import camera_input
from vilasr_ros.ros.camera_input import CameraInput, Throttle
from vilasr_ros.ros.conversions import diagnostics_msg
from vilasr_ros.ros.pose_source import NoPoseSource, TfPoseSource, TopicPoseSource, estimate_problems

pytestmark = pytest.mark.slow  # feeds thousands of fuzzed messages

S = 1_000_000_000
NOW = 1_700_000_000 * S


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, text: str, **kwargs) -> None:
        self.lines.append(text)

    info = error = warning


class FakeClock:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns

    def now(self):
        return type("T", (), {"nanoseconds": self.now_ns})()


class FakeNode:
    """Records subscriptions so that a test can call their callbacks like the executor does."""

    def __init__(self, now_ns: int = NOW) -> None:
        self.logger = FakeLogger()
        self.clock = FakeClock(now_ns)
        self.callbacks: dict[str, object] = {}
        self.groups: dict[str, object] = {}

    def create_subscription(self, kind, topic, callback, qos_profile, callback_group=None, qos_overriding_options=None):
        self.callbacks[topic] = callback
        self.groups[topic] = callback_group
        return topic

    def destroy_subscription(self, subscription) -> None:
        self.callbacks.pop(subscription, None)

    def get_logger(self) -> FakeLogger:
        return self.logger

    def get_clock(self) -> FakeClock:
        return self.clock


class RecordingPoses(NoPoseSource):
    def __init__(self) -> None:
        self.resets = 0

    def reset(self, after_ns: int | None = None) -> None:
        self.resets += 1
        self.reset_after = after_ns


def stamp(ns: int) -> Time:
    return Time(sec=ns // S, nanosec=ns % S)


def colour(ns: int, seed: int, frame_id: str = "front_optical") -> Image:
    rgb = textured(seed)
    return Image(
        header=Header(stamp=stamp(ns), frame_id=frame_id),
        height=HEIGHT,
        width=WIDTH,
        encoding="rgb8",
        step=WIDTH * 3,
        data=rgb.tobytes(),
    )


def depth(ns: int, frame_id: str = "front_optical", size=(WIDTH, HEIGHT)) -> Image:
    width, height = size
    return Image(
        header=Header(stamp=stamp(ns), frame_id=frame_id),
        height=height,
        width=width,
        encoding="16UC1",
        step=width * 2,
        data=np.full((height, width), 1500, np.uint16).tobytes(),
    )


def camera(depth_topic: str = "front/depth", transport: str = "raw", depth_transport: str = "raw", **cameras):
    node, poses = FakeNode(), RecordingPoses()
    store = KeyframeStore(KeyframeConfig(min_interval=0.0, min_novelty=0.01), cameras=["front"])
    config = CameraConfig(
        name="front",
        image_topic="front/image",
        transport=transport,
        depth_topic=depth_topic,
        depth_transport=depth_transport,
        camera_info_topic="front/info",
    )
    inputs = CameraInput(node, config, store, poses, CamerasConfig(**cameras), "base_link")
    node.callbacks["front/info"](good_info())  # frames wait for the first calibration
    return node, inputs, store, poses


# --- the attacks of issue 13, one by one --------------------------------------------------------------


def test_the_messages_that_killed_the_node_are_dropped_and_counted():
    node, inputs, store, _ = camera(depth_topic="", transport="compressed")
    on_image = node.callbacks["front/image"]
    on_image(CompressedImage(header=Header(stamp=stamp(NOW)), format="jpeg", data=b""))
    on_image(CompressedImage(header=Header(stamp=stamp(NOW)), format="png", data=png_bomb(40000, 40000)))
    assert inputs.dropped == Counter({"image malformed": 1, "image too large": 1})
    warnings = "\n".join(node.logger.lines)
    assert "dropping image on front/image: empty compressed image" in warnings
    assert "dropping image on front/image: compressed image (format 'png') is 40000x40000" in warnings

    raw_node, raw_inputs, _, _ = camera(depth_topic="")
    for encoding in ("yuv422", "uyvy", "yuyv"):
        raw_node.callbacks["front/image"](
            Image(header=Header(stamp=stamp(NOW)), height=2, width=3, encoding=encoding, step=6, data=bytes(12))
        )
    assert raw_inputs.dropped == Counter({"image malformed": 3})


def test_warnings_are_rate_limited_per_topic_and_reason_and_say_how_many_were_held_back():
    clock = [0.0]
    throttle = Throttle(5.0, clock=lambda: clock[0])
    assert throttle.allow("a") == (True, 0)
    assert throttle.allow("a") == (False, 0) and throttle.allow("b") == (True, 0)
    throttle.allow("a")
    clock[0] = 5.0
    assert throttle.allow("a") == (True, 2)
    node, inputs, _, _ = camera(depth_topic="", transport="compressed")
    for _ in range(200):
        node.callbacks["front/image"](CompressedImage(header=Header(stamp=stamp(NOW)), format="png", data=b"junk"))
    assert inputs.dropped["image unsupported"] == 200 and len(node.logger.lines) == 1


@pytest.mark.parametrize("transport", ["raw", "compressed"])
def test_a_thousand_fuzzed_messages_per_topic_raise_nothing_and_good_frames_still_pass(transport):
    depth_transport = "compressedDepth" if transport == "compressed" else "raw"
    node, inputs, store, _ = camera(transport=transport, depth_transport=depth_transport)
    rng = random.Random(13)
    compressed = transport == "compressed"
    for _ in range(1000):
        node.callbacks["front/image"](fuzzed_image(rng, compressed, NOW // S))
        node.callbacks["front/depth"](fuzzed_image(rng, compressed, NOW // S))
        node.callbacks["front/info"](fuzzed_camera_info(rng))
    assert sum(inputs.dropped.values()) > 1000
    assert "image internal error" not in inputs.dropped and "depth internal error" not in inputs.dropped
    # Good frames are admitted again (at most 3 frames to follow the time again after the fuzzed stamps).
    node.callbacks["front/info"](good_info())
    admitted_before = store.stats().cameras["front"].admitted
    for number in range(6):
        ns = NOW + number * S
        node.callbacks["front/depth"](good_compressed_depth(ns) if compressed else depth(ns))
        node.callbacks["front/image"](good_compressed(ns, number) if compressed else colour(ns, number))
    assert store.stats().cameras["front"].admitted - admitted_before >= 3
    assert store.keyframes()[-1].frame.depth is not None


def good_info() -> CameraInfo:
    info = CameraInfo(header=Header(stamp=stamp(NOW), frame_id="front_optical"), width=WIDTH, height=HEIGHT)
    info.k = [100.0, 0.0, 80.0, 0.0, 100.0, 60.0, 0.0, 0.0, 1.0]
    return info


def good_compressed(ns: int, seed: int) -> CompressedImage:
    ok, jpeg = cv2.imencode(".jpg", textured(seed))
    return CompressedImage(header=Header(stamp=stamp(ns), frame_id="front_optical"), format="jpeg", data=jpeg.tobytes())


def good_compressed_depth(ns: int) -> CompressedImage:
    ok, png = cv2.imencode(".png", np.full((HEIGHT, WIDTH), 1500, np.uint16))
    return CompressedImage(
        header=Header(stamp=stamp(ns), frame_id="front_optical"),
        format="16UC1; compressedDepth png",
        data=bytes(12) + png.tobytes(),
    )


# --- depth ------------------------------------------------------------------------------------------------


def test_unaligned_depth_is_dropped_and_its_colour_frame_kept():
    node, inputs, store, _ = camera()
    node.callbacks["front/depth"](depth(NOW, "front_depth_optical"))
    node.callbacks["front/image"](colour(NOW, 0, "front_color_optical"))
    node.callbacks["front/depth"](depth(NOW + S, "front_color_optical", size=(100, 100)))
    node.callbacks["front/image"](colour(NOW + S, 1, "front_color_optical"))
    [first, second] = store.keyframes()
    assert first.frame.depth is None and second.frame.depth is None
    assert inputs.dropped == Counter({"depth frame mismatch": 1, "depth not registered": 1})
    node.callbacks["front/depth"](depth(NOW + 2 * S, "front_color_optical", size=(WIDTH // 2, HEIGHT // 2)))
    node.callbacks["front/image"](colour(NOW + 2 * S, 2, "front_color_optical"))
    assert store.keyframes()[-1].frame.depth.shape == (HEIGHT // 2, WIDTH // 2)


# --- time -------------------------------------------------------------------------------------------------


def test_a_jump_back_clears_the_cameras_buffers_once_and_the_new_frames_are_kept():
    node, inputs, store, poses = camera(depth_topic="")
    for number in range(5):
        node.callbacks["front/image"](colour(NOW + number * S, number))
    assert store.stats().cameras["front"].keyframes == 5
    back = NOW - 3600 * S  # a bag replayed in a loop
    for number in range(10):
        node.callbacks["front/image"](colour(back + number * S, 10 + number))
    assert inputs.time_jumps == 1 and poses.resets == 1
    assert [kf.stamp_ns for kf in store.keyframes()] == [back + number * S for number in range(2, 10)]
    jumped = [line for line in node.logger.lines if "jumped back" in line]
    assert len(jumped) == 1 and "stamps jumped back 3602.0 s" in jumped[0]  # the 3rd frame back vs the newest
    assert inputs.dropped == Counter({"image stamp late": 2})  # the two frames before the jump was confirmed


def test_after_a_jump_back_the_first_frames_keep_the_depth_that_came_before_them():
    """Depth that arrives just before its colour frame (as often as after): on the new time line it is
    buffered while the jump is being confirmed, and must survive the clearing of the old line."""
    node, inputs, store, poses = camera()
    for number in range(5):
        node.callbacks["front/depth"](depth(NOW + number * S))
        node.callbacks["front/image"](colour(NOW + number * S, number))
    back = NOW - 3600 * S
    for number in range(6):
        node.callbacks["front/depth"](depth(back + number * S))
        node.callbacks["front/image"](colour(back + number * S, 10 + number))
    assert inputs.time_jumps == 1 and poses.reset_after == back + 2 * S + 50_000_000  # + cameras.depth_tolerance
    assert inputs.frames_without_depth == 0
    new_line = [kf for kf in store.keyframes() if kf.stamp_ns < NOW]
    assert [kf.stamp_ns for kf in new_line] == [back + number * S for number in range(2, 6)]
    assert all(kf.frame.depth is not None for kf in new_line)


def test_keyframes_of_a_time_line_left_while_inactive_go_when_the_first_new_frame_is_older():
    """Deactivated, the simulator reset, activated again: a fresh input on the same store would find
    every new frame out of order behind the kept keyframes; its first frame clears them instead."""
    node, inputs, store, _ = camera(depth_topic="")
    for number in range(4):
        node.callbacks["front/image"](colour(NOW + number * S, number))
    assert store.stats().cameras["front"].keyframes == 4
    inputs.close()  # deactivate
    again = CameraInput(node, inputs.config, store, RecordingPoses(), CamerasConfig(), "base_link")
    node.callbacks["front/info"](good_info())
    back = NOW - 600 * S
    for number in range(4):
        node.callbacks["front/image"](colour(back + number * S, 10 + number))
    assert [kf.stamp_ns for kf in store.keyframes()] == [back + number * S for number in range(4)]
    assert again.time_jumps == 1 and again.dropped == Counter()
    assert store.stats().cameras["front"].rejected.get("out of order", 0) == 0
    assert any("time went back while the node was inactive" in line for line in node.logger.lines)


def test_one_frame_an_hour_ahead_does_not_block_the_next_thirty():
    node, inputs, store, _ = camera(depth_topic="")
    node.callbacks["front/image"](colour(NOW, 0))
    node.callbacks["front/image"](colour(NOW + 3600 * S, 1))
    for number in range(1, 31):
        node.callbacks["front/image"](colour(NOW + number * S // 10, 100 + number))
    assert inputs.dropped == Counter({"image stamp ahead": 1})
    assert store.stats().cameras["front"].admitted == 31


def test_stamps_an_hour_behind_the_node_clock_are_reported_as_such():
    node, inputs, _, _ = camera(depth_topic="")
    node.callbacks["front/image"](colour(NOW - 3600 * S, 0))
    assert inputs.clock_offset_s == pytest.approx(3600.0)
    assert "camera stamps are 3600 s behind the node clock: is use_sim_time set?" in "\n".join(node.logger.lines)


# --- diagnostics -----------------------------------------------------------------------------------------


def test_diagnostics_carry_the_drop_counters_and_held_bytes():
    node, inputs, store, _ = camera(depth_topic="")
    node.callbacks["front/image"](colour(NOW, 0))
    node.callbacks["front/image"](CompressedImage())  # wrong type for a raw camera: counted, not raised
    message = diagnostics_msg("/vilasr", store.stats(), [inputs], stamp(NOW), NoPoseSource(), 123_000_000)
    values = {status.name: {kv.key: kv.value for kv in status.values} for status in message.status}
    front = values["/vilasr: camera front"]
    assert front["dropped: image invalid"] == "1" and front["keyframes"] == "1"
    assert front["memory MB"] == str(round(WIDTH * HEIGHT * 3 / 1e6, 1))
    assert values["/vilasr: keyframe buffer"]["process RSS MB"] == "123.0"
    assert message.status[0].level == message.status[0].WARN  # drops make the camera's status WARN


# --- poses ------------------------------------------------------------------------------------------------


def test_malformed_odometry_is_dropped_and_a_frame_mismatch_reported_once():
    node = FakeNode()
    config = NodeConfig().pose
    poses = TopicPoseSource(node, config, "odometry", "map", None)
    bad = Odometry(header=Header(stamp=stamp(NOW), frame_id="odom"))
    bad.pose.pose.orientation.w = float("nan")
    node.callbacks[config.topic](bad)
    good = Odometry(header=Header(stamp=stamp(NOW), frame_id="odom"))
    good.pose.pose.orientation.w = 1.0
    node.callbacks[config.topic](good)
    node.callbacks[config.topic](good)
    assert poses.diagnostics() == {"dropped: pose invalid": 1}
    assert sum("are in 'odom', not frames.target_frame 'map'" in line for line in node.logger.lines) == 1
    assert poses.base_pose() is not None
    poses.reset()
    assert poses.base_pose() is None


class LookupError_(Exception):
    pass


class FakeBuffer:
    def __init__(self) -> None:
        self.timeouts = []

    def lookup_transform(self, target, source, when, timeout):
        self.timeouts.append(timeout.nanoseconds)
        raise LookupError_(f'"{source}" passed to lookupTransform argument source_frame does not exist')

    def clear(self) -> None:
        pass


def test_tf_lookups_are_bounded_and_every_failure_is_counted_and_logged_once_per_cause():
    node, buffer = FakeNode(), FakeBuffer()
    poses = TfPoseSource(node, "map", "base_link", 0.05, buffer=buffer, tf2=object())
    for _ in range(5):
        assert poses.camera_pose("camera_optical", NOW, None) is None
    assert poses.base_pose() is None
    assert buffer.timeouts == [50_000_000] * 5 + [0]  # a frame's stamp waits 50 ms; the latest pose does not wait
    assert poses.diagnostics() == {"tf failures: LookupError_": 6}
    assert len(node.logger.lines) == 1 and "'camera_optical' in 'map'" in node.logger.lines[0]


# --- the configure-time warning -------------------------------------------------------------------------


def test_the_defaults_warn_that_no_estimate_can_be_valid(monkeypatch):
    monkeypatch.setattr("vilasr_ros.ros.pose_source.tf2_available", lambda: False)
    config = NodeConfig()
    problems = estimate_problems(config, [CameraConfig(name="camera")])
    assert len(problems) == 2
    assert "pose.source odometry (auto: tf2_ros is not installed): camera(s) camera have no" in problems[0]
    assert "frames.target_frame is 'map'" in problems[1]


def test_a_consistent_setup_gets_no_warning(monkeypatch):
    monkeypatch.setattr("vilasr_ros.ros.pose_source.tf2_available", lambda: False)
    config = NodeConfig.from_parameters({"pose.source": "odometry", "frames.target_frame": "odom"})
    assert estimate_problems(config, [CameraConfig(name="c", extrinsic="0 0 1 0 0 0")]) == []
    tf = NodeConfig.from_parameters({"pose.source": "tf"})
    assert estimate_problems(tf, [CameraConfig(name="c")]) == []
    none = NodeConfig.from_parameters({"pose.source": "none"})
    assert "keyframes have no pose" in estimate_problems(none, [CameraConfig(name="c")])[0]


# --- colour and depth side by side ---------------------------------------------------------------------


def test_depth_is_not_queued_behind_colour():
    """Colour in a callback group of its own, depth and camera_info in another: a busy colour stream
    cannot keep the depth callback waiting until the depth subscription's history overwrites it."""
    node, inputs, _, _ = camera()
    groups = node.groups
    assert all(isinstance(group, MutuallyExclusiveCallbackGroup) for group in groups.values())
    assert groups["front/image"] is not groups["front/depth"]
    assert groups["front/depth"] is groups["front/info"]


def test_colour_and_depth_callbacks_in_two_threads_pair_every_frame(monkeypatch):
    """The executor runs the two groups in two threads at once: every frame is still paired with its
    depth, offered once, in stamp order, and nothing fails inside (the pairing is shared under a lock)."""
    # Arrival times stand still: on a loaded machine a frame would otherwise stop waiting for its depth
    # (after 2 x cameras.depth_tolerance + 0.1 s), which is the pairing's rule, not a race.
    monkeypatch.setattr(camera_input, "time", SimpleNamespace(monotonic=lambda: 0.0))
    node, inputs, store, _ = camera()
    frames = 400
    stamps = [NOW + index * 33 * 10**6 for index in range(frames)]
    colours = [colour(ns, index % 6) for index, ns in enumerate(stamps)]
    depths = [depth(ns) for ns in stamps]
    # Either stream at most 3 frames ahead of the other (the pairing holds 5 colour frames, 30 depth images).
    colour_ahead, depth_ahead = threading.Semaphore(3), threading.Semaphore(3)
    offered_stamps: list[int] = []
    offer = store.offer

    def recording_offer(frame):
        offered_stamps.append(frame.stamp_ns)
        return offer(frame)

    store.offer = recording_offer

    def colour_stream() -> None:
        for message in colours:
            colour_ahead.acquire()
            node.callbacks["front/image"](message)
            depth_ahead.release()

    def depth_stream() -> None:
        for message in depths:
            depth_ahead.acquire()
            node.callbacks["front/depth"](message)
            colour_ahead.release()

    threads = [threading.Thread(target=colour_stream), threading.Thread(target=depth_stream)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads every few bytecodes: interleavings a lock must cover
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(switch_interval)
    assert not any(thread.is_alive() for thread in threads)
    assert inputs.dropped == Counter()
    assert (inputs.frames_received, inputs.depth_received) == (frames, frames)
    assert inputs.frames_without_depth == 0
    assert offered_stamps == stamps
    assert store.stats().cameras["front"].offered == frames
