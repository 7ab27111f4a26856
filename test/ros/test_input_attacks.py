"""Issue 13, inputs: the node under attack through real DDS, in its own process.

1,000 fuzzed messages on each input topic, time jumps and clocks that disagree,
and 5,000 frames with PNG bombs against the keyframe byte budget. After each
attack the node is alive, admits good frames and answers a good query.
"""

from __future__ import annotations

import random
import re
import threading
import time

import cv2
import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from fuzz_messages import fuzzed_camera_info, fuzzed_image, fuzzed_odometry, png_bomb, textured
from nav_msgs.msg import Odometry
from node_harness import WAIT, Camera, start_node, stop_node, wait_until_active
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header

from vilasr_ros.ros.client import build_request, call_query

pytestmark = pytest.mark.ros

S = 1_000_000_000
REAR = (
    "cameras.names:=[front,rear]",
    "cameras.rear.image_topic:=rear/image_raw/compressed",
    "cameras.rear.transport:=compressed",
    "cameras.rear.depth_topic:=rear/depth/compressedDepth",
    "cameras.rear.depth_transport:=compressedDepth",
    "cameras.rear.camera_info_topic:=''",
    "cameras.front.extrinsic:=0 0 1 -0.5 0.5 -0.5 0.5",
    "pose.source:=odometry",
    "pose.topic:=odom",
    "frames.target_frame:=odom",
)
MAX_SLOW_ROUNDS = 40  # of 25 messages each, 10 ms apart, after the 1,000-message burst


class Watch:
    """The node's diagnostics as they arrive: status name suffix -> {key: value}.

    Spins ``node`` in an executor of its own only while it waits, so that other helpers
    (call_query) can spin the same node in between.
    """

    def __init__(self, node, node_name: str) -> None:
        self.node = node
        self.values: dict[str, dict[str, str]] = {}
        self.prefix = f"{node_name}: "
        self.subscription = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_message, 10)

    def _on_message(self, message: DiagnosticArray) -> None:
        for status in message.status:
            if status.name.startswith(self.prefix):
                self.values[status.name[len(self.prefix) :]] = {kv.key: kv.value for kv in status.values}

    def spin(self, seconds: float) -> None:
        self.wait_for(lambda: False, seconds)

    def value(self, status: str, key: str, default: float = 0.0) -> float:
        return float(self.values.get(status, {}).get(key, default))

    def wait_for(self, condition, timeout: float = WAIT) -> bool:
        executor = SingleThreadedExecutor(context=self.node.context)
        executor.add_node(self.node)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if condition():
                    return True
                executor.spin_once(timeout_sec=min(0.05, max(0.0, deadline - time.monotonic())))
            return condition()
        finally:
            executor.remove_node(self.node)
            executor.shutdown()

    def close(self) -> None:
        self.node.destroy_subscription(self.subscription)


def good_rear(node, image_pub, depth_pub, seed: int, stamp_ns: int | None = None) -> None:
    """One good compressed colour frame and its compressedDepth (12-byte header, 16-bit PNG)."""
    stamp = node.get_clock().now().to_msg() if stamp_ns is None else ns_to_time(stamp_ns)
    header = Header(stamp=stamp, frame_id="rear_optical")
    ok, png = cv2.imencode(".png", np.full((120, 160), 1500, np.uint16))
    depth = bytes(12) + png.tobytes()
    depth_pub.publish(CompressedImage(header=header, format="16UC1; compressedDepth png", data=depth))
    ok, jpeg = cv2.imencode(".jpg", textured(seed))
    image_pub.publish(CompressedImage(header=header, format="jpeg", data=jpeg.tobytes()))


def rear_publishers(node, namespace: str):
    """Publishers of the rear camera: compressed colour and compressedDepth."""
    return (
        node.create_publisher(CompressedImage, f"/{namespace}/rear/image_raw/compressed", qos_profile_sensor_data),
        node.create_publisher(CompressedImage, f"/{namespace}/rear/depth/compressedDepth", qos_profile_sensor_data),
    )


