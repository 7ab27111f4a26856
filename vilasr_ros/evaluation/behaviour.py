"""What a query's assistant turns show beyond the answer: drawings, revisions (the paper's reflection), format.

All three read the turn texts only (plus, for revisions, which keyframe each
image index shows), so they apply to live runs, replays and recorded
transcripts alike.

- Drawings: the Object Mapper boxes and Path Tracer lines the turns hold
  (every item that parses, whether or not its index names an image).
- Revisions: a tool item whose label (per kind, case- and space-insensitive)
  was already drawn on the same keyframe in an EARLIER turn: the model looked
  at its drawing and redrew it, the "reflection" behaviour the ViLaSR paper
  counts. Drawing the same label on another keyframe is another view, not a
  revision; repeating a label within one turn is not one either.
- Format validity, the reference's required output format: every turn is
  ``<think> ... </think> Action: <Object Mapper|Path Tracer|Answer>``; every
  turn but the last is a tool call with at least one fenced json block, every
  block and item of which parses, and holds no ``<answer>``; the last turn is
  ``Action: Answer`` with exactly one ``<answer> ... </answer>`` and no json
  block. A query that stopped without answering therefore never has a valid
  format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from vilasr_ros.reasoning import protocol

_HEAD = re.compile(r"^\s*<think>.*?</think>\s*Action:\s*(Object Mapper|Path Tracer|Answer)\b", re.DOTALL)
_FENCED_JSON = re.compile(r"```json\s*\n(.*?)```", re.DOTALL)
_ANSWER = re.compile(r"<answer>.*?</answer>", re.DOTALL)


def drawing_counts(turns: Sequence[str]) -> tuple[int, int]:
    """(boxes, lines) the turns draw: parsed Object Mapper and Path Tracer items."""
    boxes = lines = 0
    for text in turns:
        for item in protocol.parse_turn(text).items:
            if isinstance(item, protocol.BoxCall):
                boxes += 1
            else:
                lines += 1
    return boxes, lines


def count_revisions(turns: Sequence[str], source_of: Callable[[int], int | None] = lambda index: index) -> int:
    """Tool items that redraw a label drawn on the same keyframe in an earlier turn.

    ``source_of`` maps a conversation image index to the keyframe it shows
    (``ConversationImage.source_index``); None for an index that names no image
    (such items are not counted).
    """
    drawn: set[tuple[str, int, str]] = set()
    revisions = 0
    for text in turns:
        this_turn: set[tuple[str, int, str]] = set()
        for item in protocol.parse_turn(text).items:
            source = source_of(item.index)
            if source is None:
                continue
            key = (
                "box" if isinstance(item, protocol.BoxCall) else "line",
                source,
                " ".join(item.label.lower().split()),
            )
            if key in drawn:
                revisions += 1
            this_turn.add(key)
        drawn |= this_turn
    return revisions


def format_problems(turns: Sequence[str]) -> list[str]:
    """What breaks the required output format (empty: valid); see the module docstring for the rules."""
    if not turns:
        return ["no assistant turn"]
    problems = []
    for number, text in enumerate(turns, start=1):
        last = number == len(turns)
        head = _HEAD.match(text)
        answers = len(_ANSWER.findall(text))
        blocks = len(_FENCED_JSON.findall(text))
        if head is None:
            problems.append(f"turn {number}: does not start '<think> ... </think> Action: <tool or Answer>'")
        if not last:
            if answers:
                problems.append(f"turn {number}: an <answer> before the last turn")
            if head is not None and head.group(1) == protocol.ANSWER:
                problems.append(f"turn {number}: 'Action: Answer' before the last turn")
            if not blocks:
                problems.append(f"turn {number}: a tool turn without a json block")
            parsed = protocol.parse_turn(text)
            problems += [f"turn {number}: {problem}" for problem in [*parsed.problems, *parsed.invalid]]
        else:
            if head is not None and head.group(1) != protocol.ANSWER:
                problems.append(f"turn {number}: the last turn is not 'Action: Answer'")
            if answers != 1:
                problems.append(f"turn {number}: the last turn holds {answers} <answer> blocks, not 1")
            if blocks:
                problems.append(f"turn {number}: a json block in the answer turn")
    return problems
