"""The OpenAI-compatible backend: the model runs on a server (vLLM, SGLang, ``transformers serve``).

A fleet of robots can share one GPU server this way. The server keeps no
conversation state, so every request re-sends the whole conversation (vLLM's
and SGLang's prefix caches hide most of the repeated prefill); images travel as
base64 PNG (lossless) or JPEG (a fraction of the bytes) ``data:`` URLs, encoded once
when their user turn is added.

A bad server delays only the query that meets it. Each request runs on its own
daemon thread while the query's thread follows its chunks: the query returns as
soon as it is cancelled or its deadline passes (the stream is then closed from
the query's thread), when no chunk arrived for ``request_timeout`` seconds (a
hung server, or one that sends only SSE keep-alive comments), or when a turn
grows past ``max_new_tokens x MAX_CHARS_PER_TOKEN`` characters. Retries (the
client's own are off) back off 0.5, 1, 2, ... s and never start past the
deadline. An abandoned request's thread ends by itself within its read timeout
(``request_timeout``, at most the time left when it started).

An API key only travels over https, unless ``allow_insecure_localhost`` lets it
go over plain http to this machine (``localhost``, ``127.0.0.1``, ``::1``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import queue
import re
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import openai
from openai.types.chat import ChatCompletionChunk

from vilasr_ros.config import BackendConfig
from vilasr_ros.reasoning.backend import (
    Backend,
    BackendError,
    ChatImage,
    ContentPart,
    Generation,
    SamplingParams,
    Session,
    StopEvent,
    TextCallback,
)

_log = logging.getLogger(__name__)
DEADLINE_SLACK_S = 0.1  # a read failing this close to the query's deadline failed because of it

SAMPLING_EXTRAS = ("top_k", "min_p", "repetition_penalty")  # sampling fields beyond the OpenAI schema
NO_API_KEY = "EMPTY"  # what servers without authentication accept (vLLM's documented placeholder)
_MESSAGE_LIMIT = 300  # characters of a server's error message quoted in a BackendError
IMAGE_FORMATS = ("png", "jpeg")
_IMAGE_LIMIT = re.compile(r"At most (\d+) image\(s\)")  # vLLM's refusal of more images than --limit-mm-per-prompt
MAX_CHARS_PER_TOKEN = 16  # a turn past max_new_tokens x this many characters is cut (the server ignored max_tokens)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
RETRY_STATUSES = (408, 409, 429)  # and every 5xx
_POLL_S = 0.05  # how often the query's thread looks at its cancel event and deadline while a request runs
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0


class OpenAIBackend(Backend):
    """Sessions on an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``url`` is the API base (``http://host:8000/v1``), ``model`` the name the
    server serves the model under. The API key is read from the environment
    variable ``api_key_env`` (unset: ``EMPTY``, which servers without
    authentication accept). Each request waits at most ``request_timeout``
    seconds for each chunk (the headers, then every streamed chunk; keep-alive
    comments do not count) and is retried up to ``max_retries`` times on
    connection errors, timeouts, 408, 409, 429 and 5xx, never past the query's
    deadline. Images are sent as ``image_format`` (``png`` or ``jpeg`` at
    ``jpeg_quality``, 1-100). A key is refused (:class:`BackendError`) over plain
    http unless ``allow_insecure_localhost`` and the server is on this machine.
    """

    name = "openai"

    def __init__(
        self,
        url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        request_timeout: float = 120.0,
        max_retries: int = 2,
        image_format: str = "png",
        jpeg_quality: int = 90,
        allow_insecure_localhost: bool = False,
    ) -> None:
        if image_format not in IMAGE_FORMATS:
            raise BackendError(f"image_format must be png or jpeg, got {image_format!r}")
        if not 1 <= jpeg_quality <= 100:
            raise BackendError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
        self.image_format = image_format
        self.jpeg_quality = jpeg_quality
        self.url = url
        self.model = model
        self.api_key_env = api_key_env
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.sampling_extras = True  # send SAMPLING_EXTRAS until the server refuses them
        api_key = os.environ.get(api_key_env)
        if api_key:
            _check_key_transport(url, api_key_env, allow_insecure_localhost)
        self._client = openai.OpenAI(
            base_url=url,
            api_key=api_key or NO_API_KEY,
            timeout=request_timeout,
            max_retries=0,  # retried here, within the query's deadline
        )

    def status(self) -> dict[str, str]:
        """The server and the model name it serves; the model runs there."""
        return {"device": "remote (openai server)", "server": self.url, "model": self.model}

    @classmethod
    def from_config(cls, config: BackendConfig) -> OpenAIBackend:
        """The backend described by the node's ``backend.*`` parameters."""
        return cls(
            url=config.url,
            model=config.model,
            api_key_env=config.api_key_env,
            request_timeout=config.request_timeout,
            max_retries=config.max_retries,
            image_format=config.image_format,
            jpeg_quality=config.jpeg_quality,
            allow_insecure_localhost=config.allow_insecure_localhost,
        )

    def start(self, system_prompt: str) -> OpenAISession:
        return OpenAISession(self, system_prompt)

    def close(self) -> None:
        self._client.close()

    def stream(
        self, messages: list[dict[str, Any]], sampling: SamplingParams, timeout: float | None = None
    ) -> openai.Stream[ChatCompletionChunk]:
        """Open a streamed chat completion of ``messages``, waiting at most ``timeout`` s per read
        (default ``request_timeout``); the client's errors pass through (see :meth:`error`)."""
        options: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_new_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.sampling_extras:
            # Not in the OpenAI schema but read by vLLM and SGLang: without them a server fills
            # them from the model's generation_config.json (for Qwen2.5-VL: greedy, with a repetition penalty).
            options["extra_body"] = {
                "top_k": sampling.top_k,
                "min_p": sampling.min_p,
                "repetition_penalty": sampling.repetition_penalty,
            }
        if sampling.seed is not None:
            options["seed"] = sampling.seed
        try:
            return self._client.chat.completions.create(**options, timeout=timeout or self.request_timeout)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
            if not (self.sampling_extras and any(name in _server_message(error) for name in SAMPLING_EXTRAS)):
                raise
        # A strict server (transformers serve, OpenAI itself) refuses the extra fields: it cannot take them,
        # so it samples with its own defaults for them. Say so once, then stop sending them.
        self.sampling_extras = False
        _log.warning(
            "the server at %s refuses %s; sampling continues without them (the server's own defaults apply)",
            self.url,
            ", ".join(SAMPLING_EXTRAS),
        )
        options.pop("extra_body")
        return self._client.chat.completions.create(**options, timeout=timeout or self.request_timeout)

    def error(self, error: Exception, attempts: int = 1) -> BackendError:
        """Turn a client or protocol failure into a :class:`BackendError` that says what to do."""
        where = f"the OpenAI-compatible server at {self.url}"
        retried = f" (tried {attempts} times)" if attempts > 1 else ""
        if isinstance(error, (openai.APITimeoutError, _NoData)):
            return BackendError(
                f"cannot reach {where}: no answer within {self.request_timeout:g} s{retried}; is it running "
                "and not overloaded? (backend.request_timeout sets the wait)"
            )
        if isinstance(error, openai.APIConnectionError):
            reason = str(error.__cause__ or error) or type(error.__cause__ or error).__name__
            return BackendError(f"cannot reach {where} ({reason}){retried}; is it running? (check backend.url)")
        if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
            key_state = "set" if os.environ.get(self.api_key_env) else "unset"
            return BackendError(
                f"{where} refused the request (HTTP {error.status_code}: {_server_message(error)}): "
                f"check the API key in ${self.api_key_env} (currently {key_state})"
            )
        if isinstance(error, openai.NotFoundError):
            return BackendError(
                f"{where} does not serve model {self.model!r} (HTTP 404: {_server_message(error)}): check "
                "backend.model against the server's /v1/models, and that backend.url ends with /v1"
            )
        limit = _IMAGE_LIMIT.search(_server_message(error)) if isinstance(error, openai.APIError) else None
        if limit is not None:
            return BackendError(
                f"{where} takes at most {limit.group(1)} image(s) per prompt ({_server_message(error)}), and a ViLaSR "
                "conversation holds up to engine.max_images: start vLLM with --limit-mm-per-prompt "
                "'{\"image\": N}' with N >= engine.max_images (or lower engine.max_images)"
            )
        if isinstance(error, openai.APIStatusError):
            return BackendError(f"{where} answered HTTP {error.status_code}: {_server_message(error)}")
        if isinstance(error, openai.APIError) and error.body is not None:  # an error event inside the stream
            return BackendError(f"{where} reported an error while streaming: {_server_message(error)}")
        return BackendError(f"malformed response from {where}: {_clip(str(error)) or type(error).__name__}")


class OpenAISession(Session):
    """A conversation kept as chat messages and re-sent whole with every request.

    Work counters: ``model_calls`` counts requests; ``prefill_tokens`` and
    ``decoded_tokens`` add up the server's reported ``usage`` (prompt tokens
    include every re-sent turn, since the server is asked for all of them; a
    server that reports no usage, or a cancelled stream, adds nothing).
    ``vision_patches`` is not observable remotely and stays 0; ``minimum`` is
    unknown for a remote server and stays zero.
    """

    def __init__(self, backend: OpenAIBackend, system_prompt: str) -> None:
        super().__init__()
        self._backend = backend
        self._messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The conversation as sent to the server (images as ``data:`` URLs)."""
        return self._messages

    def add_user(self, content: Sequence[ContentPart]) -> None:
        backend = self._backend
        parts = [
            _image_part(part, backend.image_format, backend.jpeg_quality)
            if isinstance(part, ChatImage)
            else _text_part(part)
            for part in content
        ]
        self._messages.append({"role": "user", "content": parts})

    def add_assistant(self, text: str) -> None:
        self._messages.append({"role": "assistant", "content": text})

    def generate(
        self,
        sampling: SamplingParams,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        stop = cancel if isinstance(cancel, StopEvent) else StopEvent(cancel or threading.Event(), None)
        if stop.is_set():
            return Generation(text="", finished=False, cancelled=True)
        backend = self._backend
        attempt = 0
        while True:
            attempt += 1
            self.work.model_calls += 1
            request = _Request(backend, self._messages, sampling, stop.remaining())
            try:
                max_chars = sampling.max_new_tokens * MAX_CHARS_PER_TOKEN
                reply = request.follow(stop, on_text, backend.request_timeout, max_chars)
                break
            except _Retryable as failure:
                backoff = min(_FIRST_BACKOFF_S * 2 ** (attempt - 1), _MAX_BACKOFF_S)
                remaining = stop.remaining()
                out_of_time = remaining is not None and remaining <= backoff
                if attempt > backend.max_retries or out_of_time:
                    raise backend.error(failure.error, attempt) from failure.error
                if stop.wait(backoff):
                    return Generation(text="", finished=False, cancelled=True)
            except (openai.OpenAIError, _NoData) as error:
                raise backend.error(error, attempt) from error
            except ValueError as error:
                raise backend.error(ValueError(f"a stream chunk is not JSON ({error})"), attempt) from error
        if not reply.cancelled and not reply.saw_choice:
            raise backend.error(ValueError("the stream held no choices (is this a chat completions endpoint?)"))
        if not reply.cancelled and not reply.cut and reply.finish_reason is None:
            raise backend.error(ValueError("the stream ended without a finish_reason (cut off?)"))
        num_tokens = self._count(reply.usage)
        text = "".join(reply.pieces)
        self._messages.append({"role": "assistant", "content": text})
        finished = reply.finish_reason == "stop" and not reply.cut
        return Generation(text=text, finished=finished, cancelled=reply.cancelled, num_tokens=num_tokens)

    def close(self) -> None:
        self._messages = self._messages[:1]

    def _count(self, usage: Any) -> int:
        """Add the server's reported usage to the work counters; return the completion tokens (0 if unknown)."""
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion_tokens = getattr(usage, "completion_tokens", None)
        if isinstance(prompt_tokens, int):
            self.work.prefill_tokens += prompt_tokens
        if isinstance(completion_tokens, int):
            self.work.decoded_tokens += completion_tokens
            return completion_tokens
        return 0


class _NoData(Exception):
    """No chunk within ``request_timeout`` (the server hangs, or sends only keep-alive comments)."""


@dataclass
class _Retryable(Exception):
    """A request failed before its first chunk in a way worth retrying."""

    error: Exception


@dataclass
class _Reply:
    """What one streamed request delivered."""

    pieces: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Any = None
    saw_choice: bool = False
    cancelled: bool = False
    cut: bool = False  # stopped at the character cap


class _Request:
    """One streamed request, read on its own daemon thread; :meth:`follow` runs on the query's thread."""

    def __init__(
        self, backend: OpenAIBackend, messages: list[dict[str, Any]], sampling: SamplingParams, remaining: float | None
    ) -> None:
        timeout = backend.request_timeout if remaining is None else max(0.1, min(backend.request_timeout, remaining))
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._abandoned = threading.Event()
        self._stream: openai.Stream[ChatCompletionChunk] | None = None
        self._lock = threading.Lock()
        args = (backend, list(messages), sampling, timeout)
        threading.Thread(target=self._read, args=args, name="vilasr-openai-request", daemon=True).start()

    def follow(self, stop: StopEvent, on_text: TextCallback | None, chunk_timeout: float, max_chars: int) -> _Reply:
        """The request's chunks until it ends, ``stop`` is set, no chunk came for ``chunk_timeout`` s (raises
        :class:`_NoData`), or the text passes ``max_chars``. Raises the client's errors."""
        reply = _Reply()
        chars = 0
        last_data = time.monotonic()
        try:
            while True:
                if stop.is_set():
                    reply.cancelled = True
                    return reply
                try:
                    kind, value = self._events.get(timeout=_POLL_S)
                except queue.Empty:
                    if time.monotonic() - last_data >= chunk_timeout:
                        if _at_deadline(stop):  # the read timeout was the query's deadline
                            reply.cancelled = True
                            return reply
                        raise _NoData(f"no data within {chunk_timeout:g} s") from None
                    continue
                if kind == "end":
                    return reply
                if kind == "error":
                    if _at_deadline(stop):  # a read that timed out with the query's deadline
                        reply.cancelled = True
                        return reply
                    if _retryable(value) and not reply.pieces and not reply.saw_choice:
                        raise _Retryable(value)
                    raise value
                last_data = time.monotonic()
                if kind == "opened":
                    continue
                reply.usage = getattr(value, "usage", None) or reply.usage
                choices = getattr(value, "choices", None)
                if not isinstance(choices, list):
                    raise ValueError(f"a stream chunk without a choices list: {_clip(repr(value))}")
                for choice in choices:
                    reply.saw_choice = True
                    text = getattr(getattr(choice, "delta", None), "content", None)
                    if text:
                        text = text[: max(0, max_chars - chars)]
                        chars += len(text)
                        reply.pieces.append(text)
                        if on_text is not None and text:
                            on_text(text)
                    reply.finish_reason = getattr(choice, "finish_reason", None) or reply.finish_reason
                if chars >= max_chars:
                    reply.cut = True
                    return reply
        finally:
            self._abandon()

    def _read(
        self, backend: OpenAIBackend, messages: list[dict[str, Any]], sampling: SamplingParams, timeout: float
    ) -> None:
        try:
            stream = backend.stream(messages, sampling, timeout)
            with self._lock:
                self._stream = stream
                abandoned = self._abandoned.is_set()
            if abandoned:
                stream.close()
                return
            self._events.put(("opened", None))
            for chunk in stream:
                if self._abandoned.is_set():
                    return
                self._events.put(("chunk", chunk))
            self._events.put(("end", None))
        except Exception as error:  # everything goes to the query's thread (ignored once abandoned)
            self._events.put(("error", error))

    def _abandon(self) -> None:
        """Stop reading: close the stream (from this thread: a blocked read fails at its next byte)."""
        with self._lock:
            self._abandoned.set()
            stream = self._stream
        if stream is not None:
            with contextlib.suppress(Exception):  # the reader thread may be closing it too; it is gone either way
                stream.close()


def _retryable(error: Exception) -> bool:
    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in RETRY_STATUSES or error.status_code >= 500
    return False


def _check_key_transport(url: str, api_key_env: str, allow_insecure_localhost: bool) -> None:
    """Raise :class:`BackendError` unless the API key in ``$api_key_env`` may be sent to ``url``."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    local = parts.hostname in LOCAL_HOSTS
    if allow_insecure_localhost and local:
        return
    fix = (
        "set backend.allow_insecure_localhost: true (the server is on this machine)"
        if local
        else "plain http is only allowed to this machine"
    )
    raise BackendError(
        f"refusing to send the API key in ${api_key_env} over plain http to {url}: use an https:// backend.url, "
        f"unset {api_key_env} if the server needs no key, or {fix}"
    )


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def _image_part(image: ChatImage, image_format: str = "png", jpeg_quality: int = 90) -> dict[str, Any]:
    """An RGB uint8 image as a base64 PNG or JPEG ``image_url`` part."""
    pixels = image.pixels
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"image {image.index} must be RGB uint8 of shape (h, w, 3), got {pixels.dtype} {pixels.shape}")
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    if image_format == "jpeg":
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    else:
        ok, encoded = cv2.imencode(".png", bgr)
    if not ok:
        raise BackendError(f"cannot {image_format.upper()}-encode image {image.index} ({image.width}x{image.height})")
    url = f"data:image/{image_format};base64," + base64.b64encode(encoded.tobytes()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}


def _server_message(error: openai.APIError) -> str:
    """The server's own explanation from an error body (OpenAI, vLLM and FastAPI styles)."""
    body = error.body
    if isinstance(body, Mapping):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("message")
            if isinstance(value, str) and value.strip():
                return _clip(value)
        return _clip(json.dumps(body, default=str))
    if isinstance(body, str) and body.strip():
        return _clip(body)
    response = getattr(error, "response", None)
    return (response.reason_phrase if response is not None else "") or _clip(error.message) or "no message"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _at_deadline(stop: StopEvent) -> bool:
    """The query is over, or its deadline is so near that a read timed out because of it."""
    remaining = stop.remaining()
    return stop.is_set() or (remaining is not None and remaining < DEADLINE_SLACK_S)