def ns_to_time(ns: int):
    from builtin_interfaces.msg import Time

    return Time(sec=ns // S, nanosec=ns % S)


def test_a_thousand_fuzzed_messages_per_input_topic_leave_the_node_answering(ros_node, namespace, tmp_path):
    process = start_node(namespace, tmp_path, *REAR)
    node_name = f"/{namespace}/vilasr"
    watch = None
    try:
        wait_until_active(ros_node, node_name)
        watch = Watch(ros_node, node_name)
        front = Camera(ros_node, namespace)
        rear_image, rear_depth = rear_publishers(ros_node, namespace)
        odom = ros_node.create_publisher(Odometry, f"/{namespace}/odom", qos_profile_sensor_data)
        rng = random.Random(13)
        now_s = ros_node.get_clock().now().nanoseconds // S
        attacks = [  # (publisher, message factory, camera whose diagnostics count the drops, counter prefix)
            (front.publisher.image_pub, lambda: fuzzed_image(rng, False, now_s), "camera front", "dropped: image"),
            (front.publisher.depth_pub, lambda: fuzzed_image(rng, False, now_s), "camera front", "dropped: depth"),
            (front.publisher.info_pub, lambda: fuzzed_camera_info(rng, now_s), "camera front", "dropped: camera_info"),
            (rear_image, lambda: fuzzed_image(rng, True, now_s), "camera rear", "dropped: image"),
            (rear_depth, lambda: fuzzed_image(rng, True, now_s), "camera rear", "dropped: depth"),
            (odom, lambda: fuzzed_odometry(rng, now_s), "poses", "dropped: pose"),
        ]
        for number, (publisher, make, status, counter) in enumerate(attacks):

            def dropped(status=status, counter=counter) -> float:
                values = watch.values.get(status, {})
                return sum(float(value) for key, value in values.items() if key.startswith(counter))

            for index in range(1000):
                publisher.publish(make())
                time.sleep(0.002)  # paced: best-effort delivery drops what the node's history cannot hold
                if index % 25 == 24:
                    watch.spin(0.01)
            # A loaded machine lets best-effort delivery lose most of a 500 Hz burst before the
            # node's executor takes it: slower rounds follow until the drops are counted.
            for _ in range(MAX_SLOW_ROUNDS):
                if watch.wait_for(lambda: dropped() >= 100, 2.0):
                    break
                for _ in range(25):
                    publisher.publish(make())
                    watch.spin(0.01)
            assert watch.wait_for(lambda: dropped() >= 100), (
                f"{publisher.topic_name} {dropped()} {watch.values.get(status)}"
            )
            assert process.alive(), process.log_tail()
            # Good frames are admitted again: a few frames at most to follow the node's time again.
            admitted = {name: watch.value(f"camera {name}", "admitted") for name in ("front", "rear")}
            for seed in range(12):
                front.publish(1, period=0.0)
                good_rear(ros_node, rear_image, rear_depth, 100 * number + seed)
                watch.spin(0.06)

            def admitting(admitted=admitted) -> bool:
                return all(watch.value(f"camera {name}", "admitted") >= admitted[name] + 3 for name in admitted)

            assert watch.wait_for(admitting), watch.values
            response = call_query(ros_node, f"{node_name}/query", build_request("How far?"), WAIT)
            assert response.success, (publisher.topic_name, response.error)
        front_values = watch.values["camera front"]
        assert float(front_values.get("dropped: image internal error", 0)) == 0, front_values
    finally:
        if watch is not None:
            watch.close()
        code, output = stop_node(process)
    assert code == 0 and "Traceback" not in output
    # Logged per topic and reason, at most once every 5 s each.
    assert "dropping image on rear/image_raw/compressed: compressed image (format" in output
    assert "more than the limit" in output


def test_time_jumps_and_a_clock_mismatch_are_survived_and_named(ros_node, running_node, namespace):
    process, node_name = running_node
    wait_until_active(ros_node, node_name)
    watch = Watch(ros_node, node_name)
    try:
        camera = Camera(ros_node, namespace)
        publisher = camera.publisher
        now = ros_node.get_clock().now().nanoseconds

        seeds = iter(range(10_000))

        def publish_at(stamp_ns: int, count: int) -> None:
            for number in range(count):
                rgb = textured(next(seeds), 240, 320)
                publisher.publish(rgb, camera.depth, "front_optical", stamp_ns=stamp_ns + number * S // 10)
                watch.spin(0.05)

        # A frame stamped an hour ahead, then thirty good frames: the good ones keep coming in.
        publish_at(now, 5)
        publish_at(now + 3600 * S, 1)
        publish_at(now + S, 30)
        assert watch.wait_for(lambda: watch.value("camera front", "dropped: image stamp ahead") == 1)
        assert watch.wait_for(lambda: watch.value("camera front", "admitted") >= 25), watch.values
        # The bag loops: stamps an hour back. The buffers are cleared once and the new frames admitted.
        kept = watch.value("camera front", "admitted")
        publish_at(now - 3600 * S, 20)
        assert watch.wait_for(lambda: watch.value("camera front", "time jumps back") == 1), watch.values
        assert watch.wait_for(lambda: watch.value("camera front", "admitted") >= kept + 10), watch.values
        assert watch.value("camera front", "clock offset s") == pytest.approx(3600, abs=60)
        # All keyframes are an hour old for the node clock: a query with a look-back says why it has none.
        request = build_request("How far?")
        request.lookback.sec = 120
        stale = call_query(ros_node, f"{node_name}/query", request, WAIT)
        assert not stale.success
        assert stale.error.startswith("camera stamps are 36") and "s behind the node clock" in stale.error
        assert "use_sim_time" in stale.error
        # The camera comes back to the node's time: followed once 3 frames agree, and the query succeeds.
        publish_at(ros_node.get_clock().now().nanoseconds, 8)
        assert call_query(ros_node, f"{node_name}/query", request, WAIT).success
    finally:
        watch.close()
    assert process.alive()
    code, output = stop_node(process)
    assert code == 0 and "Traceback" not in output
    assert output.count("stamps jumped back") == 1
    assert re.search(r"camera stamps are 36\d\d s behind the node clock: is use_sim_time set\?", output)


def test_a_sim_time_reset_clears_the_buffers_at_once_and_the_new_frames_are_admitted(ros_node, namespace, tmp_path):
    """use_sim_time and /clock going back (a simulator reset, a bag played again with --clock): the node's
    clock jump callback clears the keyframes once, and the first frames of the new time line are admitted
    without the 3 frames a jump seen only in the camera stamps takes to confirm."""
    from rosgraph_msgs.msg import Clock

    process = start_node(namespace, tmp_path, "use_sim_time:=true")
    node_name = f"/{namespace}/vilasr"
    watch = None
    simulator = SimulatedClock(ros_node.create_publisher(Clock, "/clock", 10), 1000 * S)
    try:
        wait_until_active(ros_node, node_name)
        watch = Watch(ros_node, node_name)
        camera = Camera(ros_node, namespace)
        camera.publisher.wait_for_subscribers(WAIT)
        seeds = iter(range(10_000))

        def frames(count: int) -> None:
            for _ in range(count):
                rgb = textured(next(seeds), 240, 320)
                camera.publisher.publish(rgb, camera.depth, "front_optical", stamp_ns=simulator.now_ns)
                watch.spin(0.1)  # the simulator runs in real time: 0.1 s a frame

        frames(10)
        assert watch.wait_for(lambda: watch.value("camera front", "keyframes") >= 3), watch.values
        admitted = watch.value("camera front", "admitted")
        simulator.reset(10 * S)  # the clock goes back 990 s
        assert watch.wait_for(lambda: watch.value("camera front", "time jumps back") == 1), watch.values
        frames(6)
        assert watch.wait_for(lambda: watch.value("camera front", "admitted") >= admitted + 4), watch.values
        assert watch.value("camera front", "dropped: image stamp late") == 0, watch.values
        assert watch.value("camera front", "time jumps back") == 1
    finally:
        simulator.stop()
        if watch is not None:
            watch.close()
        code, output = stop_node(process)
    assert code == 0 and "Traceback" not in output
    assert output.count("the node clock jumped back") == 1, output[-3000:]
    assert "stamps jumped back" not in output  # the camera's own guard had nothing left to confirm


class SimulatedClock:
    """/clock from a thread, advancing in real time from ``start_ns`` every 20 ms, until :meth:`stop`."""

    def __init__(self, publisher, start_ns: int) -> None:
        self._publisher = publisher
        self._offset_ns = start_ns - time.monotonic_ns()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def now_ns(self) -> int:
        return time.monotonic_ns() + self._offset_ns

    def reset(self, start_ns: int) -> None:
        self._offset_ns = start_ns - time.monotonic_ns()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        from rosgraph_msgs.msg import Clock

        while not self._stopped.wait(0.02):
            self._publisher.publish(Clock(clock=ns_to_time(self.now_ns)))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


BUDGET_MB = 40
# What the node holds beyond the keyframes at 4K: a 4K frame waiting for depth (25 MB), the decode of the next
# (25 MB BGR, converted in place, plus an 8 MB grey for scoring), the newly admitted frame before eviction
# (25 MB), depth and DDS buffers. Measured on a loaded 2-core machine: peak RSS 111-134 MB above the idle node,
# so 71-94 MB over the 40 MB budget (without return_image_memory_to_the_system: 234 MB above idle).
OVERHEAD_MB = 150


@pytest.mark.slow
def test_rss_stays_within_the_byte_budget_while_5000_frames_and_png_bombs_stream_in(ros_node, namespace, tmp_path):
    """5,000 frames: small raw RGB-D on front, compressed on rear with a 4K PNG (25 MB decoded, admitted)
    and a 68-byte 40000x40000 PNG (refused by its header) every 50th frame each. The node's RSS must
    stay under its resident size before streaming + keyframes.max_bytes + a fixed overhead (the replay
    backend has no model)."""
    process = start_node(
        namespace,
        tmp_path,
        *REAR,
        f"keyframes.max_bytes:={BUDGET_MB * 1_000_000}",
        "keyframes.max_per_camera:=1000",
        "keyframes.max_total:=2000",
    )
    node_name = f"/{namespace}/vilasr"
    watch = None
    try:
        wait_until_active(ros_node, node_name)
        watch = Watch(ros_node, node_name)
        front = Camera(ros_node, namespace)
        rear_image, rear_depth = rear_publishers(ros_node, namespace)
        big = []  # 4K PNGs that compress to little but decode to 3840x2160x3 = 25 MB each
        for seed in range(4):
            image = np.zeros((2160, 3840, 3), np.uint8)
            image[:: 16 + seed, :, seed % 3] = 255
            image[:, :: 24 + seed, :] = 90
            big.append(cv2.imencode(".png", image)[1].tobytes())
        tiny_bomb = png_bomb(40000, 40000)
        watch.spin(1.5)
        baseline = rss_mb(process.pid)
        peak = baseline
        for number in range(5000):
            if number % 2:
                front.publish(1, period=0.0)
            elif number % 50 == 0:
                header = Header(stamp=ros_node.get_clock().now().to_msg(), frame_id="rear_optical")
                rear_image.publish(CompressedImage(header=header, format="png", data=big[(number // 50) % 4]))
            elif number % 50 == 24:
                header = Header(stamp=ros_node.get_clock().now().to_msg(), frame_id="rear_optical")
                rear_image.publish(CompressedImage(header=header, format="png", data=tiny_bomb))
            else:
                good_rear(ros_node, rear_image, rear_depth, number)
            if number % 10 == 9:
                watch.spin(0.005)
                peak = max(peak, rss_mb(process.pid))
        watch.spin(2.0)
        peak = max(peak, rss_mb(process.pid))
        buffer_mb = watch.value("keyframe buffer", "memory MB")
        received = watch.value("camera rear", "frames received") + watch.value("camera front", "frames received")
        print(
            f"RSS baseline {baseline:.0f} MB, peak {peak:.0f} MB, buffer {buffer_mb:.1f} MB "
            f"(budget {BUDGET_MB} MB), frames received {received:.0f} of 5000, "
            f"evicted {watch.value('camera rear', 'evicted') + watch.value('camera front', 'evicted'):.0f}"
        )
        assert received >= 1000, watch.values  # enough got through for the bound to mean something
        assert watch.value("camera rear", "dropped: image too large") >= 1, watch.values
        assert buffer_mb <= BUDGET_MB
        assert peak < baseline + BUDGET_MB + OVERHEAD_MB, (baseline, peak)
        assert process.alive()
        assert call_query(ros_node, f"{node_name}/query", build_request("How far?"), WAIT).success
    finally:
        if watch is not None:
            watch.close()
        code, output = stop_node(process)
    assert code == 0 and "Traceback" not in output
