"""A bounded, thread-safe store of informative keyframes per camera.

Admission (:meth:`KeyframeStore.offer`), in this order; the first rule that
applies decides:

1. bad input (wrong dtype or shape, empty image, unregistered depth, ...): rejected;
   a frame holding more than ``max_bytes`` on its own: too large;
2. stamp more than ``stamp_tolerance`` before the camera's last keyframe: out of order;
3. less than ``min_interval`` after the camera's last keyframe: too soon (not scored);
4. sharpness below ``min_sharpness``: blurred;
5. the camera's first frame, or since its last keyframe the camera moved
   ``min_translation``, turned ``min_rotation``, the view changed by
   ``min_novelty``, or ``max_interval`` passed: admitted;
6. otherwise: redundant.

Memory: at most ``max_per_camera`` keyframes per camera, ``max_total`` and
``max_bytes`` in all. When a cap is exceeded the least informative keyframe
goes: the oldest one admitted only because ``max_interval`` passed (nothing
moved or changed), else the oldest. A camera's newest keyframe is never
evicted, unless the total caps leave no room for one per camera. Bytes are
what the frames' arrays keep alive (:func:`held_bytes`: a view's whole
underlying buffer, each buffer once), the figure the process's memory grows by.

Threading: one lock guards the store; it is held only to compare a scored
frame with its camera's last keyframe and to insert, evict and count, never
while a frame is scored or keyframes are selected.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from vilasr_ros.config import KeyframeConfig
from vilasr_ros.core.camera import Frame, frame_problem, is_int
from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.frames import Keyframe, KeyframeError
from vilasr_ros.keyframes.scoring import ImageScores, novelty, pose_change, score_image
from vilasr_ros.keyframes.selection import spread_over_time_and_view

HEARTBEAT = "max interval"  # the category of keyframes that add only time coverage


@dataclass(frozen=True)
class Admission:
    """The store's decision on one offered frame."""

    admitted: bool
    category: str  # admitted: first, moved, turned, novel view, max interval;
    # rejected: bad input, out of order, too soon, blurred, redundant
    reason: str  # for logs, e.g. "blurred (sharpness 12.3 < 30)"
    keyframe: Keyframe | None = None


@dataclass(frozen=True)
class CameraStats:
    """Counters of one camera, or of the whole store."""

    offered: int
    admitted: int
    rejected: dict[str, int]  # by category
    evicted: int
    keyframes: int
    nbytes: int  # image data held: colour plus depth

    @property
    def admission_rate(self) -> float:
        """Fraction of the offered frames that were admitted."""
        return self.admitted / self.offered if self.offered else 0.0


@dataclass(frozen=True)
class StoreStats:
    """Per-camera and total counters, for diagnostics."""

    cameras: dict[str, CameraStats]
    total: CameraStats


@dataclass
class _Counters:
    offered: int = 0
    admitted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    evicted: int = 0


@dataclass(frozen=True)
class _Reference:
    """What new frames of a camera are compared with: its last admitted keyframe."""

    stamp_ns: int
    thumbnail: np.ndarray
    pose: Pose | None


@dataclass
class _Camera:
    keyframes: list[Keyframe] = field(default_factory=list)  # in time order
    last: _Reference | None = None
    counters: _Counters = field(default_factory=_Counters)


@dataclass(frozen=True)
class _Decision:
    admit: bool
    category: str
    reason: str
    novelty: float
    translation: float | None
    rotation: float | None


def held_bytes(*arrays: np.ndarray | None) -> int:
    """Bytes of memory ``arrays`` keep alive: the whole buffer under each view, each buffer counted once."""
    roots: dict[int, int] = {}
    for array in arrays:
        if array is None:
            continue
        root: object = array
        while isinstance(root, np.ndarray) and root.base is not None:
            root = root.base
        try:
            size = root.nbytes if isinstance(root, np.ndarray) else memoryview(root).nbytes  # type: ignore[arg-type]
        except TypeError:
            size = array.nbytes
        roots[id(root)] = max(size, array.nbytes)
    return sum(roots.values())


CLOCK_HINT = "is use_sim_time set (and the camera publishing)?"


