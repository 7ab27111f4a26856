"""Runtime changes of the keyframe thresholds and caps: the store keeps its keyframes, judges new
frames by the new thresholds, and evicts only what lowered caps no longer allow."""

from __future__ import annotations

import numpy as np

from vilasr_ros.config import KeyframeConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.keyframes import KeyframeStore

S = 1_000_000_000


def _frame(seconds: float, camera: str = "front", seed: int = 0) -> Frame:
    rgb = np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8)  # sharp, each seed a new view
    return Frame(camera=camera, stamp_ns=round(seconds * S), frame_id=f"{camera}_optical", rgb=rgb)


def test_new_thresholds_apply_to_the_next_frame_and_keyframes_stay():
    store = KeyframeStore(KeyframeConfig(min_interval=0.5), cameras=("front",))
    assert store.offer(_frame(0.0, seed=0)).admitted
    assert store.offer(_frame(1.0, seed=1)).admitted
    assert store.offer(_frame(3.0, seed=2)).admitted
    kept = store.keyframes()
    assert store.reconfigure(KeyframeConfig(min_interval=4.0, max_interval=8.0)) == 0
    assert store.keyframes() == kept and store.config.min_interval == 4.0
    refused = store.offer(_frame(5.0, seed=3))  # 2 s after the last keyframe: enough before, too soon now
    assert not refused.admitted and refused.category == "too soon"
    assert store.offer(_frame(7.5, seed=4)).admitted


def test_lowered_caps_evict_the_oldest_and_keep_each_cameras_newest():
    store = KeyframeStore(KeyframeConfig(min_interval=0.0), cameras=("front", "rear"))
    for number in range(6):
        assert store.offer(_frame(float(number), "front", seed=number)).admitted
        assert store.offer(_frame(number + 0.5, "rear", seed=100 + number)).admitted
    assert store.reconfigure(KeyframeConfig(min_interval=0.0, max_per_camera=4, max_total=5)) == 7
    front = store.keyframes(["front"])
    rear = store.keyframes(["rear"])
    assert len(front) + len(rear) == 5 and len(front) <= 4 and len(rear) <= 4
    # Eviction takes the oldest first, never a camera's newest keyframe.
    assert front[-1].stamp_ns == 5 * S and rear[-1].stamp_ns == round(5.5 * S)
    stamps = sorted(keyframe.stamp_ns for keyframe in front + rear)
    assert stamps == sorted(round(t * S) for t in (3.0, 3.5, 4.0, 4.5, 5.0, 5.5))[1:]
    assert store.stats().total.evicted == 7
