"""The reference's loop rules that the replay CLI cannot show: truncated turns and parsing details."""

from __future__ import annotations

import json

import numpy as np

from vilasr_ros.config import EngineConfig
from vilasr_ros.reasoning.backend import Backend, Generation, Session
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.protocol import BoxCall, LineCall, extract_answer, json_blocks, parse_turn


class CutSession(Session):
    """Returns scripted (text, finished) turns; finished=False is a turn cut at the token limit."""

    def __init__(self, turns: list[tuple[str, bool]]) -> None:
        super().__init__()
        self.turns = turns
        self.user_turns: list[list] = []

    def add_user(self, content):
        self.user_turns.append(list(content))

    def add_assistant(self, text):
        raise AssertionError("not teacher-forced")

    def generate(self, sampling, on_text=None, cancel=None):
        text, finished = self.turns.pop(0)
        return Generation(text, finished=finished)


class CutBackend(Backend):
    def __init__(self, turns: list[tuple[str, bool]]) -> None:
        self.session = CutSession(turns)

    def start(self, system_prompt):
        return self.session


BOX_TURN = 'Action: Object Mapper\n```json\n[{"index": 1, "bbox_2d": [1, 1, 30, 30], "label": "x"}]\n```'
FRAME = np.full((112, 168, 3), 90, np.uint8)


def test_a_turn_cut_at_the_token_limit_ends_the_query_and_its_tool_is_not_run():
    backend = CutBackend([(BOX_TURN, False)])
    result = ReasoningEngine(backend, EngineConfig()).run([FRAME], "q")
    assert result.stop_reason == "tool_error" and "engine.max_new_tokens" in result.error
    assert len(result.images) == 1 and len(backend.session.user_turns) == 1
    assert result.conversation_text.endswith("<|im_start|>assistant\n" + BOX_TURN)


def test_a_cut_turn_that_holds_an_answer_is_answered():
    result = ReasoningEngine(CutBackend([("<answer> 3 m </answer> and then", False)]), EngineConfig()).run([FRAME], "q")
    assert result.stop_reason == "answered" and result.answer == "3 m"


def test_an_unclosed_json_fence_is_read_up_to_the_end_of_thinking():
    text = (
        '<think> plan\n```json\n[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"}]\n</think> Action: Object Mapper'
    )
    assert json_blocks(text) == ['[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"}]']
    assert parse_turn(text).items == [BoxCall(1, "x", (1.0, 2.0, 3.0, 4.0))]
    # With a closing fence anywhere after it, the block ends there (</think> or not).
    assert json_blocks("```json\n[1]\n</think>\n```\n") == ["[1]\n</think>\n"]
    # The opening line must be exactly the fence once stripped.
    assert json_blocks("```json [1]\n```") == [] and json_blocks("  ```json  \n[2]\n```") == ["[2]\n"]


def test_several_images_in_one_call_are_ordered_boxes_first_then_lines():
    turn = (
        "Action: Path Tracer\n```json\n"
        + json.dumps([{"index": 2, "start_point_2d": [0, 0], "end_point_2d": [9, 9], "label": "p"}])
        + "\n```\nAction: Object Mapper\n```json\n"
        + json.dumps(
            [{"index": 1, "bbox_2d": [1, 1, 9, 9], "label": "b"}, {"index": 2, "bbox_2d": [2, 2, 8, 8], "label": "c"}]
        )
        + "\n```"
    )
    backend = CutBackend([(turn, True), ("<answer> A </answer>", True)])
    result = ReasoningEngine(backend, EngineConfig()).run([FRAME, FRAME], "q")
    new = result.turns[0].new_images
    assert [(image.index, image.base_index) for image in new] == [(3, 1), (4, 2)]
    assert [box.label for box in new[1].boxes] == ["c"] and [line.label for line in new[1].lines] == ["p"]
    assert isinstance(parse_turn(turn).items[0], LineCall)  # the items themselves stay in written order


def test_the_answer_is_the_first_answer_block_stripped():
    assert extract_answer("<answer>\n A \n</answer> ... <answer> B </answer>") == "A"
    assert extract_answer("<answer> unterminated") is None
