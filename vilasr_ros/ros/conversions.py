"""Conversions between vilasr_ros messages and the plain-Python core types."""

from __future__ import annotations

from builtin_interfaces.msg import Duration

from vilasr_ros.query import QueryRequest, answer_type_from_code


def duration_to_seconds(duration: Duration) -> float:
    """A builtin_interfaces/Duration in seconds."""
    return duration.sec + duration.nanosec * 1e-9


def seconds_to_duration(seconds: float) -> Duration:
    """Seconds (>= 0) as a builtin_interfaces/Duration."""
    nanoseconds = max(0, round(seconds * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def request_from_msg(msg) -> QueryRequest:
    """A SpatialQuery service request or action goal as a :class:`QueryRequest`.

    Raises :class:`vilasr_ros.query.QueryError` for an unknown answer type.
    """
    return QueryRequest(
        question=msg.question,
        options=tuple(msg.options),
        answer_type=answer_type_from_code(msg.answer_type),
        cameras=tuple(msg.cameras),
        max_keyframes=msg.max_keyframes,
        lookback=duration_to_seconds(msg.lookback),
        timeout=duration_to_seconds(msg.timeout),
    )
