"""The OpenAI-compatible backend: the model runs on a server (vLLM, SGLang, ``transformers serve``).

A fleet of robots can share one GPU server this way. The server keeps no
conversation state, so every request re-sends the whole conversation (vLLM's
and SGLang's prefix caches hide most of the repeated prefill); images travel as
base64 PNG (lossless) or JPEG (a fraction of the bytes) ``data:`` URLs, encoded once
when their user turn is added.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
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
    TextCallback,
)

_log = logging.getLogger(__name__)

SAMPLING_EXTRAS = ("top_k", "min_p", "repetition_penalty")  # sampling fields beyond the OpenAI schema
NO_API_KEY = "EMPTY"  # what servers without authentication accept (vLLM's documented placeholder)
_MESSAGE_LIMIT = 300  # characters of a server's error message quoted in a BackendError
IMAGE_FORMATS = ("png", "jpeg")
_IMAGE_LIMIT = re.compile(r"At most (\d+) image\(s\)")  # vLLM's refusal of more images than --limit-mm-per-prompt


class OpenAIBackend(Backend):
    """Sessions on an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    ``url`` is the API base (``http://host:8000/v1``), ``model`` the name the
    server serves the model under. The API key is read from the environment
    variable ``api_key_env`` (unset: ``EMPTY``, which servers without
    authentication accept). Each request waits at most ``request_timeout``
    seconds for the server (per read while streaming) and is retried up to
    ``max_retries`` times on connection errors, timeouts, 408, 409, 429 and 5xx. Images are sent
    as ``image_format`` (``png`` or ``jpeg`` at ``jpeg_quality``, 1-100).
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
        self._client = openai.OpenAI(
            base_url=url,
            api_key=os.environ.get(api_key_env) or NO_API_KEY,
            timeout=request_timeout,
            max_retries=max_retries,
        )

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
        )

    def start(self, system_prompt: str) -> OpenAISession:
        return OpenAISession(self, system_prompt)

    def close(self) -> None:
        self._client.close()

    def stream(self, messages: list[dict[str, Any]], sampling: SamplingParams) -> openai.Stream[ChatCompletionChunk]:
        """Open a streamed chat completion of ``messages`` (server failures become :class:`BackendError`)."""
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
            return self._client.chat.completions.create(**options)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as error:
            if not (self.sampling_extras and any(name in _server_message(error) for name in SAMPLING_EXTRAS)):
                raise self.error(error) from error
        except openai.OpenAIError as error:
            raise self.error(error) from error
        # A strict server (transformers serve, OpenAI itself) refuses the extra fields: it cannot take them,
        # so it samples with its own defaults for them. Say so once, then stop sending them.
        self.sampling_extras = False
        _log.warning(
            "the server at %s refuses %s; sampling continues without them (the server's own defaults apply)",
            self.url, ", ".join(SAMPLING_EXTRAS),
        )
        options.pop("extra_body")
        try:
            return self._client.chat.completions.create(**options)
        except openai.OpenAIError as error:
            raise self.error(error) from error

    def error(self, error: Exception) -> BackendError:
        """Turn a client or protocol failure into a :class:`BackendError` that says what to do."""
        where = f"the OpenAI-compatible server at {self.url}"
        retried = f" (tried {self.max_retries + 1} times)" if self.max_retries else ""
        if isinstance(error, openai.APITimeoutError):
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
            _image_part(part, backend.image_format, backend.jpeg_quality) if isinstance(part, ChatImage) else _text_part(part)
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
        if cancel is not None and cancel.is_set():
            return Generation(text="", finished=False, cancelled=True)
        stream = self._backend.stream(self._messages, sampling)
        self.work.model_calls += 1
        pieces: list[str] = []
        finish_reason: str | None = None
        usage: Any = None
        saw_choice = cancelled = False
        with stream:
            chunks = iter(stream)
            while True:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                try:
                    chunk = next(chunks)
                except StopIteration:
                    break
                except openai.OpenAIError as error:
                    raise self._backend.error(error) from error
                except ValueError as error:
                    raise self._backend.error(ValueError(f"a stream chunk is not JSON ({error})")) from error
                usage = getattr(chunk, "usage", None) or usage
                choices = getattr(chunk, "choices", None)
                if not isinstance(choices, list):
                    malformed = ValueError(f"a stream chunk without a choices list: {_clip(repr(chunk))}")
                    raise self._backend.error(malformed)
                for choice in choices:
                    saw_choice = True
                    text = getattr(getattr(choice, "delta", None), "content", None)
                    if text:
                        pieces.append(text)
                        if on_text is not None:
                            on_text(text)
                    finish_reason = getattr(choice, "finish_reason", None) or finish_reason
        if not cancelled and not saw_choice:
            raise self._backend.error(ValueError("the stream held no choices (is this a chat completions endpoint?)"))
        if not cancelled and finish_reason is None:
            raise self._backend.error(ValueError("the stream ended without a finish_reason (cut off?)"))
        num_tokens = self._count(usage)
        text = "".join(pieces)
        self._messages.append({"role": "assistant", "content": text})
        return Generation(text=text, finished=finish_reason == "stop", cancelled=cancelled, num_tokens=num_tokens)

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
