"""The replay backend: assistant turns come from a recorded transcript, no model.

For tests, demos without weights, and re-running recorded sessions through the
same loop (the tool still parses, draws and answers exactly as live).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Sequence

from vilasr_ros.reasoning.backend import (
    Backend,
    BackendError,
    ContentPart,
    Generation,
    SamplingParams,
    Session,
    TextCallback,
)


def load_transcript(path: str | Path) -> list[str]:
    """A transcript file: a JSON list of assistant turns (strings), or an object with a ``turns`` list.

    ``result.json`` written by ``vilasr-ros reason`` is accepted too (its ``turns[*].text``).
    """
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise BackendError(f"cannot read transcript {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise BackendError(f"transcript {path} is not valid JSON: {error}") from error
    turns = document.get("turns") if isinstance(document, dict) else document
    if isinstance(turns, list) and all(isinstance(turn, dict) and "text" in turn for turn in turns):
        turns = [turn["text"] for turn in turns]
    if not isinstance(turns, list) or not turns or not all(isinstance(turn, str) for turn in turns):
        raise BackendError(f"transcript {path} must be a non-empty JSON list of strings (the assistant turns)")
    return turns


class ReplayBackend(Backend):
    """Every session replays the same assistant turns, in order."""

    name = "replay"

    def __init__(self, turns: Sequence[str]) -> None:
        if not turns:
            raise BackendError("a replay transcript needs at least one turn")
        self.turns = list(turns)

    @classmethod
    def from_file(cls, path: str | Path) -> ReplayBackend:
        return cls(load_transcript(path))

    def start(self, system_prompt: str) -> Session:
        return ReplaySession(self.turns)


class ReplaySession(Session):
    """Replays turns; user turns are accepted and ignored."""

    def __init__(self, turns: list[str]) -> None:
        super().__init__()
        self._turns = turns
        self._next = 0

    def add_user(self, content: Sequence[ContentPart]) -> None:
        pass

    def add_assistant(self, text: str) -> None:
        self._next += 1

    def generate(
        self,
        sampling: SamplingParams,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        if cancel is not None and cancel.is_set():
            return Generation(text="", finished=False, cancelled=True)
        if self._next >= len(self._turns):
            raise BackendError(f"the replay transcript has only {len(self._turns)} turns; turn {self._next + 1} was asked for")
        text = self._turns[self._next]
        self._next += 1
        self.work.model_calls += 1
        if on_text:
            on_text(text)
        return Generation(text=text, finished=True)
