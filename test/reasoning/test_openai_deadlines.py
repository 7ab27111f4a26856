"""The openai backend against bad servers: hung, slow, keep-alive-only, failing; deadline, cancel, key transport.

Stub HTTP servers run in the test process on 127.0.0.1. Every bound below is the deadline (or the
per-chunk ``request_timeout``) plus a margin for a loaded machine; a backend that waited for the
server would blow it by tens of seconds.
"""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
from http_stub import StubHandler, local_server

from vilasr_ros.reasoning.backend import BackendError, ChatImage, SamplingParams, StopEvent
from vilasr_ros.reasoning.openai_backend import MAX_CHARS_PER_TOKEN, OpenAIBackend

pytestmark = pytest.mark.slow  # waits out server deadlines

MARGIN = 1.0  # seconds a loaded 2-core machine may add to a bound


def chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


class BadServer(StubHandler):
    """The model name picks the misbehaviour; ``log`` records requests and when a client went away."""

    log: list[tuple[str, float]] = []
    closing = threading.Event()

    def do_POST(self) -> None:
        body = self.read_json()
        model = body["model"]
        self.log.append((f"request {model}", time.monotonic()))
        if model == "hung":  # accepts, never answers
            self.closing.wait(60)
            return
        if model == "broken":
            self.send_text(503, "application/json", '{"error": {"message": "overloaded"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            if model == "keepalive":  # headers, then only SSE comments, forever
                while not self.closing.is_set():
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    time.sleep(0.1)
            elif model == "slow":  # a token every 0.2 s, 100 of them
                for _ in range(100):
                    self.wfile.write(chunk("word ").encode())
                    self.wfile.flush()
                    time.sleep(0.2)
                self.wfile.write((chunk(None, "stop") + "data: [DONE]\n\n").encode())
            elif model == "flood":  # ignores max_tokens
                for _ in range(2000):
                    self.wfile.write(chunk("x" * 100).encode())
                self.wfile.write((chunk(None, "stop") + "data: [DONE]\n\n").encode())
            self.wfile.flush()
        except OSError:
            self.log.append((f"client gone {model}", time.monotonic()))


@pytest.fixture(scope="module")
def bad_url():
    with local_server(BadServer) as url:
        yield url
        BadServer.closing.set()


def session(url: str, model: str, **options):
    backend = OpenAIBackend(url, model, **{"request_timeout": 30.0, "max_retries": 0, **options})
    conversation = backend.start("system")
    conversation.add_user([ChatImage(1, np.zeros((28, 28, 3), np.uint8)), "hello"])
    return backend, conversation


def generate_until(url: str, model: str, seconds: float, **options):
    """generate() with a deadline ``seconds`` from now; (generation, elapsed)."""
    backend, conversation = session(url, model, **options)
    stop = StopEvent(threading.Event(), time.monotonic() + seconds)
    started = time.monotonic()
    try:
        return conversation.generate(SamplingParams(max_new_tokens=1000), cancel=stop), time.monotonic() - started
    finally:
        backend.close()


@pytest.mark.parametrize("model", ["hung", "keepalive", "slow"])
def test_a_bad_server_costs_the_query_its_deadline_not_more(bad_url, model):
    generation, elapsed = generate_until(bad_url, model, 1.5)
    assert generation.cancelled and not generation.finished
    assert 1.4 <= elapsed < 1.5 + MARGIN
    if model == "slow":
        assert generation.text.startswith("word ")  # what came before the deadline is kept


def test_the_keepalive_stream_is_closed_when_the_query_gives_up(bad_url):
    BadServer.log.clear()
    generate_until(bad_url, "keepalive", 1.0)
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and not any(event == "client gone keepalive" for event, _ in BadServer.log):
        time.sleep(0.05)
    assert any(event == "client gone keepalive" for event, _ in BadServer.log), BadServer.log


def test_keepalive_comments_do_not_count_as_data_for_request_timeout(bad_url):
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"server at .*: no answer within 1 s"):
        generate_until(bad_url, "keepalive", 60.0, request_timeout=1.0)
    assert time.monotonic() - started < 1.0 + MARGIN


def test_cancel_from_another_thread_stops_a_streaming_turn_at_once(bad_url):
    backend, conversation = session(bad_url, "slow")
    cancel = threading.Event()
    pieces: list[str] = []
    cancelled_at: list[float] = []

    def on_text(text: str) -> None:
        pieces.append(text)
        if len(pieces) == 3:
            threading.Timer(0.1, lambda: (cancelled_at.append(time.monotonic()), cancel.set())).start()

    generation = conversation.generate(SamplingParams(max_new_tokens=1000), on_text=on_text, cancel=cancel)
    returned = time.monotonic()
    backend.close()
    assert generation.cancelled and generation.text == "".join(pieces) and len(pieces) < 10
    assert returned - cancelled_at[0] < 0.5


def test_retries_stop_at_the_deadline(bad_url):
    BadServer.log.clear()
    started = time.monotonic()
    with pytest.raises(BackendError, match=r"answered HTTP 503: overloaded \(tried \d times\)|HTTP 503"):
        generate_until(bad_url, "broken", 1.2, max_retries=50)
    elapsed = time.monotonic() - started
    requests = sum(event == "request broken" for event, _ in BadServer.log)
    # back-offs 0.5 + 1.0 s: the third try would start past the deadline, so at most two requests go out
    assert elapsed < 1.2 + MARGIN and 1 <= requests <= 2, (elapsed, requests)


def test_a_server_ignoring_max_tokens_is_cut_at_the_character_cap(bad_url):
    backend, conversation = session(bad_url, "flood")
    generation = conversation.generate(SamplingParams(max_new_tokens=50))
    backend.close()
    assert len(generation.text) == 50 * MAX_CHARS_PER_TOKEN and not generation.finished


@pytest.mark.parametrize(
    ("url", "allow", "allowed"),
    [
        ("https://models.example.com/v1", False, True),
        ("http://localhost:8000/v1", False, False),
        ("http://127.0.0.1:8000/v1", True, True),
        ("http://[::1]:8000/v1", True, True),
        ("http://gpu-server.lan:8000/v1", True, False),  # the flag never covers another machine
    ],
)
def test_an_api_key_travels_over_https_or_to_localhost_by_choice(monkeypatch, url, allow, allowed):
    monkeypatch.setenv("VILASR_TEST_KEY", "sekrit")
    if allowed:
        OpenAIBackend(url, "m", api_key_env="VILASR_TEST_KEY", allow_insecure_localhost=allow).close()
    else:
        with pytest.raises(BackendError, match=r"refusing to send the API key in \$VILASR_TEST_KEY over plain http"):
            OpenAIBackend(url, "m", api_key_env="VILASR_TEST_KEY", allow_insecure_localhost=allow)


def test_without_a_key_plain_http_is_fine(monkeypatch):
    monkeypatch.delenv("VILASR_TEST_KEY", raising=False)
    OpenAIBackend("http://gpu-server.lan:8000/v1", "m", api_key_env="VILASR_TEST_KEY").close()
