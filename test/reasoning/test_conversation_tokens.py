"""The transformers backend tokenises exactly ``conversation_text``: its ids decode to that text,
each image's one placeholder expanded to the image's pads (tiny random Qwen2.5-VL)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vilasr_ros.config import EngineConfig
from vilasr_ros.reasoning.conversation import IMAGE_PLACEHOLDER, Conversation
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.protocol import ImageRef
from vilasr_ros.reasoning.transformers_backend import TransformersBackend

pytestmark = pytest.mark.model

FRAMES = [np.random.default_rng(n).integers(0, 256, (168, 224, 3), dtype=np.uint8) for n in range(2)]


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    loaded = TransformersBackend(str(tiny_model_dir), device="cpu")
    yield loaded
    loaded.close()


def run_and_capture(backend, config, **kwargs):
    """Run a query; return the result and the session's token ids."""
    sessions = []
    start = backend.start

    def recording_start(system_prompt):
        sessions.append(start(system_prompt))
        return sessions[-1]

    backend.start = recording_start
    try:
        result = ReasoningEngine(backend, config).run(FRAMES, "Which is closer?", **kwargs)
    finally:
        del backend.start
    return result, sessions[0].token_ids


def expanded(result) -> str:
    """``conversation_text`` with image k's placeholder expanded to (h/28)*(w/28) pads."""
    pieces = result.conversation_text.split(IMAGE_PLACEHOLDER)
    assert len(pieces) == len(result.images) + 1
    text = pieces[0]
    for image, piece in zip(result.images, pieces[1:]):
        pads = (image.mapping.width // 28) * (image.mapping.height // 28)
        text += "<|vision_start|>" + "<|image_pad|>" * pads + "<|vision_end|>" + piece
    return text


def decode(backend, ids) -> str:
    return backend.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def test_teacher_forced_turns_with_several_new_images(backend):
    turns = [
        "<think> both </think> Action: Object Mapper\n```json\n"
        + json.dumps(
            [
                {"index": 2, "bbox_2d": [10, 10, 90, 90], "label": "a"},
                {"index": 1, "bbox_2d": [5, 5, 50, 60], "label": "b"},
            ]
        )
        + "\n```",
        "<think> done </think> Action: Answer\n<answer> B </answer>",
    ]
    result, ids = run_and_capture(backend, EngineConfig(max_turns=10), forced_turns=turns)
    assert result.stop_reason == "answered" and len(result.images) == 4
    # The session closes the last turn with <|im_end|>\n; conversation_text ends at the model's text.
    assert decode(backend, ids) == expanded(result) + "<|im_end|>\n"
    assert result.conversation_text.endswith("<|im_start|>assistant\n" + turns[1])


def test_sampled_turns(backend):
    result, ids = run_and_capture(backend, EngineConfig(max_turns=2, max_new_tokens=8, temperature=1.0, seed=3))
    assert result.work["decoded_tokens"] >= 1
    assert decode(backend, ids) == expanded(result) + "<|im_end|>\n"


def test_conversation_renders_the_chat_template():
    conversation = Conversation("SYS")
    conversation.add_user([ImageRef(1, 28, 28), "question\n"])
    conversation.add_assistant("answer")
    assert conversation.text.replace(IMAGE_PLACEHOLDER, "<I>") == (
        "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\n<I>question\n<|im_end|>\n<|im_start|>assistant\nanswer"
    )
