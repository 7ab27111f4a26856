"""The replay backend: assistant turns come from a recorded transcript, no model.

For tests, demos without weights, and re-running recorded sessions through the
same loop (the tool still parses, draws and answers exactly as live).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from vilasr_ros.reasoning.backend import (
    Backend,
    BackendError,
    ContentPart,
    Generation,
    SamplingParams,
    Session,
    TextCallback,
)

Script = dict  # question text -> assistant turns; the key "" is the default
PIECE_SECONDS = 0.02  # with a turn duration, text is streamed (and cancel checked) this often


def load_transcript(path: str | Path) -> list[str]:
    """A single transcript: a JSON list of assistant turns, an object with a ``turns`` list, or a
    ``result.json`` written by ``vilasr-ros reason`` (its ``turns[*].text``)."""
    script = load_script(path)
    if set(script) != {""}:
        raise BackendError(
            f"transcript {path} holds one transcript per question; a single list of turns is needed here"
        )
    return script[""]


def load_script(path: str | Path) -> Script:
    """Transcripts by question: a single transcript (used for every question), or an object
    ``{"by_question": {"question text": [turns], ...}, "default": [turns]}``; a session replays
    the transcript whose question text appears in its first user turn."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise BackendError(f"cannot read transcript {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise BackendError(f"transcript {path} is not valid JSON: {error}") from error
    if isinstance(document, dict) and "by_question" in document:
        entries = document["by_question"]
        if not isinstance(entries, dict) or not entries:
            raise BackendError(f"transcript {path}: by_question must map question texts to lists of turns")
        script = {question: _turns(path, turns) for question, turns in entries.items()}
        if "default" in document:
            script[""] = _turns(path, document["default"])
        return script
    return {"": _turns(path, document.get("turns") if isinstance(document, dict) else document)}


def _turns(path: str | Path, turns) -> list[str]:
    if isinstance(turns, list) and all(isinstance(turn, dict) and "text" in turn for turn in turns):
        turns = [turn["text"] for turn in turns]
    if not isinstance(turns, list) or not turns or not all(isinstance(turn, str) for turn in turns):
        raise BackendError(f"transcript {path} must be a non-empty JSON list of strings (the assistant turns)")
    return turns


class ReplayBackend(Backend):
    """Every session replays recorded assistant turns, in order (chosen by question when the script has several)."""

    name = "replay"

    def __init__(self, turns: Sequence[str] | Script, turn_seconds: float = 0.0) -> None:
        script = dict(turns) if isinstance(turns, dict) else {"": list(turns)}
        if not script or any(not entry for entry in script.values()):
            raise BackendError("a replay transcript needs at least one turn")
        self.script = script
        self.turn_seconds = turn_seconds

    @classmethod
    def from_file(cls, path: str | Path, turn_seconds: float = 0.0) -> ReplayBackend:
        return cls(load_script(path), turn_seconds)

    def start(self, system_prompt: str) -> Session:
        return ReplaySession(self.script, self.turn_seconds)

    def status(self) -> dict[str, str]:
        """No model runs anywhere: the device is none."""
        return {"device": "none (replay)"}


class ReplaySession(Session):
    """Replays turns; the first user turn picks the transcript, later user turns are ignored."""

    def __init__(self, script: Script, turn_seconds: float = 0.0) -> None:
        super().__init__()
        self._script = script
        self._turn_seconds = turn_seconds
        self._turns: list[str] | None = script[""] if set(script) == {""} else None
        self._next = 0

    def add_user(self, content: Sequence[ContentPart]) -> None:
        if self._turns is None:
            text = "".join(part for part in content if isinstance(part, str))
            matches = [question for question in self._script if question and question in text]
            if matches:
                self._turns = self._script[max(matches, key=len)]
            elif "" in self._script:
                self._turns = self._script[""]
            else:
                raise BackendError("the replay script has no transcript for this question and no default")

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
        turns = self._turns or []
        if self._next >= len(turns):
            raise BackendError(
                f"the replay transcript has only {len(turns)} turns; turn {self._next + 1} was asked for"
            )
        text = turns[self._next]
        self._next += 1
        self.work.model_calls += 1
        pieces = max(1, min(len(text), round(self._turn_seconds / PIECE_SECONDS))) if self._turn_seconds else 1
        size = -(-len(text) // pieces) if text else 1
        for start in range(0, max(len(text), 1), size):
            if self._turn_seconds:
                time.sleep(self._turn_seconds / pieces)
                if cancel is not None and cancel.is_set():
                    return Generation(text=text[:start], finished=False, cancelled=True)
            if on_text and text:
                on_text(text[start : start + size])
        return Generation(text=text, finished=True)
