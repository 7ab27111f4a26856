"""One query end to end, without ROS: select keyframes, reason by drawing, estimate in 3D.

The node's service and action both run :meth:`QueryPipeline.run` on the query
worker; every failure becomes a :class:`QueryOutcome` with a stop reason and a
clear error, never an exception.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from vilasr_ros.config import FramesConfig, GeometryConfig
from vilasr_ros.geometry import EstimationResult, estimate_drawings
from vilasr_ros.keyframes.frames import Keyframe, KeyframeError, Pose
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.query import ResolvedQuery
from vilasr_ros.reasoning.engine import ReasoningEngine, ReasoningError, ReasoningResult, TurnRecord

REJECTED = "rejected"
TIMEOUT = "timeout"
CANCELLED = "cancelled"


@dataclass
class QueryOutcome:
    """Everything a query produced, for the response and the published topics."""

    query: ResolvedQuery
    stop_reason: str
    error: str = ""
    keyframes: list[Keyframe] = field(default_factory=list)
    result: ReasoningResult | None = None
    estimates: EstimationResult | None = None
    latency: float = 0.0

    @property
    def success(self) -> bool:
        return self.result is not None and self.result.stop_reason == "answered"


class QueryPipeline:
    """Runs resolved queries against the keyframe store with one reasoning engine."""

    def __init__(
        self,
        store: KeyframeStore,
        engine: ReasoningEngine,
        frames: FramesConfig,
        geometry: GeometryConfig,
        base_pose: Callable[[], Pose | None] = lambda: None,
        now_ns: Callable[[], int] | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.frames = frames
        self.geometry = geometry
        self.base_pose = base_pose
        self.now_ns = now_ns

    def run(
        self,
        query: ResolvedQuery,
        cancel: threading.Event,
        deadline: float,
        on_turn: Callable[[TurnRecord], None] | None = None,
        on_phase: Callable[[str], None] | None = None,
    ) -> QueryOutcome:
        """Answer ``query`` before ``deadline`` (time.monotonic()); ``cancel`` stops it between tokens."""
        started = time.monotonic()

        def finish(outcome: QueryOutcome) -> QueryOutcome:
            outcome.latency = time.monotonic() - started
            return outcome

        if cancel.is_set():
            return finish(QueryOutcome(query, CANCELLED, "cancelled before it started"))
        if time.monotonic() >= deadline:
            return finish(QueryOutcome(query, TIMEOUT, "timed out while waiting in the queue"))
        _notify(on_phase, "selecting_keyframes")
        try:
            keyframes = self.store.select(
                query.max_keyframes,
                cameras=query.cameras or None,
                lookback=query.lookback,
                now=self.now_ns() if self.now_ns and query.lookback > 0 else None,
            )
        except KeyframeError as error:
            return finish(QueryOutcome(query, REJECTED, f"invalid request: {error}"))
        if not keyframes:
            where = f"cameras {', '.join(query.cameras)}" if query.cameras else "any camera"
            window = f" (looking back {query.lookback:g} s)" if query.lookback > 0 else ""
            return finish(QueryOutcome(query, REJECTED, f"no keyframes yet from {where}{window}"))

        _notify(on_phase, "reasoning")
        try:
            result = self.engine.run(
                [keyframe.frame.rgb for keyframe in keyframes],
                query.question,
                query.answer_type,
                query.options,
                on_turn=on_turn,
                cancel=cancel,
                timeout=max(1e-3, deadline - time.monotonic()),
            )
        except ReasoningError as error:
            return finish(QueryOutcome(query, REJECTED, str(error), keyframes))

        _notify(on_phase, "estimating")
        estimates = estimate_drawings(
            result.images,
            [keyframe.frame for keyframe in keyframes],
            self.frames.target_frame,
            base_pose=self.base_pose(),
            base_frame=self.frames.base_frame,
            config=self.geometry,
        )
        return finish(QueryOutcome(query, result.stop_reason, result.error, keyframes, result, estimates))


def _notify(callback: Callable[[str], None] | None, phase: str) -> None:
    if callback is not None:
        callback(phase)
