"""The in-process transformers backend on a tiny random Qwen2.5-VL (no mocks).

The reference for every log-probability is one stock forward pass of the model
over the whole conversation (the model computes its own M-RoPE positions), and
the reference for every token id is the processor rendering the same messages.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest
import torch
from sharpened_model import sharpened

from vilasr_ros.config import BackendConfig
from vilasr_ros.reasoning.backend import BackendError, ChatImage, SamplingParams
from vilasr_ros.reasoning.protocol import CONTINUE_TEXT, SYSTEM_PROMPT_TEMPLATE
from vilasr_ros.reasoning.transformers_backend import TransformersBackend, TransformersSession, _TextStream

pytestmark = pytest.mark.model

SYSTEM = SYSTEM_PROMPT_TEMPLATE.replace("{width}", "84").replace("{height}", "56")
SIZES = [(56, 84), (84, 56), (112, 84), (56, 112), (84, 112), (112, 168)]  # (height, width), multiples of 28
FORCED = (
    "<think> The chair is left. </think> Action: Object Mapper\n"
    '```json\n[{"index": 1, "bbox_2d": [1, 2, 30, 40], "label": "chair"}]\n```'
)


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    loaded = sharpened(tiny_model_dir)
    yield loaded
    loaded.close()


def image(index: int, size: tuple[int, int] | None = None) -> ChatImage:
    height, width = size or SIZES[(index - 1) % len(SIZES)]
    pixels = np.random.default_rng(index).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return ChatImage(index, pixels)


def caption(img: ChatImage, tail: str = "\n") -> str:
    return f"The index of the given image is {img.index} (width: {img.width}, height: {img.height}).{tail}"


def full_forward(backend: TransformersBackend, ids: list[int], images: list[ChatImage]) -> torch.Tensor:
    """Next-token log-probs of one stock forward pass over the whole sequence, from scratch."""
    input_ids = torch.tensor([ids])
    kwargs = {}
    if images:
        processed = backend.processor.image_processor(images=[img.pixels for img in images], return_tensors="pt")
        kwargs = {"pixel_values": processed["pixel_values"], "image_grid_thw": processed["image_grid_thw"]}
    mm_token_type_ids = (input_ids == backend.model.config.image_token_id).int()
    with torch.inference_mode():
        output = backend.model(input_ids=input_ids, mm_token_type_ids=mm_token_type_ids, use_cache=False, **kwargs)
    return torch.log_softmax(output.logits[0, -1].float(), dim=-1)


def assert_close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    assert actual.dtype == torch.float32 and actual.shape == expected.shape
    assert torch.allclose(actual, expected, atol=1e-4, rtol=0), float((actual - expected).abs().max())


def test_loads_the_tiny_model_through_the_real_constructor(tiny_model_dir):
    backend = TransformersBackend.from_config(BackendConfig(model=str(tiny_model_dir), device="auto", dtype="auto"))
    assert (backend.device.type, backend.dtype) == ("cpu", torch.float32)
    session = backend.start("system")
    assert session.prefill().shape == (backend.model.config.text_config.vocab_size,)
    backend.close()
    with pytest.raises(BackendError, match="closed"):
        backend.start("system")
    with pytest.raises(BackendError, match="closed"):
        session.prefill()


def test_load_and_configuration_failures_are_actionable(tmp_path):
    missing = str(tmp_path / "no_such_model")
    with pytest.raises(BackendError, match="no_such_model.*does not exist"):
        TransformersBackend(missing)
    with pytest.raises(BackendError, match="needs a CUDA GPU"):
        TransformersBackend(missing, device="cpu", quantization="4bit")


def test_input_the_model_cannot_take_is_refused(backend):
    session = backend.start("system")
    with pytest.raises(BackendError, match="would be resized"):
        session.add_user([image(1, (60, 90)), "text"])
    with pytest.raises(BackendError, match="image_pad"):
        session.add_user(["a fake placeholder <|image_pad|>"])
    assert session.token_ids == backend.start("system").token_ids  # nothing half-queued


def test_incremental_ids_equal_the_processor_rendering_of_the_conversation(backend):
    img1, img2, img3 = image(1), image(2), image(3)
    session = backend.start(SYSTEM)
    # Adjacent text parts (here split inside a word) are tokenized as one run, as the template renders them.
    session.add_user([img1, caption(img1), img2, caption(img2), "How far is the ch", "air from the door?"])
    session.add_assistant(FORCED)
    session.add_user([img3, caption(img3, CONTINUE_TEXT)])
    messages = [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "text", "text": caption(img1)},
                {"type": "image"},
                {"type": "text", "text": caption(img2)},
                {"type": "text", "text": "How far is the ch"},
                {"type": "text", "text": "air from the door?"},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": FORCED}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": caption(img3, CONTINUE_TEXT)}]},
    ]
    pixels = [img.pixels for img in (img1, img2, img3)]

    def rendered(add_generation_prompt: bool) -> list[int]:
        text = backend.processor.apply_chat_template(messages, add_generation_prompt=add_generation_prompt)
        return list(backend.processor(text=text, images=pixels)["input_ids"][0])

    assert session.token_ids == rendered(False)
    session.generate(SamplingParams(temperature=0.0, max_new_tokens=1))
    prompt = rendered(True)
    assert session.token_ids[: len(prompt)] == prompt


def test_each_turn_matches_one_full_forward_pass(backend):
    session = backend.start(SYSTEM)
    images: list[ChatImage] = []
    for turn in range(1, 4):
        img = image(turn)
        images.append(img)
        if turn > 1:
            session.add_assistant(FORCED)
        session.add_user([img, caption(img, CONTINUE_TEXT)])
        assert_close(session.prefill(), full_forward(backend, session.token_ids, images))
        assert session.work.model_calls == turn
        assert session.work.vision_patches == session.minimum.vision_patches


def teacher_forced(backend: TransformersBackend, turns: int) -> TransformersSession:
    session = backend.start(SYSTEM)
    for turn in range(1, turns + 1):
        img = image(turn)
        if turn > 1:
            session.add_assistant(FORCED)
        session.add_user([img, caption(img, CONTINUE_TEXT)])
        session.prefill()  # where the engine would let the model generate
    return session


def test_teacher_forcing_does_exactly_the_minimum_work_and_the_reference_does_more(backend, tiny_model_dir):
    session = teacher_forced(backend, 10)
    patches = sum(t * h * w for t, h, w in (backend.encode_image(image(i))[1] for i in range(1, 11)))
    assert session.minimum.vision_patches == patches
    assert session.minimum.prefill_tokens == len(session.token_ids)
    assert session.work.prefill_tokens == session.minimum.prefill_tokens
    assert session.work.vision_patches == session.minimum.vision_patches
    assert session.work.model_calls == 10

    reference_backend = sharpened(tiny_model_dir, incremental=False)
    reference = teacher_forced(reference_backend, 10)
    assert reference.token_ids == session.token_ids
    assert reference.minimum == session.minimum
    assert reference.work.prefill_tokens > session.work.prefill_tokens
    assert reference.work.vision_patches > session.work.vision_patches
    assert_close(reference.prefill(), session.prefill())
    reference_backend.close()


def conversation(backend: TransformersBackend) -> tuple[TransformersSession, list[ChatImage]]:
    images = [image(1), image(2)]
    session = backend.start(SYSTEM)
    session.add_user([images[0], caption(images[0]), images[1], caption(images[1]), "Where is the chair?"])
    return session, images


def header_length(backend: TransformersBackend) -> int:
    """Tokens of the assistant header ``<|im_start|>assistant\\n``."""
    return 1 + len(backend.encode_text("assistant\n"))


def generated_ids(backend: TransformersBackend, session: TransformersSession, before: int) -> list[int]:
    """Ids the model wrote after the assistant header, without the closing ``<|im_end|>\\n``."""
    ids = session.token_ids[before + header_length(backend) :]
    return ids[: len(ids) - 1 - len(backend.encode_text("\n"))]


def test_greedy_decoding_is_deterministic_and_follows_the_argmax(backend):
    first, images = conversation(backend)
    second, _ = conversation(backend)
    greedy = SamplingParams(temperature=0.0, max_new_tokens=8)
    before = len(first.token_ids)
    a, b = first.generate(greedy), second.generate(greedy)
    assert a.text == b.text and first.token_ids == second.token_ids
    expected = full_forward(backend, first.token_ids[: before + header_length(backend)], images).argmax()
    assert generated_ids(backend, first, before)[0] == int(expected)


def test_same_seed_gives_the_same_text(backend):
    sampling = SamplingParams(temperature=1.0, top_p=0.9, max_new_tokens=12, seed=7)
    texts = []
    for seed in (7, 7, 8):
        session, _ = conversation(backend)
        texts.append(session.generate(dataclasses.replace(sampling, seed=seed)).text)
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_max_new_tokens_ends_the_turn_unfinished_and_the_next_turn_still_matches(backend):
    session, images = conversation(backend)
    before = len(session.token_ids)
    pieces: list[str] = []
    generation = session.generate(SamplingParams(temperature=1.0, max_new_tokens=6, seed=3), on_text=pieces.append)
    assert (generation.finished, generation.cancelled, generation.num_tokens) == (False, False, 6)
    ids = generated_ids(backend, session, before)
    assert len(ids) == 6
    assert "".join(pieces) == generation.text == backend.tokenizer.decode(ids, skip_special_tokens=True)
    im_end = backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert session.token_ids[-2:] == [im_end, *backend.encode_text("\n")]

    img = image(3)
    images.append(img)
    session.add_user([img, caption(img, CONTINUE_TEXT)])
    assert_close(session.prefill(), full_forward(backend, session.token_ids, images))
    assert session.work.decoded_tokens == 6
    assert session.work.prefill_tokens == session.minimum.prefill_tokens
    assert session.work.vision_patches == session.minimum.vision_patches


def test_a_finished_turn_carries_its_ids_forward(backend):
    session, images = conversation(backend)
    before = len(session.token_ids)
    pieces: list[str] = []
    # Sampled nearly flat, the random model ends its turn with this seed after a few dozen tokens.
    generation = session.generate(
        SamplingParams(temperature=30.0, top_p=1.0, max_new_tokens=4000, seed=4), on_text=pieces.append
    )
    assert generation.finished and not generation.cancelled
    im_end = backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert session.token_ids[-2:] == [im_end, *backend.encode_text("\n")]  # its own <|im_end|>, then \n
    assert "".join(pieces) == generation.text
    ids = generated_ids(backend, session, before)
    assert generation.text == backend.tokenizer.decode(ids, skip_special_tokens=True)
    assert session.work.prefill_tokens == session.minimum.prefill_tokens  # the unrun closing \n is not needed yet
    img = image(4)
    images.append(img)
    session.add_user([img, caption(img, CONTINUE_TEXT)])
    assert_close(session.prefill(), full_forward(backend, session.token_ids, images))
    assert session.work.decoded_tokens == generation.num_tokens
    assert session.work.prefill_tokens == session.minimum.prefill_tokens


def test_cancel_stops_between_tokens(backend):
    preset = threading.Event()
    preset.set()
    session, _ = conversation(backend)
    generation = session.generate(SamplingParams(max_new_tokens=50), cancel=preset)
    assert (generation.cancelled, generation.finished, generation.text, generation.num_tokens) == (True, False, "", 0)
    assert session.work.model_calls == 0

    cancel = threading.Event()
    seen: list[str] = []

    def on_text(delta: str) -> None:
        seen.append(delta)
        if len(seen) == 3:
            cancel.set()

    session, _ = conversation(backend)
    generation = session.generate(SamplingParams(temperature=0.0, max_new_tokens=50), on_text=on_text, cancel=cancel)
    assert generation.cancelled and not generation.finished
    assert generation.text == "".join(seen) and len(seen) == 3
    assert generation.num_tokens < 50


def test_streamed_text_never_splits_a_character(backend):
    text = "距离 é ok"
    ids = backend.encode_text(text)
    assert len(ids) > len(text)  # the tiny byte-level tokenizer splits these characters into bytes
    seen: list[str] = []
    stream = _TextStream(backend.tokenizer, seen.append)
    for token in ids:
        stream.push(token)
    stream.finish()
    assert "".join(seen) == stream.text == text
    assert not any("\ufffd" in piece for piece in seen)
