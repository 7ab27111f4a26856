"""The keyframe store on synthetic camera streams: admission, eviction, selection, bad input, threads."""

from __future__ import annotations

import math
import re
import threading
import time

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vilasr_ros.config import ConfigError, KeyframeConfig, NodeConfig
from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes import KeyframeError, KeyframeStore

FPS = 30.0
HEIGHT, WIDTH = 120, 160


def ns(seconds: float) -> int:
    return round(seconds * 1e9)


def textured_scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A random RGB scene with detail at several scales, like a cluttered room."""
    rng = np.random.default_rng(seed)
    scene = np.zeros((height, width, 3), np.float32)
    for scale in (1, 4, 16, 64):
        noise = rng.standard_normal((height // scale + 1, width // scale + 1, 3)).astype(np.float32)
        scene += cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR) * math.sqrt(scale)
    return ((scene - scene.min()) / (scene.max() - scene.min()) * 255).astype(np.uint8)


def with_sensor_noise(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0.0, 3.0, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def yaw(degrees: float) -> tuple[float, float, float, float]:
    half = math.radians(degrees) / 2
    return (0.0, 0.0, math.sin(half), math.cos(half))


def make_frame(seconds: float, rgb: np.ndarray, camera: str = "front", **fields) -> Frame:
    return Frame(camera=camera, stamp_ns=ns(seconds), frame_id=f"{camera}_optical", rgb=rgb, **fields)


SCENE = textured_scene(HEIGHT, WIDTH)
NOISY_SCENES = [with_sensor_noise(SCENE, seed) for seed in range(8)]


def stream(store: KeyframeStore, seconds: float, pose_at=None, image_at=None) -> list:
    """Offer a 30 fps stream; return the admitted keyframes."""
    admitted = []
    for index in range(int(seconds * FPS)):
        t = index / FPS
        rgb = image_at(index) if image_at else NOISY_SCENES[index % len(NOISY_SCENES)]
        pose = pose_at(t) if pose_at else None
        admission = store.offer(make_frame(t, rgb, pose=pose))
        if admission.admitted:
            admitted.append(admission.keyframe)
    return admitted


# --- admission ---------------------------------------------------------------------------------


def test_blurred_frames_are_rejected_with_their_sharpness():
    store = KeyframeStore()
    assert store.offer(make_frame(0.0, SCENE, pose=Pose((0.0, 0.0, 0.0), (0, 0, 0, 1), "map"))).category == "first"
    blurred = cv2.GaussianBlur(SCENE, (0, 0), 3)
    moved = Pose((2.0, 0.0, 0.0), (0, 0, 0, 1), "map")
    for t in (6.0, 7.0):
        admission = store.offer(make_frame(t, blurred, pose=moved))
        assert not admission.admitted
        assert admission.category == "blurred"
        sharpness = float(admission.reason.split("sharpness ")[1].split(" <")[0])
        assert sharpness < 30 and admission.reason.endswith("< 30)")
    assert store.offer(make_frame(7.5, SCENE)).category == "max interval"
    assert store.stats().cameras["front"].rejected == {"blurred": 2}


def test_a_static_camera_admits_about_one_frame_per_max_interval():
    store = KeyframeStore(KeyframeConfig(min_interval=0.5, max_interval=5.0))
    keyframes = stream(store, seconds=60.0)
    assert [kf.category for kf in keyframes] == ["first"] + ["max interval"] * (len(keyframes) - 1)
    assert 11 <= len(keyframes) <= 13
    gaps = np.diff([kf.stamp_ns for kf in keyframes]) / 1e9
    assert np.all((gaps >= 5.0) & (gaps <= 5.0 + 1.5 / FPS))
    stats = store.stats().cameras["front"]
    assert stats.offered == 1800 and stats.admitted == len(keyframes) == stats.keyframes
    assert stats.rejected["too soon"] > 0 and stats.rejected["redundant"] > 0
    assert stats.admitted + sum(stats.rejected.values()) == stats.offered
    assert stats.admission_rate == pytest.approx(len(keyframes) / 1800)


@pytest.mark.parametrize(
    "motion, category, measure, expected_spacing",
    [
        ("drive 1 m/s", "moved", "translation", (0.5, 0.5 + 1.0 / FPS)),
        ("turn 30 deg/s", "turned", "rotation", (20.0, 20.0 + 30.0 / FPS)),
        ("drive 3 m/s", "moved", "translation", (1.5, 1.5 + 3.0 / FPS)),  # min_interval 0.5 s limits it
    ],
)
def test_a_moving_camera_admits_frames_at_the_configured_spacing(motion, category, measure, expected_spacing):
    store = KeyframeStore(KeyframeConfig(min_translation=0.5, min_rotation=20.0, min_interval=0.5))
    speed = float(motion.split()[1])
    if motion.startswith("drive"):
        pose_at = lambda t: Pose((speed * t, 0.0, 0.0), (0, 0, 0, 1), "map")  # noqa: E731
    else:
        pose_at = lambda t: Pose((0.0, 0.0, 0.0), yaw(speed * t), "map")  # noqa: E731
    keyframes = stream(store, seconds=10.0, pose_at=pose_at)[1:]
    assert len(keyframes) >= 5
    assert {kf.category for kf in keyframes} == {category}
    low, high = expected_spacing
    assert all(low <= getattr(kf, measure) <= high + 1e-6 for kf in keyframes)
    assert all(kf.reason.startswith(category) for kf in keyframes)
    gaps = np.diff([kf.stamp_ns for kf in keyframes]) / 1e9
    assert np.all(gaps >= 0.5)


def test_a_panning_camera_without_pose_admits_novel_views():
    world = textured_scene(HEIGHT, WIDTH * 8, seed=3)
    step = 2  # pixels per frame: the whole world passes in about 19 s

    def image_at(index: int) -> np.ndarray:
        offset = index * step
        return np.ascontiguousarray(world[:, offset : offset + WIDTH])

    store = KeyframeStore(KeyframeConfig(min_novelty=0.35, min_interval=0.0, max_interval=60.0))
    keyframes = stream(store, seconds=(WIDTH * 7 // step) / FPS, image_at=image_at)[1:]
    assert {kf.category for kf in keyframes} == {"novel view"}
    assert all(kf.novelty >= 0.35 for kf in keyframes)
    shifts = np.diff([kf.stamp_ns for kf in keyframes]) / 1e9 * FPS * step / WIDTH
    assert 0.03 < np.median(shifts) < 0.3  # a fraction of the view, neither every frame nor never


# --- memory ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_memory_stays_under_both_caps_over_10000_frames():
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) for _ in range(40)]
    config = KeyframeConfig(min_interval=0.0, max_per_camera=30, max_total=70)
    store = KeyframeStore(config)
    cameras = ("front", "left", "right", "rear")
    newest = {}
    for index in range(10_000):
        camera = cameras[index % 4] if index < 5000 else cameras[index % 2]  # then only front and left
        admission = store.offer(make_frame(index * 0.01, images[index % 40], camera=camera))
        assert admission.admitted
        newest[camera] = admission.keyframe
        if index % 97 == 0:
            stats = store.stats()
            assert all(counts.keyframes <= 30 for counts in stats.cameras.values())
            assert stats.total.keyframes <= 70
        if index == 4999:  # four busy cameras share the total cap
            assert sorted(counts.keyframes for counts in store.stats().cameras.values()) == [17, 17, 18, 18]
    stats = store.stats()
    kept = store.keyframes()
    # two busy cameras fill their own cap; the idle ones keep what is left of the total, newest included
    assert [counts.keyframes for counts in stats.cameras.values()] == [30, 30, 5, 5]
    assert stats.total.keyframes == len(kept) == 70
    assert stats.total.nbytes == sum(kf.frame.nbytes for kf in kept) == 70 * images[0].nbytes
    assert stats.total.evicted == 10_000 - 70
    assert all(any(kf is last for kf in kept) for last in newest.values())


def test_eviction_drops_keyframes_that_only_mark_time_before_informative_ones():
    store = KeyframeStore(KeyframeConfig(max_per_camera=5))
    for index in range(3):
        pose = Pose((float(index), 0.0, 0.0), (0, 0, 0, 1), "map")
        store.offer(make_frame(index * 1.0, SCENE, pose=pose))
    for index in range(1, 11):
        store.offer(make_frame(2.0 + index * 5.0, SCENE, pose=Pose((2.0, 0.0, 0.0), (0, 0, 0, 1), "map")))
    kept = store.keyframes()
    assert [kf.category for kf in kept] == ["first", "moved", "moved", "max interval", "max interval"]
    assert [kf.stamp_ns for kf in kept[3:]] == [ns(47.0), ns(52.0)]
    assert store.stats().cameras["front"].evicted == 8


# --- selection ---------------------------------------------------------------------------------


def loop_store(count: int = 100, radius: float = 10.0) -> KeyframeStore:
    """A robot driving one loop, one keyframe every 0.6 m (each admitted because it moved)."""
    store = KeyframeStore(KeyframeConfig(max_per_camera=200, max_total=200))
    for index in range(count):
        angle = 2 * math.pi * index / count
        position = (radius * math.cos(angle), radius * math.sin(angle), 0.0)
        heading = yaw(math.degrees(angle) + 90.0)
        rgb = with_sensor_noise(SCENE, index)
        assert store.offer(make_frame(index * 0.7, rgb, pose=Pose(position, heading, "map"))).admitted
    return store


def test_selection_spreads_over_time_and_viewpoint_and_keeps_the_newest():
    store = loop_store()
    everything = store.keyframes()
    chosen = store.select(max_keyframes=8)
    assert len(chosen) == 8
    assert chosen[-1] is everything[-1]
    stamps = [kf.stamp_ns for kf in chosen]
    assert stamps == sorted(stamps) and len(set(kf.id for kf in chosen)) == 8
    span = everything[-1].stamp_ns - everything[0].stamp_ns
    gaps = np.diff([everything[0].stamp_ns] + stamps) / span
    assert gaps.max() < 0.25  # no quarter of the run is left out
    bearings = [math.degrees(math.atan2(kf.frame.pose.position[1], kf.frame.pose.position[0])) for kf in chosen]
    quarters = {int(bearing % 360 // 90) for bearing in bearings}
    assert quarters == {0, 1, 2, 3}  # every quarter of the loop is seen
    assert all(any(kf is stored for stored in everything) for kf in chosen)  # references, not copies


def test_selection_without_poses_spreads_over_time_and_cameras():
    store = KeyframeStore()
    for index in range(20):
        for camera in ("left", "right"):
            assert store.offer(make_frame(index * 6.0, SCENE, camera=camera)).admitted
    chosen = store.select(max_keyframes=6)
    assert {kf.camera for kf in chosen} == {"left", "right"}
    stamps = sorted({kf.stamp_ns for kf in chosen})
    assert stamps[0] <= ns(30.0) and stamps[-1] == ns(114.0)


def test_lookback_now_and_camera_filters():
    store = KeyframeStore()
    for index in range(20):
        for camera in ("left", "right"):
            store.offer(make_frame(index * 6.0, SCENE, camera=camera))
    recent = store.select(max_keyframes=100, lookback=30.0)
    assert {kf.stamp_ns for kf in recent} == {ns(t) for t in (84.0, 90.0, 96.0, 102.0, 108.0, 114.0)}
    past = store.select(max_keyframes=100, lookback=12.0, now=ns(60.0))
    assert {kf.stamp_ns for kf in past} == {ns(48.0), ns(54.0), ns(60.0)}
    left = store.select(max_keyframes=4, cameras=["left"])
    assert len(left) == 4 and {kf.camera for kf in left} == {"left"}
    assert store.select(cameras=["right"], lookback=1.0, now=ns(500.0)) == []
    assert len(store.select(max_keyframes=100, cameras=[])) == 40  # empty means all


def test_unknown_cameras_and_bad_selection_arguments_raise_keyframe_error():
    store = KeyframeStore(cameras=["front"])
    assert store.select() == []  # a configured camera with no keyframe yet: nothing to show
    with pytest.raises(KeyframeError, match=r"unknown camera\(s\) 'rear'; known: front"):
        store.select(cameras=["front", "rear"])
    for arguments in (
        {"max_keyframes": 0},
        {"max_keyframes": 2.5},
        {"lookback": -1.0},
        {"lookback": math.nan},
        {"now": 1.5},
    ):
        with pytest.raises(KeyframeError):
            store.select(**arguments)


# --- input -------------------------------------------------------------------------------------


def replace(frame: Frame, **fields) -> Frame:
    values = {name: getattr(frame, name) for name in Frame.__dataclass_fields__}
    values.update(fields)
    return Frame(**values)


INTRINSICS = CameraIntrinsics(k=[[100.0, 0, 80], [0, 100.0, 60], [0, 0, 1]], width=WIDTH, height=HEIGHT)
GOOD = make_frame(10.0, SCENE, intrinsics=INTRINSICS)

BAD_INPUTS = [
    ("float rgb", replace(GOOD, rgb=SCENE.astype(np.float32)), "rgb must be a uint8 HxWx3 array, got float32"),
    ("gray rgb", replace(GOOD, rgb=SCENE[:, :, 0]), "rgb must be a uint8 HxWx3 array"),
    ("rgba", replace(GOOD, rgb=np.dstack([SCENE, SCENE[:, :, :1]])), r"shape \(120, 160, 4\)"),
    ("empty rgb", replace(GOOD, rgb=np.zeros((0, 0, 3), np.uint8), intrinsics=None), "rgb is empty"),
    ("int32 depth", replace(GOOD, depth=np.zeros((HEIGHT, WIDTH), np.int32)), "depth must be a uint16 .* got int32"),
    ("float64 depth", replace(GOOD, depth=np.zeros((HEIGHT, WIDTH))), "depth must be .* got float64"),
    ("3-d depth", replace(GOOD, depth=np.zeros((HEIGHT, WIDTH, 1), np.uint16)), "depth must be"),
    ("unregistered depth", replace(GOOD, depth=np.zeros((100, 100), np.uint16)), "not registered to the 160x120"),
    ("zero depth scale", replace(GOOD, depth=np.zeros((60, 80), np.uint16), depth_scale=0.0), "depth_scale"),
    ("intrinsics size", replace(GOOD, rgb=SCENE[:100]), "intrinsics are for 160x120, the image is 160x100"),
    ("negative stamp", replace(GOOD, stamp_ns=-1), "stamp_ns must be a non-negative integer"),
    ("float stamp", replace(GOOD, stamp_ns=10.0), "stamp_ns must be a non-negative integer"),
    ("no camera", replace(GOOD, camera=""), "camera name must be a non-empty string"),
    ("no frame id", replace(GOOD, frame_id=" "), "frame_id must be a non-empty string"),
    ("matrix pose", replace(GOOD, pose=np.eye(4)), "pose must be a Pose, got ndarray"),
    ("not a frame", None, "expected a Frame, got NoneType"),
    ("old stamp", replace(GOOD, stamp_ns=ns(10.0 - 1.5)), r"out of order \(stamp 1.500 s before"),
]


@pytest.mark.parametrize("bad, reason", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_is_rejected_with_a_reason_and_nothing_else_changes(bad, reason):
    store = KeyframeStore()
    kept = store.offer(GOOD).keyframe
    before = store.stats()
    admission = store.offer(bad)
    assert not admission.admitted and admission.keyframe is None
    assert admission.category == ("out of order" if "out of order" in reason else "bad input")
    assert re.search(reason, admission.reason), admission.reason
    assert store.keyframes() == [kept]
    after = store.stats()
    assert after.total.offered == before.total.offered + 1
    assert after.total.rejected == {admission.category: 1}
    assert after.total.keyframes == 1 and after.total.nbytes == before.total.nbytes
    assert set(after.cameras) == set(before.cameras)  # a nameless frame adds no camera
    assert store.offer(make_frame(16.0, SCENE)).category == "max interval"  # the camera still works


arrays = st.builds(
    lambda dtype, shape: np.ones(shape, dtype),
    st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int8, bool]),
    st.lists(st.integers(0, 6), min_size=1, max_size=4).map(tuple),
)


@settings(max_examples=200, deadline=None)
@given(
    rgb=st.one_of(arrays, st.just(SCENE[:6, :8]), st.none()),
    depth=st.one_of(st.none(), arrays),
    stamp=st.one_of(st.integers(-5, 10**19), st.floats(allow_nan=True), st.none()),
    pose=st.sampled_from([None, Pose((0, 0, 0), (0, 0, 0, 1), "map"), "map", (0, 0, 0)]),
)
def test_offer_never_raises_whatever_it_is_given(rgb, depth, stamp, pose):
    store = KeyframeStore(KeyframeConfig(min_sharpness=0.0))
    frame = Frame(camera="front", stamp_ns=stamp, frame_id="front_optical", rgb=rgb, depth=depth, pose=pose)
    admission = store.offer(frame)
    assert admission.admitted == (admission.keyframe is not None) == (len(store.keyframes()) == 1)
    assert admission.reason and store.stats().total.offered == 1


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_depth_in_millimetres_or_metres_is_accepted_at_a_lower_resolution(dtype):
    depth = np.full((HEIGHT // 2, WIDTH // 2), 1500 if dtype is np.uint16 else 1.5, dtype)
    depth[0, 0] = 0 if dtype is np.uint16 else np.nan
    rgb = SCENE.copy()
    store = KeyframeStore()
    keyframe = store.offer(make_frame(0.0, rgb, depth=depth, intrinsics=INTRINSICS)).keyframe
    assert keyframe is not None and keyframe.frame.depth.dtype == dtype
    metres = keyframe.frame.depth_metres()
    assert metres.dtype == np.float32 and np.isnan(metres[0, 0]) and metres[1, 1] == pytest.approx(1.5)
    assert np.shares_memory(keyframe.frame.rgb, rgb) and not keyframe.frame.rgb.flags.writeable  # stored once
    assert store.stats().total.nbytes == rgb.nbytes + depth.nbytes


def test_clear_forgets_keyframes_so_a_replay_can_start_over():
    store = KeyframeStore()
    store.offer(make_frame(100.0, SCENE))
    assert store.offer(make_frame(0.0, SCENE)).category == "out of order"
    store.clear()
    assert store.keyframes() == [] and store.cameras == ("front",)
    assert store.offer(make_frame(0.0, SCENE)).category == "first"
    assert store.stats().total.offered == 3


@pytest.mark.parametrize(
    "name, value",
    [
        ("min_sharpness", -1.0),
        ("min_translation", 0.0),
        ("min_rotation", math.nan),
        ("min_novelty", 0.0),
        ("min_novelty", 1.5),
        ("min_interval", -0.1),
        ("max_interval", 0.5),  # not above min_interval
        ("stamp_tolerance", math.inf),
        ("max_per_camera", 0),
        ("max_total", 0),
    ],
)
def test_invalid_keyframe_parameters_are_rejected_with_their_name(name, value):
    with pytest.raises(ConfigError, match=rf"keyframes\.{name}"):
        NodeConfig.from_parameters({f"keyframes.{name}": value})


# --- threads -----------------------------------------------------------------------------------


def test_concurrent_offers_and_selects_stay_consistent():
    rng = np.random.default_rng(5)
    images = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(16)]
    store = KeyframeStore(KeyframeConfig(min_interval=0.0, max_per_camera=15, max_total=30))
    cameras = ("front", "left", "right")
    errors: list[BaseException] = []
    producing = threading.Event()
    producing.set()

    def produce(camera: str) -> None:
        try:
            for index in range(400):
                store.offer(make_frame(index * 0.05, images[(index + len(camera)) % 16], camera=camera))
        except BaseException as error:
            errors.append(error)

    selections = []

    def query() -> None:
        try:
            while producing.is_set():
                chosen = store.select(max_keyframes=8, lookback=5.0)
                stamps = [(kf.stamp_ns, kf.id) for kf in chosen]
                assert len(chosen) <= 8 and stamps == sorted(stamps)
                selections.append(len(chosen))
                store.stats()
                time.sleep(0.001)  # a busy query thread, not a spinning one
        except BaseException as error:
            errors.append(error)

    producers = [threading.Thread(target=produce, args=(camera,)) for camera in cameras]
    consumer = threading.Thread(target=query)
    consumer.start()
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    producing.clear()
    consumer.join()
    assert errors == []
    assert selections and max(selections) == 8
    stats = store.stats()
    assert stats.total.offered == 1200
    for camera in cameras:
        counts = stats.cameras[camera]
        assert counts.offered == 400
        assert counts.admitted + sum(counts.rejected.values()) == 400
        assert counts.admitted - counts.evicted == counts.keyframes <= 15
    assert stats.total.keyframes == len(store.keyframes()) <= 30
    assert stats.total.admitted - stats.total.evicted == stats.total.keyframes
