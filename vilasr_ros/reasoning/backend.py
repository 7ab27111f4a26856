"""The small interface every model backend implements.

A backend opens a :class:`Session` per query. A session is a growing chat
conversation: the loop appends user turns (text and images) and either lets
the model generate the next assistant turn, or, for teacher forcing and replay,
appends a recorded assistant turn as if the model had written it. Backends that
can (in-process transformers) keep their caches across turns so that every
image is encoded once and every token prefilled once; all of them count the
work they did in :class:`WorkCounters`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

import numpy as np


class BackendError(RuntimeError):
    """The model backend failed (weights missing, out of memory, server down, ...)."""


@dataclass(frozen=True)
class SamplingParams:
    """How one assistant turn is sampled: the reference's vLLM ``SamplingParams`` (temperature 0.75,
    top_p 0.9, and vLLM's defaults for the rest: no top-k, no min-p, no repetition penalty).

    ``top_k``, ``min_p`` and ``repetition_penalty`` are sent to servers explicitly so that
    they cannot fill them from the model's generation_config.json; the in-process
    sampler implements exactly these defaults (it has no top-k, min-p or penalty).
    """

    temperature: float = 0.75
    top_p: float = 0.9
    max_new_tokens: int = 2048
    seed: int | None = None
    top_k: int = -1  # -1: off (vLLM's convention)
    min_p: float = 0.0
    repetition_penalty: float = 1.0


@dataclass(frozen=True)
class ChatImage:
    """An image entering the conversation, already resized to what the prompt announced.

    ``pixels`` is RGB uint8 of shape (height, width, 3), both sides multiples of 28.
    """

    index: int
    pixels: np.ndarray

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


ContentPart = Union[str, ChatImage]


@dataclass
class WorkCounters:
    """Work a session did, for benchmarks and the result's ``work`` section."""

    prefill_tokens: int = 0  # prompt tokens run through the language model (forced turns included)
    vision_patches: int = 0  # image patches run through the vision encoder
    decoded_tokens: int = 0  # tokens sampled by the model
    model_calls: int = 0  # forward passes / server requests

    def as_dict(self) -> dict[str, int]:
        return {
            "prefill_tokens": self.prefill_tokens,
            "vision_patches": self.vision_patches,
            "decoded_tokens": self.decoded_tokens,
            "model_calls": self.model_calls,
        }


@dataclass
class Generation:
    """One generated assistant turn."""

    text: str
    finished: bool  # ended at the end-of-turn token (False: max_new_tokens or cancelled)
    cancelled: bool = False
    num_tokens: int = 0


@dataclass
class MinimumWork:
    """The least work the conversation so far needs (what an ideal incremental backend does)."""

    prefill_tokens: int = 0
    vision_patches: int = 0


TextCallback = Callable[[str], None]


class StopEvent(threading.Event):
    """The ``cancel`` a session's :meth:`Session.generate` gets from the engine: set when the query is
    cancelled, and read as set once ``deadline`` (``time.monotonic()``) has passed.

    Backends that block (an HTTP request) bound their waits by :meth:`remaining` and stop at once
    when :meth:`is_set` turns true, so that a query never outlives its deadline.
    """

    def __init__(self, cancel: threading.Event, deadline: float | None) -> None:
        super().__init__()
        self.cancel = cancel
        self.deadline = deadline

    def is_set(self) -> bool:
        return self.cancel.is_set() or self.expired

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def remaining(self) -> float | None:
        """Seconds left before the deadline (0 once passed); None without a deadline."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` s (and never past the deadline) for the query to be cancelled or expire."""
        remaining = self.remaining()
        if remaining is not None:
            timeout = remaining if timeout is None else min(timeout, remaining)
        self.cancel.wait(timeout)
        return self.is_set()


class Session(ABC):
    """One query's conversation with the model."""

    def __init__(self) -> None:
        self.work = WorkCounters()
        self.minimum = MinimumWork()

    @abstractmethod
    def add_user(self, content: Sequence[ContentPart]) -> None:
        """Append a user turn: text parts and images, in order."""

    @abstractmethod
    def generate(
        self,
        sampling: SamplingParams,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        """Let the model write the next assistant turn; it becomes part of the conversation.

        ``on_text`` receives text as it is decoded; ``cancel`` stops decoding
        between tokens (the partial turn is returned with ``cancelled=True``).
        """

    @abstractmethod
    def add_assistant(self, text: str) -> None:
        """Append a recorded assistant turn as if the model had written it (teacher forcing)."""

    def flush(self) -> None:
        """Run any queued work now (backends that prefill lazily); used at the end of teacher forcing."""

    def close(self) -> None:
        """Free per-query resources (caches)."""


class Backend(ABC):
    """A model that can hold conversations."""

    name: str = "backend"

    @abstractmethod
    def start(self, system_prompt: str) -> Session:
        """Open a session whose conversation starts with ``system_prompt``."""

    def status(self) -> dict[str, str]:
        """What diagnostics show about the backend besides its kind: its ``device`` (cpu, cuda:N, or what
        stands for one: "remote (openai server)", "none (replay)"), on a CUDA device
        ``GPU memory reserved MB``, a server; none by default (the diagnostics then say "unknown")."""
        return {}

    def close(self) -> None:
        """Free the model (and GPU memory)."""
