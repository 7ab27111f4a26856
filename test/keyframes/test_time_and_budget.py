"""Time jumps, newest-first buffers, registered depth and the keyframe byte budget."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from vilasr_ros.config import ConfigError, KeyframeConfig
from vilasr_ros.core.camera import Frame, depth_problem
from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.pairing import FramePairing, PairingSettings, TopicPoses
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.keyframes.sync import (
    ACCEPT,
    AHEAD,
    JUMPED_BACK,
    JUMPED_FORWARD,
    LATE,
    PoseHistory,
    StampedBuffer,
    StampGuard,
)

S = 1_000_000_000
HOUR = 3600 * S


def scene(seed: int, height: int = 120, width: int = 160) -> np.ndarray:
    """A random textured RGB image (sharp, and unlike any other seed's)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)


# --- stamped buffers keep the newest items ------------------------------------------------------------


def test_after_stamps_jump_back_the_buffer_keeps_the_new_items():
    buffer = StampedBuffer(capacity=3)
    for second in (100, 101, 102):
        buffer.add(second * S, f"old {second}")
    for second in (1, 2, 3):  # the bag loops: stamps restart
        buffer.add(second * S, f"new {second}")
    assert len(buffer) == 3
    assert buffer.nearest(2 * S, S // 10) == "new 2"
    assert buffer.nearest(102 * S, S) is None  # the stale items went first


def test_a_byte_bounded_buffer_evicts_the_oldest_arrivals_and_keeps_the_newest_however_large():
    buffer = StampedBuffer(capacity=100, max_bytes=1000, size=len)
    for second in range(10):
        buffer.add(second * S, "x" * 300)
    assert len(buffer) == 3 and buffer.total(len) == 900  # 3 x 300 <= 1000 < 4 x 300
    assert buffer.nearest(9 * S, 0) is not None and buffer.nearest(6 * S, 0) is None
    buffer.add(20 * S, "y" * 5000)  # larger than the bound: kept alone
    assert len(buffer) == 1 and buffer.nearest(20 * S, 0) == "y" * 5000
    buffer.clear()
    buffer.add(S, "z")
    assert buffer.total(len) == 1
    with pytest.raises(ValueError):
        StampedBuffer(capacity=3, max_bytes=10)


def test_depth_waiting_for_pairing_is_bounded_in_bytes_whatever_streams_in():
    from vilasr_ros.keyframes.pairing import DEPTH_BUFFER_BYTES

    pairing, _ = pairing_with_problems()
    bomb = np.zeros((2160, 3840), np.float32)  # a 4K float depth image: 33 MB
    for index in range(20):  # depth only, no colour frame ever arrives
        pairing.add_depth(index * S, bomb.copy(), 0.0)
    assert pairing.held_bytes <= max(DEPTH_BUFFER_BYTES, bomb.nbytes)
    [frame] = pairing.add_colour(19 * S, "", scene(0, 2160, 3840), 0.0)  # the newest depth is still there
    assert frame.depth is not None


def test_pose_history_interpolates_after_a_jump_back():
    history = PoseHistory(capacity=4, max_gap_ns=2 * S)
    for second in range(100, 104):
        history.add(second * S, Pose((second, 0, 0), (0, 0, 0, 1), "odom"))
    for second in range(0, 4):
        history.add(second * S, Pose((second, 0, 0), (0, 0, 0, 1), "odom"))
    assert history.at(S + S // 2).position == pytest.approx((1.5, 0.0, 0.0))


# --- the stamp guard ----------------------------------------------------------------------------------


def guard() -> StampGuard:
    return StampGuard(back_tolerance_ns=S, forward_tolerance_ns=30 * S)


def test_one_far_future_stamp_does_not_poison_the_stream():
    stamps = guard()
    assert stamps.check(1000 * S).verdict == ACCEPT
    assert stamps.check(1000 * S + HOUR).verdict == AHEAD
    verdicts = [stamps.check(1000 * S + n * S // 30).verdict for n in range(1, 31)]
    assert verdicts == [ACCEPT] * 30 and stamps.reference_ns == 1001 * S


def test_a_late_frame_is_dropped_and_a_confirmed_jump_back_is_followed():
    stamps = guard()
    for n in range(10):
        stamps.check(500 * S + n * S // 10)
    assert stamps.check(497 * S).verdict == LATE  # 3 s late: one frame
    assert stamps.check(500 * S).verdict == ACCEPT  # within 1 s of the reference
    loop = [stamps.check(10 * S + n * S // 30) for n in range(5)]  # the bag starts over
    assert [v.verdict for v in loop] == [LATE, LATE, JUMPED_BACK, ACCEPT, ACCEPT]
    assert loop[2].offset_s == pytest.approx(10 + 2 / 30 - 500.9, abs=1e-6)
    assert stamps.reference_ns == 10 * S + 4 * S // 30


def test_a_forward_jump_needs_agreeing_frames_and_scattered_stamps_never_agree():
    stamps = guard()
    stamps.check(0)
    assert [stamps.check(HOUR + n * S // 30).verdict for n in range(3)] == [AHEAD, AHEAD, JUMPED_FORWARD]
    scattered = guard()
    scattered.check(0)
    verdicts = {scattered.check(stamp).verdict for stamp in (HOUR, 5 * HOUR, 9 * HOUR, 2 * HOUR, 13 * HOUR)}
    assert verdicts == {AHEAD} and scattered.reference_ns == 0


# --- registered depth ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "depth_size, registered",
    [
        ((1280, 720), True),
        ((640, 360), True),
        ((427, 240), True),  # 1280/3 rounded up
        ((426, 240), True),  # ... or down
        ((320, 180), True),
        ((848, 480), False),  # a RealSense depth stream that is not aligned: similar aspect, another grid
        ((1279, 720), False),
        ((640, 480), False),
    ],
)
def test_depth_is_registered_only_at_the_colour_size_divided_by_a_whole_number(depth_size, registered):
    depth = np.zeros(depth_size[::-1], np.uint16)
    problem = depth_problem(depth, 0.001, 1280, 720)
    assert (problem is None) == registered, problem


SETTINGS = PairingSettings("front", "", 0.001, True, False, 0.05)


def pairing_with_problems(settings: PairingSettings = SETTINGS):
    problems: list[tuple[str, str]] = []
    pairing = FramePairing(settings, lambda frame, stamp, extrinsic: None, lambda c, m: problems.append((c, m)))
    return pairing, problems


def test_depth_from_another_frame_is_dropped_and_the_colour_frame_kept():
    pairing, problems = pairing_with_problems()
    pairing.add_depth(S, np.full((120, 160), 1000, np.uint16), 0.0, "camera_depth_optical_frame")
    [frame] = pairing.add_colour(S, "camera_color_optical_frame", scene(0), 0.0)
    assert frame.depth is None and frame.rgb.shape == (120, 160, 3)
    [(category, message)] = problems
    assert category == "depth frame mismatch"
    assert "'camera_depth_optical_frame' is not registered to the colour frame 'camera_color_optical_frame'" in message
    assert "cameras.front.depth_registered" in message


def test_depth_declared_registered_is_used_whatever_its_frame_id():
    settings = PairingSettings("front", "", 0.001, True, False, 0.05, depth_registered=True)
    pairing, problems = pairing_with_problems(settings)
    pairing.add_depth(S, np.full((60, 80), 1000, np.uint16), 0.0, "camera_depth_optical_frame")
    [frame] = pairing.add_colour(S, "camera_color_optical_frame", scene(0), 0.0)
    assert frame.depth.shape == (60, 80) and problems == []


def test_depth_of_the_wrong_size_drops_only_the_depth():
    pairing, problems = pairing_with_problems()
    pairing.add_depth(S, np.full((100, 100), 1000, np.uint16), 0.0, "front_optical")
    [frame] = pairing.add_colour(S, "front_optical", scene(0), 0.0)
    assert frame.depth is None and [c for c, _ in problems] == ["depth not registered"]
    store = KeyframeStore()
    assert store.offer(frame).admitted  # the colour frame is still a keyframe


def test_clearing_the_pairing_forgets_depth_and_waiting_frames():
    pairing, _ = pairing_with_problems()
    pairing.add_depth(100 * S, np.full((120, 160), 1000, np.uint16), 0.0, "f")
    assert pairing.held_bytes == 120 * 160 * 2
    pairing.clear()
    assert pairing.held_bytes == 0
    assert pairing.add_colour(100 * S, "f", scene(0), 10.0) == []  # waits: the depth at its stamp is gone
    [frame] = pairing.flush()
    assert frame.depth is None


# --- the byte budget ----------------------------------------------------------------------------------


def frame(camera: str, second: float, seed: int, height: int = 120, width: int = 160, depth: bool = False) -> Frame:
    return Frame(
        camera=camera,
        stamp_ns=round(second * S),
        frame_id=f"{camera}_optical",
        rgb=scene(seed, height, width),
        depth=np.full((height, width), 1000, np.uint16) if depth else None,
    )


def test_the_byte_budget_evicts_the_oldest_keyframes_and_stats_report_held_bytes():
    one = 120 * 160 * 3 + 120 * 160 * 2  # colour plus 16-bit depth
    config = KeyframeConfig(min_interval=0.0, max_bytes=max(1_000_000, 10 * one + 1), max_total=1000)
    store = KeyframeStore(config)
    budget_frames = config.max_bytes // one
    for number in range(40):
        assert store.offer(frame("front", number, number, depth=True)).admitted
    stats = store.stats()
    assert stats.total.keyframes == budget_frames and stats.total.nbytes == budget_frames * one <= config.max_bytes
    assert stats.total.evicted == 40 - budget_frames
    stamps = [keyframe.stamp_ns for keyframe in store.keyframes()]
    assert stamps == [round(second * S) for second in range(40 - budget_frames, 40)]  # the newest stay


def test_a_view_counts_the_whole_buffer_it_keeps_alive():
    big = scene(1, 480, 640)
    view = big[:120, :160]
    store = KeyframeStore(KeyframeConfig(min_interval=0.0))
    assert store.offer(Frame("front", 0, "front_optical", view)).admitted
    assert store.stats().total.nbytes == big.nbytes  # not view.nbytes: the 640x480 buffer stays in memory


def test_a_frame_larger_than_the_budget_is_refused():
    store = KeyframeStore(KeyframeConfig(max_bytes=1_000_000))
    admission = store.offer(frame("front", 0, 0, 480, 800))  # 1.15 MB of colour
    assert not admission.admitted and admission.category == "too large"
    assert "1.2 MB, more than keyframes.max_bytes 1 MB" in admission.reason


def test_the_byte_budget_keeps_each_cameras_newest_keyframe():
    one = 120 * 160 * 3
    store = KeyframeStore(KeyframeConfig(min_interval=0.0, max_bytes=1_000_000))
    assert store.offer(frame("rear", 0, 100)).admitted
    for number in range(30):
        store.offer(frame("front", number, number))
    per_camera = {name: stats.keyframes for name, stats in store.stats().cameras.items()}
    assert per_camera["rear"] == 1 and per_camera["front"] == 1_000_000 // one - 1


def test_max_bytes_is_validated():
    with pytest.raises(ConfigError, match="keyframes.max_bytes must be >= 1000000"):
        KeyframeConfig(max_bytes=10)


def test_clear_one_camera_keeps_the_others_and_frees_its_bytes():
    store = KeyframeStore(KeyframeConfig(min_interval=0.0))
    store.offer(frame("front", 0, 0))
    store.offer(frame("rear", 0, 1))
    store.clear("front")
    stats = store.stats()
    assert stats.cameras["front"].keyframes == 0 and stats.cameras["rear"].keyframes == 1
    assert stats.total.nbytes == 120 * 160 * 3
    assert store.offer(frame("front", 0, 2)).category == "first"  # compared with nothing: admitted as first


# --- stale stamps against the node clock -----------------------------------------------------------------


def test_stamps_far_behind_or_ahead_of_the_clock_are_named_as_such():
    store = KeyframeStore(KeyframeConfig(min_interval=0.0))
    for number in range(3):
        store.offer(frame("front", 1000 + number, number))
    now_behind = (1002 + 3600) * S
    assert store.select(16, lookback=120.0, now=now_behind) == []
    problem = store.clock_problem(now_behind, 120.0)
    assert problem.startswith("camera stamps are 3600 s behind the node clock") and "use_sim_time" in problem
    ahead = store.clock_problem(400 * S, 120.0)
    assert ahead.startswith("camera stamps are 600 s ahead of the node clock")
    assert store.clock_problem(1010 * S, 120.0) is None  # in the window: nothing to say
    assert KeyframeStore().clock_problem(now_behind, 120.0) is None  # no keyframes: nothing to say


def test_topic_poses_clear():
    poses = TopicPoses(max_gap=0.5)
    poses.add(S, Pose((1, 0, 0), (0, 0, 0, 1), "odom"))
    poses.clear()
    assert poses.latest is None and poses.camera_pose("c", S, Pose((0, 0, 0), (0, 0, 0, 1), "base")) is None


def test_a_frame_waits_for_a_pose_at_or_after_its_stamp_instead_of_taking_an_older_one():
    """Odometry that lags the images: the frame waits (boundedly) and is interpolated, not given the last pose."""
    poses = TopicPoses(max_gap=0.5)
    identity = Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "base_link")
    settings = PairingSettings("front", "", 0.001, False, False, 0.05, extrinsic=identity)
    pairing = FramePairing(settings, poses.camera_pose, pose_pending=poses.pending)
    poses.add(S, Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom"))
    assert pairing.add_colour(S + S // 20, "", scene(0), 0.0) == []  # 50 ms after the last pose: it waits
    poses.add(S + S // 10, Pose((0.1, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom"))  # the robot moves 1 m/s
    [frame] = pairing.add_colour(S + 2 * S // 10, "", scene(1), 0.01)  # the next camera message releases it
    assert frame.stamp_ns == S + S // 20 and frame.pose.position == pytest.approx((0.05, 0.0, 0.0))
    [late] = pairing.add_colour(S + 3 * S // 10, "", scene(2), 1.0)  # no newer pose within the wait: goes on
    assert late.stamp_ns == S + 2 * S // 10 and late.pose.position == pytest.approx((0.1, 0.0, 0.0))


# --- after a jump back: the old time line goes, what came on the new one stays -------------------------


def test_discarding_after_a_stamp_keeps_the_earlier_items_and_their_bytes():
    buffer = StampedBuffer(capacity=10, max_bytes=10_000, size=len)
    for second in (100, 101, 102):  # the old time line
        buffer.add(second * S, "o" * 100)
    for second in (0, 1):  # the new one, arrived before the jump was confirmed
        buffer.add(second * S, "n" * 10)
    buffer.discard_after(S + S // 20)
    assert len(buffer) == 2 and buffer.total(len) == 20
    assert buffer.nearest(S, 0) == "n" * 10 and buffer.nearest(101 * S, 10 * S) is None
    for second in range(2, 10):  # the byte count is right: later additions are bounded as before
        buffer.add(second * S, "n" * 10)
    assert buffer.total(len) == 100


def test_a_partial_clear_of_the_pairing_keeps_the_new_time_lines_depth_and_frames():
    pairing, _ = pairing_with_problems()
    old, new = np.full((120, 160), 1000, np.uint16), np.full((120, 160), 2000, np.uint16)
    pairing.add_depth(100 * S, old, 0.0, "f")
    assert pairing.add_colour(100 * S + S // 2, "f", scene(0), 0.0) == []  # old line, waiting for its depth
    pairing.add_depth(2 * S, new, 0.1, "f")  # new line, before the jump is confirmed
    pairing.clear(after_ns=2 * S + S // 20)
    assert pairing.held_bytes == new.nbytes  # the old depth and the old waiting frame are gone
    [frame] = pairing.add_colour(2 * S, "f", scene(1), 0.2)
    assert frame.depth is not None and int(frame.depth[0, 0]) == 2000
    assert pairing.flush() == []


def test_a_partial_clear_of_the_poses_keeps_the_new_time_lines_poses():
    poses = TopicPoses(max_gap=0.5)
    extrinsic = Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "base_link")
    for tenth in range(1000, 1010):  # the old line, 100 s on
        poses.add(tenth * S // 10, Pose((5.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom"))
    for tenth in range(0, 5):  # the new line, the robot back at the origin
        poses.add(tenth * S // 10, Pose((tenth / 10, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom"))
    assert poses.pending(S // 2) is False  # the old line's poses say "nothing to wait for": wrong
    poses.clear(after_ns=S // 2)
    assert poses.camera_pose("c", S // 4, extrinsic).position == pytest.approx((0.25, 0.0, 0.0))
    assert poses.latest is not None and poses.latest.position == pytest.approx((0.4, 0.0, 0.0))
    assert poses.pending(S // 2)  # a frame now waits for the new line's pose at its stamp
    poses.add(110 * S, Pose((5.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "odom"))  # a straggler of the old line
    poses.clear(after_ns=S)
    assert poses.latest is None  # the latest pose was on the old line: no current pose until the next
