"""The drawing-reasoning loop: protocol, drawing, limits and every way a turn can go wrong."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vilasr_ros.config import EngineConfig
from vilasr_ros.core.conversation import Box, Line
from vilasr_ros.core.question import AnswerType
from vilasr_ros.core.stop import StopReason
from vilasr_ros.reasoning.backend import Backend, BackendError, ChatImage, Generation, Session
from vilasr_ros.reasoning.engine import ReasoningEngine, ReasoningError
from vilasr_ros.reasoning.replay_backend import ReplayBackend, load_transcript

STOP_REASONS = set(StopReason) - {StopReason.REJECTED}  # "rejected" is the query layer's, never the engine's


class ScriptedSession(Session):
    """Returns scripted turns and records everything the loop sent."""

    def __init__(self, backend: ScriptedBackend, system: str) -> None:
        super().__init__()
        self.backend = backend
        self.system = system
        self.user_turns: list[list] = []
        self.forced: list[str] = []
        self.closed = False

    def add_user(self, content):
        self.user_turns.append(list(content))

    def add_assistant(self, text):
        self.forced.append(text)

    def generate(self, sampling, on_text=None, cancel=None):
        if self.backend.delay:
            time.sleep(self.backend.delay)
        if cancel is not None and cancel.is_set():
            return Generation("", finished=False, cancelled=True)
        turn = self.backend.turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        text, finished = turn if isinstance(turn, tuple) else (turn, True)
        return Generation(text, finished=finished)

    def close(self):
        self.closed = True


class ScriptedBackend(Backend):
    def __init__(self, turns, delay=0.0):
        self.turns = list(turns)
        self.delay = delay
        self.sessions: list[ScriptedSession] = []

    def start(self, system_prompt):
        self.sessions.append(ScriptedSession(self, system_prompt))
        return self.sessions[-1]


def frame(value: int, height: int = 112, width: int = 168) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def boxes(*items):
    return "<think> look </think> Action: Object Mapper\n```json\n" + json.dumps(list(items)) + "\n```"


def lines(*items):
    return "<think> trace </think> Action: Path Tracer\n```json\n" + json.dumps(list(items)) + "\n```"


ANSWER_B = "<think> done </think> Action: Answer\n<answer> B </answer>"


def run(turns, images=None, config=None, **kwargs):
    backend = ScriptedBackend(turns, delay=kwargs.pop("delay", 0.0))
    engine = ReasoningEngine(backend, config or EngineConfig(max_pixels=351232))
    result = engine.run(images or [frame(100), frame(150)], "Which is closer?", **kwargs)
    return result, backend.sessions[0]


def test_three_turns_draw_merge_and_answer():
    turns = [
        boxes(
            {"index": 1, "bbox_2d": [10, 10, 40, 40], "label": "chair"},
            {"index": 1, "bbox_2d": [60, 10, 90, 40], "label": "chair"},
        ),
        boxes({"index": 3, "bbox_2d": [100, 50, 150, 100], "label": "chair"})
        + "\n```json\n"
        + json.dumps([{"index": 2, "start_point_2d": [0, 0], "end_point_2d": [160, 100], "label": "p"}])
        + "\n```",
        ANSWER_B,
    ]
    result, session = run(turns, answer_type=AnswerType.MULTIPLE_CHOICE, options=("A. chair", "B. door"))
    assert result.stop_reason == "answered" and result.answer == "B" and result.choice == "B"
    assert [image.index for image in result.images] == [1, 2, 3, 4, 5]
    three, four, five = result.images[2:]
    # Two same-label boxes of one call are both kept (the reference dropped one) ...
    assert three.boxes == [Box("chair", (10.0, 10.0, 40.0, 40.0)), Box("chair", (60.0, 10.0, 90.0, 40.0))]
    assert (three.base_index, three.source_index) == (1, 1)
    # ... and a later call's label replaces both; image 4 is drawn from the pristine frame 1.
    assert four.boxes == [Box("chair", (100.0, 50.0, 150.0, 100.0))] and four.source_index == 1
    assert (four.pixels[25, 10] == result.images[0].pixels[25, 10]).all()  # old box gone
    assert not (four.pixels[75, 100] == result.images[0].pixels[75, 100]).all()  # new box drawn
    assert five.lines == [Line("p", (0.0, 0.0), (160.0, 100.0))] and five.source_index == 2
    # What the tool said back, exactly.
    assert session.user_turns[1][1] == (
        "\nThe index of the given image is 3 (width: 168, height: 112). Continue your reasoning. "
        "After each tool use, critically evaluate the visualization and adjust if needed:\n"
    )
    assert session.user_turns[2][1] == "The index of the given image is 4 (width: 168, height: 112).\n"
    assert isinstance(session.user_turns[2][0], ChatImage) and session.user_turns[2][2].index == 5
    assert result.turns[1].user_text.startswith("The index of the given image is 4")
    assert [turn.action for turn in result.turns] == ["Object Mapper", "Object Mapper", "Answer"]
    assert session.closed
    assert "bottom-right corner is (168, 112)" in session.system


def test_first_turn_sends_images_with_index_lines_and_the_question():
    result, session = run([ANSWER_B], answer_type=AnswerType.NUMERIC)
    first = session.user_turns[0]
    assert [type(part).__name__ for part in first] == ["ChatImage", "str", "ChatImage", "str", "str"]
    assert first[1] == "The index of the given image is 1 (width: 168, height: 112).\n"
    assert "Which is closer?\n\nPlease answer the question using a single word" in first[4]  # several views
    assert result.quantity is None and result.answer == "B"


def test_the_last_allowed_turn_is_told_to_answer_then_max_turns():
    draw = boxes({"index": 1, "bbox_2d": [1, 1, 20, 20], "label": "x"})
    result, session = run([draw, draw], config=EngineConfig(max_turns=2))
    assert session.user_turns[1][-1].endswith(
        "Please answer the initial question and structure your response as required:\n"
    )
    assert result.stop_reason == "max_turns" and len(result.turns) == 2
    assert len(result.images) == 3 and result.turns[1].new_images == []  # the last allowed call's tool is not run


def test_image_cap_final_text_and_refusal():
    draw = boxes({"index": 1, "bbox_2d": [1, 1, 20, 20], "label": "x"})
    result, session = run([draw, ANSWER_B], config=EngineConfig(max_images=3))
    assert "you can not invoke" in session.user_turns[1][-1]
    assert result.stop_reason == "answered"
    # A turn that would pass the cap adds images up to it (the last with the final text), drops the rest ...
    two_images = boxes(
        {"index": 1, "bbox_2d": [1, 1, 20, 20], "label": "x"}, {"index": 2, "bbox_2d": [1, 1, 20, 20], "label": "y"}
    )
    result, session = run([two_images, ANSWER_B], config=EngineConfig(max_images=3))
    assert result.stop_reason == "answered" and len(result.images) == 3
    assert [type(part).__name__ for part in session.user_turns[1]] == ["ChatImage", "str"]
    assert "you can not invoke" in session.user_turns[1][-1]
    assert "1 new image(s) dropped: engine.max_images is 3" in result.turns[0].problems
    # ... and a tool call after that ends the query.
    result, _ = run([two_images, draw], config=EngineConfig(max_images=3))
    assert result.stop_reason == "max_images" and "reached engine.max_images (3)" in result.error


@pytest.mark.parametrize(
    "text, error",
    [
        ("", "no tool call and no <answer>"),
        ("<think> hmm </think> Action: Hammer\nhit it", "no tool call and no <answer>"),
        (
            'Action: Object Mapper\n```json\n[{"index": 1, "bbox_2d": [1, 2, 3, 4], "label": "x"\n```',
            "not a valid literal",
        ),
        (boxes({"index": 7, "bbox_2d": [1, 2, 3, 4], "label": "x"}), "index 7 does not name an existing image (1..2)"),
        (boxes({"index": 3, "bbox_2d": [1, 2, 3, 4], "label": "x"}), "index 3 does not name an existing image"),
        (boxes({"index": 1, "bbox_2d": [1, 2, "a", 4], "label": "x"}), "bbox_2d must be four finite numbers"),
    ],
)
def test_malformed_turns_end_with_a_tool_error(text, error):
    result, _ = run([text])
    assert result.stop_reason == "tool_error"
    assert error in result.error and result.error.startswith("turn 1:")
    assert len(result.images) == 2


def test_output_that_never_stops_is_reported():
    result, _ = run([("<think> and so on and so on", False)])
    assert result.stop_reason == "tool_error" and "engine.max_new_tokens" in result.error


def test_coordinates_are_clamped_and_normalised():
    turn = (
        boxes({"index": 1, "bbox_2d": [500, -30, 100, 1e9], "label": "x"})
        + "\n```json\n"
        + json.dumps([{"index": 1, "start_point_2d": [-5, 50], "end_point_2d": [1e6, -1e6], "label": "p"}])
        + "\n```"
    )
    result, _ = run([turn, ANSWER_B])
    drawn = result.images[2]
    assert drawn.boxes == [Box("x", (100.0, 0.0, 168.0, 112.0))]
    assert drawn.lines == [Line("p", (0.0, 50.0), (168.0, 0.0))]


def test_model_coordinates_map_back_to_the_camera_image():
    camera = np.zeros((720, 1280, 3), np.uint8)
    result, _ = run([boxes({"index": 1, "bbox_2d": [392, 210, 784, 420], "label": "x"}), ANSWER_B], images=[camera])
    image = result.images[1]
    x1, y1, x2, y2 = image.boxes[0].bbox_2d
    assert (*image.mapping.to_source(x1, y1), *image.mapping.to_source(x2, y2)) == (640.0, 360.0, 1280.0, 720.0)


def test_backend_failure_is_a_stop_reason_not_a_crash():
    result, session = run([BackendError("CUDA out of memory")])
    assert result.stop_reason == "backend_error" and "CUDA out of memory" in result.error
    assert session.closed


def test_cancel_and_timeout():
    cancel = threading.Event()
    cancel.set()
    result, _ = run([ANSWER_B], cancel=cancel)
    assert result.stop_reason == "cancelled"
    result, _ = run([boxes({"index": 1, "bbox_2d": [1, 1, 9, 9], "label": "x"})] * 5, delay=0.05, timeout=0.08)
    assert result.stop_reason == "timeout" and "timed out" in result.error


def test_queries_that_cannot_start_raise():
    with pytest.raises(ReasoningError, match="no images"):
        ReasoningEngine(ScriptedBackend([]), EngineConfig()).run([], "q")
    with pytest.raises(ReasoningError, match="engine.max_images allows 2"):
        ReasoningEngine(ScriptedBackend([]), EngineConfig(max_images=2)).run([frame(0)] * 3, "q")
    with pytest.raises(ReasoningError, match="image 2: .*uint8"):
        ReasoningEngine(ScriptedBackend([]), EngineConfig()).run([frame(0), frame(0).astype(float)], "q")


def test_teacher_forcing_feeds_the_transcript_as_the_models_own_turns():
    backend = ScriptedBackend([])
    transcript = [boxes({"index": 1, "bbox_2d": [1, 1, 9, 9], "label": "x"}), ANSWER_B]
    result = ReasoningEngine(backend, EngineConfig()).run([frame(0)], "q", forced_turns=transcript)
    assert result.stop_reason == "answered"
    assert backend.sessions[0].forced == transcript


def test_replay_backend_and_transcript_files(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps([boxes({"index": 1, "bbox_2d": [1, 1, 9, 9], "label": "x"}), ANSWER_B]))
    result = ReasoningEngine(ReplayBackend.from_file(path), EngineConfig()).run([frame(0)], "q")
    assert result.stop_reason == "answered" and len(result.images) == 2
    short = ReasoningEngine(ReplayBackend(load_transcript(path)[:1]), EngineConfig()).run([frame(0)], "q")
    assert short.stop_reason == "backend_error" and "only 1 turns" in short.error
    (tmp_path / "bad.json").write_text('{"turns": 3}')
    with pytest.raises(BackendError, match="non-empty JSON list of strings"):
        load_transcript(tmp_path / "bad.json")
    with pytest.raises(BackendError, match="cannot read transcript"):
        load_transcript(tmp_path / "missing.json")


# --- property-based: random turns never crash the loop -------------------------------

coordinate = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**6), 10**6), st.text(max_size=3)
)
tool_item = st.fixed_dictionaries(
    {
        "index": st.one_of(st.integers(-2, 8), st.text(max_size=2)),
        "label": st.one_of(st.sampled_from(["a", "b", ""]), st.integers()),
    },
    optional={
        "bbox_2d": st.lists(coordinate, min_size=3, max_size=5),
        "start_point_2d": st.lists(coordinate, min_size=1, max_size=3),
        "end_point_2d": st.lists(coordinate, min_size=2, max_size=2),
    },
)
random_turn = st.one_of(
    st.text(max_size=80),
    st.builds(lambda items: boxes(*items), st.lists(tool_item, max_size=4)),
    st.builds(lambda items: lines(*items), st.lists(tool_item, max_size=4)),
    st.just(ANSWER_B),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(random_turn, min_size=1, max_size=6), st.integers(1, 4), st.integers(2, 6))
def test_random_turns_always_end_with_a_stop_reason(turns, max_turns, max_images):
    turns = turns + [""] * max_turns  # never run out
    result, session = run(
        turns, images=[frame(10), frame(20)], config=EngineConfig(max_turns=max_turns, max_images=max_images)
    )
    assert result.stop_reason in STOP_REASONS
    assert len(result.turns) <= max_turns
    assert len(result.images) <= max_images
    for image in result.images:
        for box in image.boxes:
            x1, y1, x2, y2 = box.bbox_2d
            assert 0 <= x1 <= x2 <= image.mapping.width and 0 <= y1 <= y2 <= image.mapping.height
    assert session.closed


def test_replay_script_by_question(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            {
                "by_question": {
                    "How far is the crate?": ["<think> a </think> Action: Answer\n<answer> 2 m </answer>"],
                    "Which is left?": ["<think> b </think> Action: Answer\n<answer> A </answer>"],
                },
                "default": ["<think> c </think> Action: Answer\n<answer> unknown </answer>"],
            }
        )
    )
    engine = ReasoningEngine(ReplayBackend.from_file(path), EngineConfig())
    assert engine.run([frame(0)], "How far is the crate?").answer == "2 m"
    assert engine.run([frame(0)], "Which is left?").answer == "A"
    assert engine.run([frame(0)], "Anything else?").answer == "unknown"
    with pytest.raises(BackendError, match="one transcript per question"):
        load_transcript(path)
    path.write_text(json.dumps({"by_question": {"Only this?": ["x"]}}))
    result = ReasoningEngine(ReplayBackend.from_file(path), EngineConfig()).run([frame(0)], "Something else")
    assert result.stop_reason == "backend_error" and "no transcript for this question" in result.error


def test_replay_turn_duration_streams_and_can_be_cancelled():
    backend = ReplayBackend([boxes({"index": 1, "bbox_2d": [1, 1, 9, 9], "label": "x"}), ANSWER_B], turn_seconds=0.2)
    pieces: list[str] = []
    started = time.monotonic()
    result = ReasoningEngine(backend, EngineConfig()).run([frame(0)], "q", on_text=pieces.append)
    assert result.stop_reason == "answered" and time.monotonic() - started >= 0.35
    assert len(pieces) > 2 and "".join(pieces) == backend.script[""][0] + backend.script[""][1]
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    result = ReasoningEngine(backend, EngineConfig()).run([frame(0)], "q", cancel=cancel)
    assert result.stop_reason == "cancelled"
