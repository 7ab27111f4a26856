"""Work outside the model is capped: boxes and lines per tool call and per conversation (engine caps)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from vilasr_ros.config import EngineConfig
from vilasr_ros.reasoning.backend import Backend, Generation, Session
from vilasr_ros.reasoning.engine import MAX_ITEMS_PER_CALL, MAX_ITEMS_PER_QUERY, ReasoningEngine

pytestmark = pytest.mark.slow  # parses a 100k-item call

ANSWER = "<think> done </think> Action: Answer\n<answer> B </answer>"


class Scripted(Session):
    def __init__(self, turns: list[str]) -> None:
        super().__init__()
        self.turns = turns

    def add_user(self, content) -> None:
        pass

    def add_assistant(self, text: str) -> None:
        pass

    def generate(self, sampling, on_text=None, cancel=None) -> Generation:
        return Generation(self.turns.pop(0), finished=True)


class ScriptedBackend(Backend):
    def __init__(self, turns: list[str]) -> None:
        self.turns = turns

    def start(self, system_prompt: str) -> Session:
        return Scripted(self.turns)


def many_boxes(count: int, index: int = 1, prefix: str = "thing") -> str:
    items = [
        {"index": index, "bbox_2d": [i % 100, 10, i % 100 + 20, 40], "label": f"{prefix}{i}"} for i in range(count)
    ]
    return "<think> all of them </think> Action: Object Mapper\n```json\n" + json.dumps(items) + "\n```"


def run(turns: list[str]):
    engine = ReasoningEngine(ScriptedBackend(turns), EngineConfig(max_pixels=351232))
    return engine.run([np.full((112, 168, 3), 90, np.uint8)], "Where?")


def test_a_call_with_100k_boxes_draws_the_first_64_and_says_so_quickly():
    started = time.monotonic()
    result = run([many_boxes(100_000), ANSWER])
    assert time.monotonic() - started < 20.0  # parsing 100k items is linear; drawing is capped
    assert result.stop_reason == "answered"
    drawn = result.images[1]
    assert [box.label for box in drawn.boxes] == [f"thing{i}" for i in range(MAX_ITEMS_PER_CALL)]
    assert f"{100_000 - MAX_ITEMS_PER_CALL} tool items beyond the first 64 of one call were not drawn" in (
        result.turns[0].problems
    )


def test_a_huge_python_literal_block_is_read_only_up_to_the_literal_limit():
    """literal_eval costs ~2 us a character: a 6 MB single-quoted block is cut at MAX_LITERAL_CHARS and said so."""
    from vilasr_ros.reasoning.protocol import MAX_LITERAL_CHARS

    items = [{"index": 1, "bbox_2d": [i % 100, 10, i % 100 + 20, 40], "label": f"thing{i}"} for i in range(100_000)]
    turn = "<think> all </think> Action: Object Mapper\n```json\n" + repr(items) + "\n```"
    result = run([turn, ANSWER])
    assert result.stop_reason == "answered"
    assert [box.label for box in result.images[1].boxes] == [f"thing{i}" for i in range(MAX_ITEMS_PER_CALL)]
    problems = result.turns[0].problems
    assert any(f"only the items in its first {MAX_LITERAL_CHARS} characters were read" in p for p in problems)
    assert any("tool items beyond the first 64 of one call were not drawn" in p for p in problems)


def test_json_words_that_are_no_python_literal_drop_the_block_as_the_reference_does():
    from vilasr_ros.reasoning.protocol import parse_turn

    for word in ("true", "null", "NaN"):
        turn = parse_turn(f'```json\n[{{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "a", "seen": {word}}}]\n```')
        assert turn.items == [] and turn.problems == ["json block 1: not a valid literal (ValueError)"], word
    turn = parse_turn('```json\n[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "true"}]\n```')  # only in a string
    assert [item.label for item in turn.items] == ["true"]


def test_a_conversation_draws_at_most_256_items_then_the_rest_are_reported():
    calls = MAX_ITEMS_PER_QUERY // MAX_ITEMS_PER_CALL  # 4 full calls use the whole conversation's budget
    turns = [many_boxes(MAX_ITEMS_PER_CALL, prefix=f"c{n}_") for n in range(calls)]
    turns += [many_boxes(3, prefix="late"), ANSWER]
    result = run(turns)
    # every call names image 1 (no boxes of its own), so each new image holds exactly that call's boxes
    assert [len(turn.new_images[0].boxes) for turn in result.turns[:calls]] == [MAX_ITEMS_PER_CALL] * calls
    late = result.turns[calls]
    assert late.new_images == [] and "3 tool items beyond 256 in one conversation were not drawn" in late.problems
    assert result.stop_reason == "tool_error"