class KeyframeStore:
    """Keeps sharp, novel, spread-out keyframes per camera; see the module docstring for the rules."""

    def __init__(self, config: KeyframeConfig | None = None, cameras: Iterable[str] = ()) -> None:
        self._config = config or KeyframeConfig()
        self._lock = threading.Lock()
        self._cameras: dict[str, _Camera] = {}
        self._total = _Counters()
        self._keyframe_count = 0
        self._held: dict[int, int] = {}  # keyframe id -> bytes it keeps alive
        self._bytes = 0
        self._ids = itertools.count(1)
        for name in cameras:
            if not isinstance(name, str) or not name.strip():
                raise KeyframeError(f"camera name must be a non-empty string, got {name!r}")
            self._cameras[name] = _Camera()

    @property
    def cameras(self) -> tuple[str, ...]:
        """Names of the cameras known so far (configured or offered a frame)."""
        with self._lock:
            return tuple(self._cameras)

    @property
    def config(self) -> KeyframeConfig:
        """The admission thresholds and caps in use."""
        return self._config

    def reconfigure(self, config: KeyframeConfig) -> int:
        """Judge frames by ``config`` from now on; the keyframes stay, except any over lowered caps, which
        are evicted as when a frame is admitted (least informative first, each camera's newest last).
        Returns how many were evicted."""
        with self._lock:
            self._config = config
            before = self._keyframe_count
            for camera in self._cameras.values():
                if camera.keyframes:
                    self._evict_over_caps(camera, None)
            return before - self._keyframe_count

    def offer(self, frame: Frame) -> Admission:
        """Keep ``frame`` as a keyframe if it is informative; bad input is rejected, never raised."""
        problem = frame_problem(frame)
        if problem is not None:
            return self._reject(frame, "bad input", f"bad input: {problem}")
        size = held_bytes(frame.rgb, frame.depth)
        if size > self._config.max_bytes:
            limit = self._config.max_bytes / 1e6
            reason = f"too large ({size / 1e6:.1f} MB, more than keyframes.max_bytes {limit:g} MB)"
            return self._reject(frame, "too large", reason)
        with self._lock:
            early = self._timing_rejection(self._camera(frame.camera), frame.stamp_ns)
        if early is not None:
            return self._reject(frame, *early)
        scores = score_image(frame.rgb)
        if scores.sharpness < self._config.min_sharpness:
            reason = f"blurred (sharpness {scores.sharpness:.1f} < {self._config.min_sharpness:g})"
            return self._reject(frame, "blurred", reason)
        with self._lock:
            camera = self._cameras[frame.camera]
            early = self._timing_rejection(camera, frame.stamp_ns)
            decision = None if early is not None else self._decide(camera.last, frame, scores)
            if decision is None or not decision.admit:
                category, reason = early if decision is None else (decision.category, decision.reason)
                self._count(frame, category, admitted=False)
                return Admission(False, category, reason)
            keyframe = Keyframe(
                id=next(self._ids),
                frame=frame,
                reason=decision.reason,
                category=decision.category,
                sharpness=scores.sharpness,
                novelty=decision.novelty,
                translation=decision.translation,
                rotation=decision.rotation,
            )
            camera.keyframes.append(keyframe)
            camera.last = _Reference(frame.stamp_ns, scores.thumbnail, frame.pose)
            self._keyframe_count += 1
            self._held[keyframe.id] = size
            self._bytes += size
            self._count(frame, decision.category, admitted=True)
            self._evict_over_caps(camera, keyframe)
        return Admission(True, decision.category, decision.reason, keyframe)

    def keyframes(self, cameras: Iterable[str] | None = None) -> list[Keyframe]:
        """The keyframes of ``cameras`` (None or empty: all), in time order."""
        with self._lock:
            names = self._known(cameras)
            pool = [keyframe for name in names for keyframe in self._cameras[name].keyframes]
        return sorted(pool, key=lambda keyframe: (keyframe.stamp_ns, keyframe.id))

    def select(
        self,
        max_keyframes: int = 16,
        cameras: Iterable[str] | None = None,
        lookback: float = 0.0,
        now: int | None = None,
    ) -> list[Keyframe]:
        """Up to ``max_keyframes`` keyframes spread over time and viewpoint, in time order.

        Candidates are the keyframes of ``cameras`` (None or empty: all)
        stamped in ``[now - lookback, now]``; ``now`` (ns) defaults to their
        newest stamp and ``lookback`` 0 means no lower bound. The newest
        candidate is always included. Returns references to the stored
        keyframes (no copies); an empty list when nothing matches.
        Raises :class:`KeyframeError` for an unknown camera or a bad argument.
        """
        if not is_int(max_keyframes) or max_keyframes < 1:
            raise KeyframeError(f"max_keyframes must be a positive integer, got {max_keyframes!r}")
        if not isinstance(lookback, (int, float)) or not math.isfinite(lookback) or lookback < 0:
            raise KeyframeError(f"lookback must be a finite number of seconds >= 0, got {lookback!r}")
        if now is not None and not is_int(now):
            raise KeyframeError(f"now must be an integer stamp in nanoseconds, got {now!r}")
        candidates = self.keyframes(cameras)
        if not candidates:
            return []
        end = candidates[-1].stamp_ns if now is None else now
        start = end - round(lookback * 1e9) if lookback > 0 else None
        window = [kf for kf in candidates if kf.stamp_ns <= end and (start is None or kf.stamp_ns >= start)]
        return spread_over_time_and_view(window, max_keyframes, self._config.min_translation)

    def clear(self, camera: str | None = None) -> None:
        """Drop the keyframes of ``camera`` (None: of every camera) and what its new frames are compared
        with (e.g. after time jumped back). Counters are kept; dropped keyframes are not counted as evicted."""
        with self._lock:
            names = list(self._cameras) if camera is None else [camera] if camera in self._cameras else []
            for name in names:
                state = self._cameras[name]
                for keyframe in state.keyframes:
                    self._bytes -= self._held.pop(keyframe.id)
                self._keyframe_count -= len(state.keyframes)
                state.keyframes.clear()
                state.last = None

    def clock_problem(self, now_ns: int, lookback: float, cameras: Iterable[str] | None = None) -> str | None:
        """Why a look-back window ending at ``now_ns`` (the node clock) holds none of the keyframes of
        ``cameras`` although there are some: their stamps lie far behind or ahead of the clock (a bag
        played without sim time, a camera on another clock). None when the window is not empty or
        there are no keyframes."""
        keyframes = self.keyframes(cameras)
        if not keyframes or lookback <= 0:
            return None
        newest, oldest = keyframes[-1].stamp_ns, keyframes[0].stamp_ns
        window_ns = round(lookback * 1e9)
        if now_ns - newest > window_ns:
            return (
                f"camera stamps are {(now_ns - newest) / 1e9:.0f} s behind the node clock "
                f"({len(keyframes)} keyframes, none in the last {lookback:g} s): {CLOCK_HINT}"
            )
        if oldest > now_ns:
            return (
                f"camera stamps are {(oldest - now_ns) / 1e9:.0f} s ahead of the node clock "
                f"({len(keyframes)} keyframes, all in its future): {CLOCK_HINT}"
            )
        return None

    def stats(self) -> StoreStats:
        """Frames offered, admitted and rejected by reason, keyframes and bytes, per camera and in total."""
        with self._lock:
            cameras = {name: self._stats(camera.counters, camera.keyframes) for name, camera in self._cameras.items()}
            every_keyframe = [kf for camera in self._cameras.values() for kf in camera.keyframes]
            return StoreStats(cameras, self._stats(self._total, every_keyframe))

    def _stats(self, counters: _Counters, keyframes: list[Keyframe]) -> CameraStats:
        return CameraStats(
            offered=counters.offered,
            admitted=counters.admitted,
            rejected=dict(counters.rejected),
            evicted=counters.evicted,
            keyframes=len(keyframes),
            nbytes=sum(self._held[keyframe.id] for keyframe in keyframes),
        )

    def _camera(self, name: str) -> _Camera:
        return self._cameras.setdefault(name, _Camera())

    def _known(self, cameras: Iterable[str] | None) -> list[str]:
        if cameras is None or isinstance(cameras, str):
            names = [cameras] if isinstance(cameras, str) else []
        else:
            names = list(dict.fromkeys(cameras))
        unknown = [name for name in names if name not in self._cameras]
        if unknown:
            known = ", ".join(self._cameras) or "none"
            raise KeyframeError(f"unknown camera(s) {', '.join(map(repr, unknown))}; known: {known}")
        return names or list(self._cameras)

    def _reject(self, frame: object, category: str, reason: str) -> Admission:
        with self._lock:
            self._count(frame, category, admitted=False)
        return Admission(False, category, reason)

    def _count(self, frame: object, category: str, admitted: bool) -> None:
        counters = [self._total]
        name = getattr(frame, "camera", None)
        if isinstance(name, str) and name.strip():
            counters.append(self._camera(name).counters)
        for counter in counters:
            counter.offered += 1
            if admitted:
                counter.admitted += 1
            else:
                counter.rejected[category] += 1

    def _timing_rejection(self, camera: _Camera, stamp_ns: int) -> tuple[str, str] | None:
        if camera.last is None:
            return None
        elapsed = (stamp_ns - camera.last.stamp_ns) / 1e9
        if elapsed < -self._config.stamp_tolerance:
            return "out of order", (
                f"out of order (stamp {-elapsed:.3f} s before the camera's last keyframe, "
                f"tolerance {self._config.stamp_tolerance:g} s)"
            )
        if elapsed < self._config.min_interval:
            return "too soon", f"too soon ({elapsed:.3f} s < {self._config.min_interval:g} s since the last keyframe)"
        return None

    def _decide(self, last: _Reference | None, frame: Frame, scores: ImageScores) -> _Decision:
        config = self._config
        if last is None:
            return _Decision(True, "first", f"first keyframe of camera {frame.camera!r}", 1.0, None, None)
        view_change = novelty(last.thumbnail, scores.thumbnail)
        translation = rotation = None
        if last.pose is not None and frame.pose is not None and last.pose.frame_id == frame.pose.frame_id:
            translation, rotation = pose_change(last.pose, frame.pose)
        elapsed = (frame.stamp_ns - last.stamp_ns) / 1e9
        if translation is not None and translation >= config.min_translation:
            category, reason = "moved", f"moved {translation:.2f} m"
        elif rotation is not None and rotation >= config.min_rotation:
            category, reason = "turned", f"turned {rotation:.1f} deg"
        elif view_change >= config.min_novelty:
            category, reason = "novel view", f"novel view (novelty {view_change:.2f})"
        elif elapsed >= config.max_interval:
            category, reason = HEARTBEAT, f"max interval ({elapsed:.2f} s since the last keyframe)"
        else:
            motion = "" if translation is None else f"moved {translation:.2f} m, turned {rotation:.1f} deg, "
            reason = f"redundant ({motion}novelty {view_change:.2f}, {elapsed:.2f} s since the last keyframe)"
            return _Decision(False, "redundant", reason, view_change, translation, rotation)
        return _Decision(True, category, reason, view_change, translation, rotation)

    def _evict_over_caps(self, camera: _Camera, admitted: Keyframe | None) -> None:
        while len(camera.keyframes) > self._config.max_per_camera:
            self._evict(_least_informative(camera.keyframes[:-1]))
        while self._keyframe_count > self._config.max_total or self._bytes > self._config.max_bytes:
            cameras = self._cameras.values()
            candidates = [kf for other in cameras for kf in other.keyframes[:-1]] or [
                other.keyframes[-1] for other in cameras if other.keyframes and other.keyframes[-1] is not admitted
            ]
            self._evict(_least_informative(candidates))

    def _evict(self, victim: Keyframe) -> None:
        camera = self._cameras[victim.camera]
        camera.keyframes.remove(victim)
        camera.counters.evicted += 1
        self._total.evicted += 1
        self._keyframe_count -= 1
        self._bytes -= self._held.pop(victim.id)


def _least_informative(candidates: list[Keyframe]) -> Keyframe:
    heartbeats = [keyframe for keyframe in candidates if keyframe.category == HEARTBEAT]
    return min(heartbeats or candidates, key=lambda keyframe: (keyframe.stamp_ns, keyframe.id))
