"""Why a query stopped: one vocabulary for the loop, the query layer, results and messages."""

from __future__ import annotations

from enum import Enum


class StopReason(str, Enum):
    """How a query ended; the value is what responses, result files and logs carry."""

    ANSWERED = "answered"  # the model answered
    MAX_TURNS = "max_turns"  # no answer within engine.max_turns model calls
    MAX_IMAGES = "max_images"  # the conversation reached engine.max_images
    TOOL_ERROR = "tool_error"  # a turn had neither a usable tool call nor an answer
    TIMEOUT = "timeout"  # the query's deadline passed
    CANCELLED = "cancelled"  # the caller (or the node) cancelled it
    BACKEND_ERROR = "backend_error"  # the model backend failed
    REJECTED = "rejected"  # the query could not start (bad request, no keyframes, busy)

    def __str__(self) -> str:
        return self.value
