"""One query end to end, without ROS: select keyframes, reason by drawing, estimate in 3D.

:func:`answer` is the one query path: the node's service and action (on its
query worker), ``vilasr-ros reason``, the benchmarks and the evaluation all
run it. Every failure becomes a :class:`QueryOutcome` with a stop reason and a
clear error, never an exception.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from vilasr_ros.config import EngineConfig, GeometryConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose
from vilasr_ros.core.stop import StopReason
from vilasr_ros.geometry import EstimationResult, estimate_drawings
from vilasr_ros.keyframes.frames import ClockMismatch
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.query.request import ResolvedQuery
from vilasr_ros.reasoning.backend import Backend
from vilasr_ros.reasoning.engine import ReasoningEngine, ReasoningError, ReasoningResult, TurnRecord

# The frames a query is about, in conversation order; raises DataError for a request it cannot serve.
FrameSelector = Callable[[ResolvedQuery], Sequence[Frame]]


@dataclass(frozen=True)
class Estimation:
    """Where the 3D estimates go: the target frame, the robot base they are measured from, the settings."""

    target_frame: str = "map"
    base_frame: str = "base_link"
    geometry: GeometryConfig = field(default_factory=GeometryConfig)
    base_pose: Callable[[], Pose | None] = lambda: None  # the base in target_frame when the query ends


@dataclass
class QueryOutcome:
    """Everything a query produced, for the response, the result file and the published topics."""

    query: ResolvedQuery
    stop_reason: StopReason
    error: str = ""
    frames: list[Frame] = field(default_factory=list)  # the keyframes shown, in conversation order
    result: ReasoningResult | None = None
    estimates: EstimationResult | None = None
    latency: float = 0.0

    @property
    def success(self) -> bool:
        return self.result is not None and self.result.stop_reason == StopReason.ANSWERED


def answer(
    query: ResolvedQuery,
    select: FrameSelector,
    engine: ReasoningEngine,
    estimation: Estimation,
    *,
    cancel: threading.Event | None = None,
    deadline: float | None = None,
    on_turn: Callable[[TurnRecord], None] | None = None,
    on_phase: Callable[[str], None] | None = None,
    forced_turns: Sequence[str] | None = None,
) -> QueryOutcome:
    """Answer ``query`` about the frames ``select`` picks, before ``deadline`` (``time.monotonic()``;
    default: ``query.timeout`` from now). ``cancel`` stops it between tokens; ``forced_turns``
    teacher-forces a recorded transcript (see :meth:`ReasoningEngine.run`). A query cancelled, timed out
    or past its deadline when the loop ends gets no 3D estimates (the caller no longer waits for them)."""
    started = time.monotonic()
    cancel = cancel or threading.Event()
    deadline = started + query.timeout if deadline is None else deadline

    def finish(outcome: QueryOutcome) -> QueryOutcome:
        outcome.latency = time.monotonic() - started
        return outcome

    if cancel.is_set():
        return finish(QueryOutcome(query, StopReason.CANCELLED, "cancelled before it started"))
    if time.monotonic() >= deadline:
        return finish(QueryOutcome(query, StopReason.TIMEOUT, "timed out while waiting in the queue"))
    _notify(on_phase, "selecting_keyframes")
    try:
        frames = list(select(query))
    except ClockMismatch as error:
        return finish(QueryOutcome(query, StopReason.REJECTED, str(error)))
    except DataError as error:
        return finish(QueryOutcome(query, StopReason.REJECTED, f"invalid request: {error}"))
    if not frames:
        where = f"cameras {', '.join(query.cameras)}" if query.cameras else "any camera"
        window = f" (looking back {query.lookback:g} s)" if query.lookback > 0 else ""
        return finish(QueryOutcome(query, StopReason.REJECTED, f"no keyframes yet from {where}{window}"))

    _notify(on_phase, "reasoning")
    try:
        result = engine.run(
            [frame.rgb for frame in frames],
            query.question,
            query.answer_type,
            query.options,
            prompt_body=query.prompt_body or None,
            forced_turns=forced_turns,
            on_turn=on_turn,
            cancel=cancel,
            timeout=max(1e-3, deadline - time.monotonic()),
        )
    except ReasoningError as error:
        return finish(QueryOutcome(query, StopReason.REJECTED, str(error), frames))

    stopped = result.stop_reason in (StopReason.CANCELLED, StopReason.TIMEOUT) or cancel.is_set()
    if stopped or time.monotonic() >= deadline:  # the caller stopped waiting: no geometry past the deadline
        return finish(QueryOutcome(query, result.stop_reason, result.error, frames, result))
    _notify(on_phase, "estimating")
    estimates = estimate_drawings(
        result.images,
        frames,
        estimation.target_frame,
        base_pose=estimation.base_pose(),
        base_frame=estimation.base_frame,
        config=estimation.geometry,
    )
    return finish(QueryOutcome(query, result.stop_reason, result.error, frames, result, estimates))


def answer_frames(
    query: ResolvedQuery,
    frames: Sequence[Frame],
    backend: Backend,
    engine_config: EngineConfig,
    *,
    video: bool = False,
    tools: bool = True,
    target_frame: str | None = None,
    cancel: threading.Event | None = None,
    deadline: float = math.inf,
    forced_turns: Sequence[str] | None = None,
) -> QueryOutcome:
    """:func:`answer` about given frames, in their order (image files, a keyframe folder, a benchmark item):
    what `vilasr-ros reason`, `vilasr-ros eval` and the trainer run. An engine on ``backend`` is built for the
    query; the estimates are in ``target_frame``, else the first frame's pose frame, else ``map``."""
    if target_frame is None:
        target_frame = frames[0].pose.frame_id if frames and frames[0].pose is not None else "map"
    engine = ReasoningEngine(backend, engine_config, video=video, tools=tools)
    return answer(
        query,
        given(frames),
        engine,
        Estimation(target_frame=target_frame),
        cancel=cancel,
        deadline=deadline,
        forced_turns=forced_turns,
    )


def from_store(store: KeyframeStore, now_ns: Callable[[], int] | None = None) -> FrameSelector:
    """Select a query's keyframes from ``store`` (its cameras, count and look-back; ``now_ns`` is the clock)."""

    def select(query: ResolvedQuery) -> list[Frame]:
        now = now_ns() if now_ns and query.lookback > 0 else None
        cameras = query.cameras or None
        keyframes = store.select(query.max_keyframes, cameras=cameras, lookback=query.lookback, now=now)
        problem = None if keyframes or now is None else store.clock_problem(now, query.lookback, cameras)
        if problem is not None:
            raise ClockMismatch(problem)
        return [keyframe.frame for keyframe in keyframes]

    return select


def given(frames: Sequence[Frame]) -> FrameSelector:
    """The same ``frames`` for every query, in their order (files given on the command line, a benchmark item)."""
    return lambda query: list(frames)


def _notify(callback: Callable[[str], None] | None, phase: str) -> None:
    if callback is not None:
        callback(phase)
