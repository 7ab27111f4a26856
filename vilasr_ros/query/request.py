"""A spatial query as plain data: what a planner asks, validated and resolved.

The service and the action carry the same request fields; the ROS layer turns
either into a :class:`QueryRequest`, and :func:`resolve_request` fills the
node's defaults and rejects bad input with a :class:`QueryError`.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass

from vilasr_ros.config import QueryConfig
from vilasr_ros.core.question import AnswerType


class QueryError(ValueError):
    """A request cannot be run; the message says why, for the caller."""


# Wire order of the ANSWER_* constants in SpatialQuery.srv / .action.
ANSWER_TYPES_BY_CODE = (AnswerType.AUTO, AnswerType.MULTIPLE_CHOICE, AnswerType.NUMERIC, AnswerType.FREE_FORM)

MAX_QUESTION_CHARS = 4000
MAX_PROMPT_BODY_CHARS = 16000  # a benchmark's verbatim prompt: question, options, instructions
MAX_OPTIONS = 26
_LETTERED_OPTION = re.compile(r"^\s*([A-Za-z])\s*[.)]\s+\S")


@dataclass(frozen=True)
class QueryRequest:
    """A request as received; zeros mean "use the node's default".

    ``prompt_body`` (empty for the node's requests) is a benchmark's prompt text, sent verbatim inside
    the question template instead of the text the loop builds from ``question``, ``options`` and
    ``answer_type`` (see :func:`vilasr_ros.reasoning.protocol.first_user_content`); the options then
    only serve to read the answer, and a multiple-choice question may carry them in the body alone.
    """

    question: str
    options: tuple[str, ...] = ()
    answer_type: AnswerType = AnswerType.AUTO
    cameras: tuple[str, ...] = ()
    max_keyframes: int = 0
    lookback: float = 0.0
    timeout: float = 0.0
    prompt_body: str = ""


@dataclass(frozen=True)
class ResolvedQuery:
    """A request after validation, with the node's defaults filled in."""

    query_id: str
    question: str
    options: tuple[str, ...]
    answer_type: AnswerType
    cameras: tuple[str, ...]
    max_keyframes: int
    lookback: float
    timeout: float
    prompt_body: str = ""


def answer_type_from_code(code: int) -> AnswerType:
    """Map the message's ANSWER_* constant to an :class:`AnswerType`."""
    if not 0 <= code < len(ANSWER_TYPES_BY_CODE):
        raise QueryError(f"answer_type {code} is not one of 0 (auto), 1 (multiple choice), 2 (numeric), 3 (free form)")
    return ANSWER_TYPES_BY_CODE[code]


def new_query_id() -> str:
    """A short id, unique across node restarts, that tags everything a query publishes."""
    return uuid.uuid4().hex[:12]


def resolve_request(request: QueryRequest, defaults: QueryConfig, query_id: str | None = None) -> ResolvedQuery:
    """Validate ``request`` and fill zeros from ``defaults``; raise :class:`QueryError` on bad input."""
    question = request.question.strip()
    if not question:
        raise QueryError("question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(f"question is {len(question)} characters long; at most {MAX_QUESTION_CHARS} are accepted")

    body = request.prompt_body
    if len(body) > MAX_PROMPT_BODY_CHARS:
        raise QueryError(f"prompt_body is {len(body)} characters long; at most {MAX_PROMPT_BODY_CHARS} are accepted")
    if body and not body.strip():
        raise QueryError("prompt_body is blank")

    options = tuple(option.strip() for option in request.options)
    if any(not option for option in options):
        raise QueryError("options must not contain empty strings")
    if len(options) > MAX_OPTIONS:
        raise QueryError(f"{len(options)} options given; at most {MAX_OPTIONS} (A-Z) are accepted")

    answer_type = request.answer_type
    if answer_type is AnswerType.AUTO:
        answer_type = AnswerType.MULTIPLE_CHOICE if options else AnswerType.FREE_FORM
    if answer_type is AnswerType.MULTIPLE_CHOICE:
        if not body:  # with a prompt body, the options are in its text as written (or only there)
            if len(options) < 2:
                raise QueryError("a multiple-choice question needs at least two options")
            options = letter_options(options)
    elif options:
        raise QueryError(f"options were given but answer_type is {answer_type.value}")

    cameras = tuple(dict.fromkeys(camera.strip() for camera in request.cameras))
    if any(not camera for camera in cameras):
        raise QueryError("cameras must not contain empty names")

    for name, value in (("lookback", request.lookback), ("timeout", request.timeout)):
        if not math.isfinite(value) or value < 0.0:
            raise QueryError(f"{name} must be a non-negative duration, got {value}")
    if request.max_keyframes < 0:
        raise QueryError(f"max_keyframes must be >= 0, got {request.max_keyframes}")

    return ResolvedQuery(
        query_id=query_id or new_query_id(),
        question=question,
        options=options,
        answer_type=answer_type,
        cameras=cameras,
        max_keyframes=request.max_keyframes or defaults.max_keyframes,
        lookback=request.lookback or defaults.lookback,
        timeout=request.timeout or defaults.timeout,
        prompt_body=body,
    )


def letter_options(options: tuple[str, ...]) -> tuple[str, ...]:
    """Return options as ``"A. text"``; options already lettered must be lettered A, B, C, ... in order."""
    lettered = [_LETTERED_OPTION.match(option) for option in options]
    if all(lettered):
        letters = [match.group(1).upper() for match in lettered if match]
        expected = [chr(ord("A") + i) for i in range(len(options))]
        if letters != expected:
            raise QueryError(f"lettered options must run {', '.join(expected)} in order, got {', '.join(letters)}")
        return options
    if any(lettered):
        raise QueryError("either letter every option ('A. chair') or none of them")
    return tuple(f"{chr(ord('A') + i)}. {option}" for i, option in enumerate(options))
