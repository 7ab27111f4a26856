"""Validating and resolving a planner's request."""

import math

import pytest

from vilasr_ros.config import QueryConfig
from vilasr_ros.core.question import AnswerType
from vilasr_ros.query.request import QueryError, QueryRequest, answer_type_from_code, resolve_request

DEFAULTS = QueryConfig(max_keyframes=16, lookback=120.0, timeout=60.0)


def resolve(**fields):
    return resolve_request(QueryRequest(**{"question": "Where is the door?", **fields}), DEFAULTS)


def test_zeros_take_the_node_defaults_and_explicit_values_win():
    query = resolve()
    assert (query.max_keyframes, query.lookback, query.timeout) == (16, 120.0, 60.0)
    query = resolve(max_keyframes=4, lookback=10.0, timeout=5.0)
    assert (query.max_keyframes, query.lookback, query.timeout) == (4, 10.0, 5.0)


def test_query_ids_are_unique_and_can_be_given():
    assert resolve().query_id != resolve().query_id
    given = resolve_request(QueryRequest(question="q"), DEFAULTS, query_id="abc")
    assert given.query_id == "abc"


def test_auto_answer_type_follows_the_options():
    assert resolve().answer_type is AnswerType.FREE_FORM
    query = resolve(options=("chair", "table"))
    assert query.answer_type is AnswerType.MULTIPLE_CHOICE
    assert query.options == ("A. chair", "B. table")


def test_lettered_options_are_kept_and_checked():
    assert resolve(options=("A. left", "B) right")).options == ("A. left", "B) right")
    with pytest.raises(QueryError, match="run A, B in order"):
        resolve(options=("B. left", "A. right"))
    with pytest.raises(QueryError, match="letter every option"):
        resolve(options=("A. left", "right"))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"question": "   "}, "question is empty"),
        ({"question": "x" * 5000}, "at most 4000"),
        ({"options": ("chair", " ")}, "empty strings"),
        ({"options": ("chair",)}, "at least two options"),
        ({"answer_type": AnswerType.MULTIPLE_CHOICE}, "at least two options"),
        ({"answer_type": AnswerType.NUMERIC, "options": ("1", "2")}, "answer_type is numeric"),
        ({"options": tuple(f"o{i}" for i in range(27))}, "at most 26"),
        ({"cameras": ("front", "")}, "empty names"),
        ({"lookback": -1.0}, "lookback must be a non-negative"),
        ({"timeout": math.nan}, "timeout must be a non-negative"),
        ({"max_keyframes": -3}, "max_keyframes must be >= 0"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(fields, message):
    with pytest.raises(QueryError, match=message):
        resolve(**fields)


def test_cameras_are_deduplicated_in_order():
    assert resolve(cameras=("front", "left", "front")).cameras == ("front", "left")


def test_answer_type_codes_follow_the_message_constants():
    assert [answer_type_from_code(code) for code in range(4)] == [
        AnswerType.AUTO,
        AnswerType.MULTIPLE_CHOICE,
        AnswerType.NUMERIC,
        AnswerType.FREE_FORM,
    ]
    with pytest.raises(QueryError, match="answer_type 7"):
        answer_type_from_code(7)
