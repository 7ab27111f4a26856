"""How the openai backend sends images (PNG or JPEG), and vLLM's image-limit refusal, against a stub server."""

from __future__ import annotations

import base64
import json

import cv2
import numpy as np
import pytest
from http_stub import StubHandler, local_server

from vilasr_ros.config import BackendConfig, ConfigError
from vilasr_ros.reasoning.backend import BackendError, ChatImage, SamplingParams
from vilasr_ros.reasoning.openai_backend import OpenAIBackend

# vLLM's answer when a prompt has more images than --limit-mm-per-prompt allows (its OpenAI-style error body)
VLLM_IMAGE_LIMIT = {
    "object": "error",
    "message": "At most 1 image(s) may be provided in one prompt.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
STREAM = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}},
]


class Handler(StubHandler):
    bodies: list[dict] = []

    def do_POST(self) -> None:
        body = self.read_json()
        self.bodies.append(body)
        if body["model"] == "one-image-only":
            self.send_text(400, "application/json", json.dumps(VLLM_IMAGE_LIMIT))
            return
        header = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        events = [f"data: {json.dumps({**header, **chunk})}" for chunk in STREAM]
        self.send_text(200, "text/event-stream", "\n\n".join([*events, "data: [DONE]", ""]))


@pytest.fixture(scope="module")
def url():
    with local_server(Handler) as served:
        yield served


def smooth_image(index: int) -> ChatImage:
    """A smooth colour gradient (what JPEG keeps well), 112x84."""
    y, x = np.mgrid[0:84, 0:112]
    pixels = np.stack([x * 2, y * 3, (x + y)], axis=-1).astype(np.uint8)
    return ChatImage(index, pixels)


def sent_images(url: str, model: str, images: list[ChatImage], **options: object) -> list[str]:
    """The image URLs of the user turn the server received."""
    Handler.bodies.clear()
    backend = OpenAIBackend(url, model, request_timeout=5.0, max_retries=0, **options)
    session = backend.start("system")
    session.add_user([*images, "where?"])
    try:
        session.generate(SamplingParams(max_new_tokens=4))
    finally:
        backend.close()
    user = Handler.bodies[-1]["messages"][1]["content"]
    return [part["image_url"]["url"] for part in user if part["type"] == "image_url"]


def decode(data_url: str, prefix: str) -> tuple[np.ndarray, int]:
    assert data_url.startswith(prefix), data_url[:40]
    raw = base64.b64decode(data_url[len(prefix) :])
    bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), len(raw)


def test_jpeg_images_are_jpeg_at_the_quality_asked_and_png_stays_lossless(url):
    image = smooth_image(1)
    (png_url,) = sent_images(url, "m", [image])
    png, png_bytes = decode(png_url, "data:image/png;base64,")
    assert np.array_equal(png, image.pixels)

    sizes = {}
    for quality in (30, 95):
        (jpeg_url,) = sent_images(url, "m", [image], image_format="jpeg", jpeg_quality=quality)
        jpeg, sizes[quality] = decode(jpeg_url, "data:image/jpeg;base64,")
        assert base64.b64decode(jpeg_url.split(",", 1)[1])[:3] == b"\xff\xd8\xff"  # the JPEG magic number
        error = np.abs(jpeg.astype(int) - image.pixels.astype(int)).mean()
        assert error < (2.0 if quality == 95 else 8.0), (quality, error)
    assert sizes[30] < sizes[95] < png_bytes


def test_image_format_parameters_are_checked(url):
    with pytest.raises(BackendError, match="image_format must be png or jpeg"):
        OpenAIBackend(url, "m", image_format="webp")
    with pytest.raises(BackendError, match="jpeg_quality must be in 1..100"):
        OpenAIBackend(url, "m", image_format="jpeg", jpeg_quality=0)
    with pytest.raises(ConfigError, match="backend.image_format"):
        BackendConfig(kind="openai", image_format="gif")
    with pytest.raises(ConfigError, match="backend.jpeg_quality"):
        BackendConfig(kind="openai", jpeg_quality=101)
    backend = OpenAIBackend.from_config(BackendConfig(kind="openai", url=url, image_format="jpeg", jpeg_quality=70))
    assert (backend.image_format, backend.jpeg_quality) == ("jpeg", 70)
    backend.close()


def test_vllms_image_limit_becomes_advice_naming_limit_mm_per_prompt(url):
    with pytest.raises(BackendError) as caught:
        sent_images(url, "one-image-only", [smooth_image(1), smooth_image(2)])
    message = str(caught.value)
    assert "takes at most 1 image(s) per prompt" in message
    assert "--limit-mm-per-prompt" in message and "engine.max_images" in message
    assert url in message
