"""A query end to end without ROS: keyframes -> drawing loop -> 3D estimates, and every failure path."""

import threading
import time

import numpy as np
import pytest

from vilasr_ros.config import EngineConfig, KeyframeConfig, QueryConfig
from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.query import Estimation, answer, from_store, given
from vilasr_ros.query.request import QueryRequest, resolve_request
from vilasr_ros.query.worker import QueryWorker, WorkerBusy
from vilasr_ros.reasoning.backend import Backend, BackendError, Generation, Session
from vilasr_ros.reasoning.engine import ReasoningEngine

BOX = '<think> box </think> Action: Object Mapper\n```json\n[{"index": 1, "bbox_2d": [144, 112, 164, 132], "label": "crate"}]\n```'
ANSWER = "<think> done </think> Action: Answer\n<answer> 3 m </answer>"


class SlowSession(Session):
    def __init__(self, turns, delay):
        super().__init__()
        self.turns, self.delay = list(turns), delay

    def add_user(self, content):
        pass

    def add_assistant(self, text):
        pass

    def generate(self, sampling, on_text=None, cancel=None):
        deadline = time.monotonic() + self.delay
        while time.monotonic() < deadline:  # "decoding": checks cancel between tokens
            if cancel is not None and cancel.is_set():
                return Generation("", finished=False, cancelled=True)
            time.sleep(0.005)
        turn = self.turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        return Generation(turn, finished=True)


class SlowBackend(Backend):
    def __init__(self, turns, delay=0.0):
        self.turns, self.delay = turns, delay

    def start(self, system_prompt):
        return SlowSession(self.turns, self.delay)


def store_with_frames(count=3) -> KeyframeStore:
    store = KeyframeStore(KeyframeConfig(min_interval=0.0, min_novelty=0.01), cameras=["front"])
    rng = np.random.default_rng(0)
    k = np.array([[200.0, 0, 160], [0, 200.0, 120], [0, 0, 1]])
    for number in range(count):
        frame = Frame(
            camera="front",
            stamp_ns=(number + 1) * 10**9,
            frame_id="front_optical",
            rgb=rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
            depth=np.full((240, 320), 3000, np.uint16),
            intrinsics=CameraIntrinsics(k=k, width=320, height=240),
            pose=Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "map"),
        )
        assert store.offer(frame).admitted
    return store


class Runner:
    """answer() with one store and one engine, as the node holds them."""

    def __init__(self, turns, store=None, delay=0.0, **engine):
        self.store = store if store is not None else store_with_frames()
        self.engine = ReasoningEngine(SlowBackend(turns, delay), EngineConfig(**engine))

    def run(self, query, cancel, deadline):
        return answer(query, from_store(self.store), self.engine, Estimation(), cancel=cancel, deadline=deadline)


def pipeline(turns, store=None, delay=0.0, **engine):
    return Runner(turns, store, delay, **engine)


def query(**fields):
    return resolve_request(QueryRequest(**{"question": "How far is the crate?", **fields}), QueryConfig(timeout=30.0))


def test_answer_with_keyframes_and_3d_estimates():
    outcome = pipeline([BOX, ANSWER]).run(query(max_keyframes=2), threading.Event(), time.monotonic() + 30)
    assert outcome.success and outcome.stop_reason == "answered"
    assert [frame.stamp_ns for frame in outcome.frames] == [10**9, 3 * 10**9]  # spread over time, newest kept, in order
    crate = outcome.estimates.find("crate")
    assert crate.valid_3d and crate.frame_id == "map" and crate.position[2] == pytest.approx(3.0, abs=0.05)
    assert outcome.result.quantity.si_value == 3.0 and outcome.latency > 0


def test_no_keyframes_and_unknown_cameras_are_rejected():
    empty = KeyframeStore(KeyframeConfig(), cameras=["front"])
    outcome = pipeline([ANSWER], store=empty).run(query(), threading.Event(), time.monotonic() + 30)
    assert (
        outcome.stop_reason == "rejected" and outcome.error == "no keyframes yet from any camera (looking back 120 s)"
    )
    outcome = pipeline([ANSWER]).run(query(cameras=("rear",)), threading.Event(), time.monotonic() + 30)
    assert outcome.stop_reason == "rejected" and "rear" in outcome.error


def test_timeout_cancel_and_backend_failure():
    outcome = pipeline([BOX] * 5, delay=0.2).run(query(), threading.Event(), time.monotonic() + 0.3)
    assert outcome.stop_reason == "timeout"
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    outcome = pipeline([BOX] * 5, delay=0.2).run(query(), cancel, time.monotonic() + 30)
    assert outcome.stop_reason == "cancelled" and not outcome.success
    outcome = pipeline([BackendError("CUDA out of memory")]).run(query(), threading.Event(), time.monotonic() + 30)
    assert outcome.stop_reason == "backend_error" and "CUDA out of memory" in outcome.error
    waited = pipeline([ANSWER]).run(query(), threading.Event(), time.monotonic() - 1)
    assert waited.stop_reason == "timeout" and "queue" in waited.error


def test_a_query_that_timed_out_or_was_cancelled_gets_no_geometry_after_it():
    """The worker is free for the next query at the deadline: drawings are not lifted once the caller left."""
    outcome = pipeline([BOX, BOX, BOX], delay=0.2).run(query(), threading.Event(), time.monotonic() + 0.3)
    assert outcome.stop_reason == "timeout" and outcome.result is not None and len(outcome.result.images) > 1
    assert outcome.estimates is None
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    outcome = pipeline([BOX, BOX, BOX], delay=0.2).run(query(), cancel, time.monotonic() + 30)
    assert outcome.stop_reason == "cancelled" and outcome.estimates is None


def test_concurrent_queries_through_the_worker_busy_and_in_order():
    runner = pipeline([BOX, ANSWER, BOX, ANSWER], delay=0.1)
    worker = QueryWorker(queue_size=1)
    first = worker.submit(lambda cancel: runner.run(query(), cancel, time.monotonic() + 30))
    second = worker.submit(lambda cancel: runner.run(query(), cancel, time.monotonic() + 30))
    with pytest.raises(WorkerBusy):
        worker.submit(lambda cancel: runner.run(query(), cancel, time.monotonic() + 30))
    assert first.wait(10).success and second.wait(10).success
    worker.stop()


def test_given_frames_and_the_default_deadline():
    frames = [keyframe.frame for keyframe in store_with_frames(2).keyframes()]
    engine = ReasoningEngine(SlowBackend([BOX, ANSWER]), EngineConfig())
    outcome = answer(query(max_keyframes=1), given(frames), engine, Estimation(target_frame="map"))
    assert outcome.success and outcome.frames == frames  # every given frame, in order, whatever max_keyframes says
    assert outcome.estimates.find("crate").valid_3d
    phases = []
    stalled = answer(
        query(timeout=0.2),
        given(frames),
        ReasoningEngine(SlowBackend([BOX] * 5, 0.1), EngineConfig()),
        Estimation(),
        on_phase=phases.append,
    )
    assert stalled.stop_reason == "timeout" and phases == [
        "selecting_keyframes",
        "reasoning",
    ]  # no geometry after the deadline
