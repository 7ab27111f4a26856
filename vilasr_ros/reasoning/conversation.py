"""The conversation exactly as the model reads it: the one place that renders its text.

ViLaSR's reference loop keeps the conversation as one string in Qwen2.5-VL's
chat template (``<|im_start|>role\\n ... <|im_end|>\\n``, each image one
``<|vision_start|><|image_pad|><|vision_end|>``) and appends each tool-result
turn as ``<|im_end|>\\n<|im_start|>user\\n{pads}\\n{prompt}\\n<|im_end|>\\n<|im_start|>assistant\\n``
after the model's text. That framing is a chat-template user turn whose text
parts carry the newlines (see :mod:`vilasr_ros.reasoning.protocol`), so one
renderer serves every backend: the engine records :attr:`Conversation.text`
(``conversation_text`` in result.json), the transformers backend tokenises the
pieces of :func:`render_turn` (images expanded to their pads), and an
OpenAI-compatible server renders the same messages with the same template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"
TURN_END = IM_END + "\n"

SYSTEM = "system"
USER = "user"
ASSISTANT = "assistant"

Part = TypeVar("Part")


def turn_start(role: str) -> str:
    """The text that opens a turn of ``role`` (for ``assistant`` it is also the generation prompt)."""
    return f"{IM_START}{role}\n"


def render_turn(role: str, parts: Sequence[Part | str], closed: bool = True) -> list[Part | str]:
    """A whole turn as the chat template renders it: template text as str, images passed through.

    Text parts are used verbatim (never stripped or joined with separators);
    ``closed=False`` leaves the turn open (the assistant turn being written).
    """
    pieces: list[Part | str] = [turn_start(role), *parts]
    if closed:
        pieces.append(TURN_END)
    return pieces


def pieces_text(pieces: Sequence[object]) -> str:
    """Rendered pieces as text, every non-text piece (an image) as one :data:`IMAGE_PLACEHOLDER`."""
    return "".join(piece if isinstance(piece, str) else IMAGE_PLACEHOLDER for piece in pieces)


@dataclass
class Turn:
    """One message of the conversation: its role and its parts (text, or image references)."""

    role: str
    parts: list[object] = field(default_factory=list)


@dataclass
class Conversation:
    """The messages of one query, in order, starting with the system prompt."""

    system_prompt: str
    turns: list[Turn] = field(default_factory=list)

    def add_user(self, parts: Sequence[object]) -> None:
        """Append a user turn (text parts and image references, in order)."""
        self.turns.append(Turn(USER, list(parts)))

    def add_assistant(self, text: str) -> None:
        """Append the model's turn (its text as decoded, without the end-of-turn token)."""
        self.turns.append(Turn(ASSISTANT, [text]))

    def pieces(self) -> list[object]:
        """Every turn rendered; a last assistant turn is left open (no end token after its text)."""
        pieces: list[object] = render_turn(SYSTEM, [self.system_prompt])
        for number, turn in enumerate(self.turns, start=1):
            last_assistant = number == len(self.turns) and turn.role == ASSISTANT
            pieces += render_turn(turn.role, turn.parts, closed=not last_assistant)
        return pieces

    @property
    def text(self) -> str:
        """The whole conversation as the model reads it, each image as one placeholder."""
        return pieces_text(self.pieces())
