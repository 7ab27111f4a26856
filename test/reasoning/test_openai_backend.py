"""The OpenAI-compatible backend against real servers on 127.0.0.1.

A real ``transformers serve`` process serves the tiny random Qwen2.5-VL (its
output is gibberish, so the tests check types, flags and usage, not content);
a small stub HTTP server plays the refusing and broken servers.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import http_stub as sim_http
import numpy as np
import pytest
from http_stub import local_server

from vilasr_ros.config import BackendConfig
from vilasr_ros.reasoning.backend import BackendError, ChatImage, MinimumWork, SamplingParams
from vilasr_ros.reasoning.openai_backend import OpenAIBackend, OpenAISession

HOST = "127.0.0.1"
SERVER_START_LIMIT = 120.0  # seconds for `transformers serve` to import torch and load the tiny model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def image(index: int, width: int = 112, height: int = 84, seed: int = 0) -> ChatImage:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return ChatImage(index=index, pixels=pixels)


# ---------------------------------------------------------------- real server


def tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def served_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """``transformers serve`` pinned to the tiny model on a free loopback port; yields (url, model name)."""
    port = free_port()
    model = str(tiny_model_dir)
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_UPDATE_CHECK="1",
        TOKENIZERS_PARALLELISM="false",
    )
    command = [
        sys.executable,
        "-m",
        "transformers.cli.transformers",
        "serve",
        model,
        "--host",
        HOST,
        "--port",
        str(port),
        "--device",
        "cpu",
        "--dtype",
        "float32",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_LIMIT
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}:\n{tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not ready after {SERVER_START_LIMIT} s:\n{tail(log_path)}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=1.0) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.25)
        yield f"http://{HOST}:{port}/v1", model
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def backend(served_model):
    url, model = served_model
    backend = OpenAIBackend(url, model, request_timeout=30.0, max_retries=0)
    yield backend
    backend.close()


def first_turn(backend: OpenAIBackend) -> OpenAISession:
    session = backend.start("You are a spatial reasoning test.")
    session.add_user(
        [
            image(1, seed=1),
            "The index of the given image is 1 (width: 112, height: 84).\n",
            image(2, seed=2),
            "The index of the given image is 2 (width: 112, height: 84).\nHow far is the chair from the door?",
        ]
    )
    return session


@pytest.mark.server
def test_generates_from_images_and_streams_text(backend: OpenAIBackend) -> None:
    session = first_turn(backend)
    pieces: list[str] = []
    generation = session.generate(SamplingParams(max_new_tokens=8, seed=0), on_text=pieces.append)

    assert isinstance(generation.text, str) and generation.text
    assert "".join(pieces) == generation.text
    assert generation.finished is False and generation.cancelled is False  # stopped by max_new_tokens
    assert generation.num_tokens == 8
    assert session.work.model_calls == 1
    assert session.work.decoded_tokens == 8
    assert session.work.prefill_tokens >= 2 * 12  # each 112x84 image is 12 visual tokens
    assert session.work.vision_patches == 0
    assert session.minimum == MinimumWork()
    assert session.messages[-1] == {"role": "assistant", "content": generation.text}


@pytest.mark.server
def test_second_turn_and_teacher_forcing(backend: OpenAIBackend) -> None:
    session = first_turn(backend)
    session.generate(SamplingParams(max_new_tokens=4, seed=1))
    first_prefill = session.work.prefill_tokens

    session.add_user([image(3, seed=3), "The index of the given image is 3 (width: 112, height: 84). Continue."])
    second = session.generate(SamplingParams(max_new_tokens=4, seed=2))
    assert isinstance(second.text, str) and second.num_tokens == 4
    assert session.work.model_calls == 2
    assert session.work.prefill_tokens > 2 * first_prefill  # the whole conversation is re-sent
    assert session.work.decoded_tokens == 8

    session.add_assistant("<think> recorded </think> Action: Answer\n<answer> B </answer>")
    session.add_user(["Answer again."])
    session.generate(SamplingParams(temperature=0.0, max_new_tokens=2))
    assert session.work.model_calls == 3
    assert [message["role"] for message in session.messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "assistant",
        "user",
        "assistant",
    ]


@pytest.mark.server
def test_cancel(backend: OpenAIBackend) -> None:
    session = first_turn(backend)
    cancel = threading.Event()
    cancel.set()
    before = session.generate(SamplingParams(max_new_tokens=8), cancel=cancel)
    assert before.cancelled is True and before.finished is False and before.text == ""
    assert session.work.model_calls == 0

    cancel = threading.Event()
    pieces: list[str] = []

    def first_piece_cancels(text: str) -> None:
        pieces.append(text)
        cancel.set()

    during = session.generate(SamplingParams(max_new_tokens=200, seed=0), on_text=first_piece_cancels, cancel=cancel)
    assert during.cancelled is True and during.finished is False
    assert during.text == pieces[0] and len(pieces) == 1
    assert session.work.model_calls == 1

    session.add_user(["Go on."])  # the server still answers after the closed stream
    assert session.generate(SamplingParams(max_new_tokens=2)).num_tokens == 2


@pytest.mark.server
def test_real_server_rejects_an_unknown_model(served_model) -> None:
    url, _ = served_model
    backend = OpenAIBackend(url, "no/such-model", request_timeout=30.0, max_retries=0)
    session = backend.start("system")
    session.add_user(["hello"])
    with pytest.raises(BackendError, match=rf"{re.escape(url)}.*HTTP 400.*no/such-model"):
        session.generate(SamplingParams(max_new_tokens=2))


# ---------------------------------------------------------------- server down


def test_server_down_fails_fast_with_the_url() -> None:
    url = f"http://{HOST}:{free_port()}/v1"  # nothing listens there any more
    backend = OpenAIBackend(url, "m", request_timeout=2.0, max_retries=0)
    session = backend.start("system")
    session.add_user(["hello"])
    started = time.monotonic()
    expected = rf"cannot reach the OpenAI-compatible server at {re.escape(url)}.*is it running"
    with pytest.raises(BackendError, match=expected):
        session.generate(SamplingParams(max_new_tokens=2))
    assert time.monotonic() - started < 2.0


# ---------------------------------------------------------------- stub server

GOOD_STREAM = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"choices": [{"index": 0, "delta": {"content": "<answer> "}}]},
    {"choices": [{"index": 0, "delta": {"content": "B </answer>"}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 40, "completion_tokens": 5, "total_tokens": 45}},
]


class StubHandler(sim_http.StubHandler):
    """Answers /v1/chat/completions as the requested model name says."""

    requests: list[dict] = []

    def do_POST(self) -> None:
        body = self.read_json()
        self.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
        model = body["model"]
        if model == "strict" and {"top_k", "min_p", "repetition_penalty"} & set(body):  # like transformers serve
            self.send_text(
                422, "application/json", json.dumps({"detail": "Unexpected fields in the request: {'top_k'}"})
            )
            return
        if model in ("good", "strict"):
            header = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model}
            events = [f"data: {json.dumps({**header, **chunk})}" for chunk in GOOD_STREAM]
            self.send_text(200, "text/event-stream", "\n\n".join([*events, "data: [DONE]", ""]))
        elif model == "unauthorized":
            self.send_text(401, "application/json", json.dumps({"error": {"message": "Invalid API key", "code": 401}}))
        elif model == "forbidden":
            self.send_text(403, "application/json", json.dumps({"detail": "Not allowed"}))
        elif model == "missing":
            error = {"error": {"message": "The model `missing` does not exist.", "code": 404}}  # vLLM's answer
            self.send_text(404, "application/json", json.dumps(error))
        elif model == "broken":
            self.send_text(500, "application/json", json.dumps({"error": {"message": "CUDA out of memory"}}))
        elif model == "not-json":
            self.send_text(200, "text/event-stream", "data: {this is not json\n\n")
        elif model == "stream-error":  # how transformers serve reports a failure after the headers went out
            self.send_text(200, "text/event-stream", 'data: {"error": "generation failed: boom"}\n\n')
        elif model == "no-choices":
            self.send_text(200, "application/json", json.dumps({"id": "c", "object": "chat.completion"}))
        elif model == "slow":
            time.sleep(2.0)
            self.send_text(500, "application/json", "{}")


@pytest.fixture(scope="module")
def stub_url():
    with local_server(StubHandler) as url:
        yield url


def stub_generate(url: str, model: str, **options: object):
    backend = OpenAIBackend(url, model, **{"request_timeout": 5.0, "max_retries": 0, **options})
    session = backend.start("system prompt")
    session.add_user([image(1, width=56, height=28), "hello"])
    try:
        return session, session.generate(SamplingParams(max_new_tokens=16, seed=7))
    finally:
        backend.close()


def test_stub_stream_request_and_usage(stub_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILASR_TEST_KEY", "sekrit")
    StubHandler.requests.clear()
    session, generation = stub_generate(stub_url, "good", api_key_env="VILASR_TEST_KEY", allow_insecure_localhost=True)
    assert generation.text == "<answer> B </answer>" and generation.finished is True
    assert generation.num_tokens == 5
    assert session.work.as_dict() == {"prefill_tokens": 40, "vision_patches": 0, "decoded_tokens": 5, "model_calls": 1}

    sent = StubHandler.requests[-1]
    assert sent["authorization"] == "Bearer sekrit"
    body = sent["body"]
    assert (body["model"], body["max_tokens"], body["seed"], body["stream"]) == ("good", 16, 7, True)
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.75 and body["top_p"] == 0.9
    # vLLM's defaults, sent so that a server does not take them from the model's generation_config.json
    assert (body["top_k"], body["min_p"], body["repetition_penalty"]) == (-1, 0.0, 1.0)
    system, user = body["messages"]
    assert system == {"role": "system", "content": "system prompt"}
    image_part, text_part = user["content"]
    assert text_part == {"type": "text", "text": "hello"}
    prefix = "data:image/png;base64,"
    assert image_part["type"] == "image_url" and image_part["image_url"]["url"].startswith(prefix)
    png = np.frombuffer(base64.b64decode(image_part["image_url"]["url"][len(prefix) :]), np.uint8)
    decoded = cv2.cvtColor(cv2.imdecode(png, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.array_equal(decoded, image(1, width=56, height=28).pixels)  # RGB survives the BGR round trip


def test_a_server_that_refuses_the_extra_sampling_fields_is_asked_again_without_them(stub_url: str) -> None:
    StubHandler.requests.clear()
    backend = OpenAIBackend(stub_url, "strict", request_timeout=5.0, max_retries=0)
    try:
        for _ in range(2):
            session = backend.start("system prompt")
            session.add_user(["hello"])
            assert session.generate(SamplingParams(max_new_tokens=16)).text == "<answer> B </answer>"
    finally:
        backend.close()
    sent = [set(request["body"]) & {"top_k", "min_p", "repetition_penalty"} for request in StubHandler.requests]
    assert sent == [{"top_k", "min_p", "repetition_penalty"}, set(), set()]  # refused once, then never sent again
    assert backend.sampling_extras is False


def test_missing_api_key_sends_a_placeholder(stub_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VILASR_TEST_KEY", raising=False)
    StubHandler.requests.clear()
    stub_generate(stub_url, "good", api_key_env="VILASR_TEST_KEY")
    assert StubHandler.requests[-1]["authorization"] == "Bearer EMPTY"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("unauthorized", r"refused the request \(HTTP 401: Invalid API key\): check the API key in \$OPENAI_API_KEY"),
        ("forbidden", r"refused the request \(HTTP 403: Not allowed\): check the API key in \$OPENAI_API_KEY"),
        ("missing", r"does not serve model 'missing' \(HTTP 404: The model `missing` does not exist.\)"),
        ("broken", r"answered HTTP 500: CUDA out of memory"),
        ("not-json", r"malformed response from .*a stream chunk is not JSON"),
        ("stream-error", r"reported an error while streaming: generation failed: boom"),
        ("no-choices", r"malformed response from .*no choices"),
    ],
)
def test_stub_errors_are_clear(stub_url: str, model: str, message: str) -> None:
    with pytest.raises(BackendError, match=rf"server at {re.escape(stub_url)}\b") as caught:
        stub_generate(stub_url, model)
    assert caught.match(message)


def test_retries_follow_max_retries(stub_url: str) -> None:
    StubHandler.requests.clear()
    with pytest.raises(BackendError, match="HTTP 500"):
        stub_generate(stub_url, "broken", max_retries=1)
    assert len(StubHandler.requests) == 2


def test_timeout_names_the_server(stub_url: str) -> None:
    started = time.monotonic()
    expected = rf"cannot reach the OpenAI-compatible server at {re.escape(stub_url)}: no answer within 0\.5 s"
    with pytest.raises(BackendError, match=expected):
        stub_generate(stub_url, "slow", request_timeout=0.5)
    assert time.monotonic() - started < 1.9


def test_from_config() -> None:
    config = BackendConfig(
        kind="openai", model="served", url="http://127.0.0.1:9/v1", api_key_env="K", request_timeout=3.0, max_retries=1
    )
    backend = OpenAIBackend.from_config(config)
    assert (backend.url, backend.model, backend.api_key_env, backend.request_timeout, backend.max_retries) == (
        "http://127.0.0.1:9/v1",
        "served",
        "K",
        3.0,
        1,
    )
    backend.close()
