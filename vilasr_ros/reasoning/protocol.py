"""The ViLaSR drawing protocol, exactly as the model was trained on it.

The prompt strings live in ``prompts/`` as data (copied byte for byte from the
authors' inference code, github AntResearchNLP/ViLaSR ``eval/infer.py``);
this module only assembles them. The README's "Fidelity" section lists
where the loop differs from that reference, and why.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from vilasr_ros.core.question import AnswerType

OBJECT_MAPPER = "Object Mapper"
PATH_TRACER = "Path Tracer"
ANSWER = "Answer"

MULTIPLE_CHOICE_SUFFIX = "\nAnswer with the option's letter from the given choices directly."
NUMERIC_SUFFIX = "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14)."
# "quesntion" is the training data's spelling: keep it.
VIDEO_PREFIX = (
    "These are frames from a video, numbered from 1 to {n} in sequence. "
    "That is, the index of each image is 1, 2, 3, ..., {n}.\n\nAnswer the quesntion with appropriate tools:\n"
)
CONTINUE_TEXT = " Continue your reasoning. After each tool use, critically evaluate the visualization and adjust if needed:"
FINAL_TEXT = (
    " Then, you can not invoke the Object Mapper or Path Tracer tool. "
    "Please answer the initial question and structure your response as required:"
)

_FENCED_JSON = re.compile(r"```json\s*\n(.*?)```", re.DOTALL)
_ACTION = re.compile(r"Action:\s*(Object Mapper|Path Tracer|Answer)\b")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


def _prompt_file(name: str) -> str:
    return resources.files("vilasr_ros.reasoning").joinpath("prompts", name).read_text(encoding="utf-8")


SYSTEM_PROMPT_TEMPLATE = _prompt_file("system_prompt.txt")
QUESTION_TEMPLATE = _prompt_file("question_template.txt")


def system_prompt(width: int, height: int) -> str:
    """The system message for a first image of ``width`` x ``height`` (after resizing)."""
    return SYSTEM_PROMPT_TEMPLATE.replace("{width}", str(width)).replace("{height}", str(height))


def question_body(question: str, answer_type: AnswerType, options: tuple[str, ...] = ()) -> str:
    """The question with its options and the answer-type suffix of the reference evaluation."""
    if answer_type is AnswerType.MULTIPLE_CHOICE:
        return question + "".join(f"\n{option}" for option in options) + MULTIPLE_CHOICE_SUFFIX
    if answer_type is AnswerType.NUMERIC:
        return question + NUMERIC_SUFFIX
    return question


def question_text(body: str, num_images: int, video: bool) -> str:
    """The last text of the first user turn: the question template around ``body``.

    A single image gets the reference's ``The index of the given image is 1.`` line;
    ``video`` prefixes the VSI-Bench frame sentence.
    """
    if video:
        body = VIDEO_PREFIX.replace("{n}", str(num_images)) + body
    if num_images == 1:
        body += "\nThe index of the given image is 1."
    return QUESTION_TEMPLATE.replace("{question}", body)


def image_index_line(index: int, width: int, height: int) -> str:
    """The text that follows image ``index`` in a multi-image turn (without trailing newline)."""
    return f"The index of the given image is {index} (width: {width}, height: {height})."


@dataclass(frozen=True)
class ImageRef:
    """An image as the model sees it: its conversation index and announced size."""

    index: int
    width: int
    height: int


def first_user_content(images: list[ImageRef], body: str, video: bool) -> list[ImageRef | str]:
    """The first user turn: the images with their index lines, then the question."""
    if len(images) == 1:
        return [images[0], question_text(body, 1, video)]
    content: list[ImageRef | str] = []
    for image in images:
        content += [image, image_index_line(image.index, image.width, image.height) + "\n"]
    content.append(question_text(body, len(images), video))
    return content


def tool_result_content(images: list[ImageRef], final: bool) -> list[ImageRef | str]:
    """The user turn that returns the drawn images; ``final`` forbids further tool use."""
    content: list[ImageRef | str] = []
    for position, image in enumerate(images):
        line = image_index_line(image.index, image.width, image.height)
        if position < len(images) - 1:
            content += [image, line + "\n"]
        else:
            content += [image, line + (FINAL_TEXT if final else CONTINUE_TEXT)]
    return content


def forbid_tools(content: list[ImageRef | str]) -> list[ImageRef | str]:
    """A first user turn that closes the tools: its last text (the question template, ending with
    "adjust if needed:") gets the reference's final-turn instruction, as a tool result does on the last call."""
    *parts, last = content
    if not isinstance(last, str):
        raise ValueError("a first user turn ends with its question text")
    body = last.rstrip("\n")
    return [*parts, body + FINAL_TEXT + last[len(body):]]


def content_text(content: list[ImageRef | str]) -> str:
    """The text parts of a turn's content, concatenated (what the tool "said")."""
    return "".join(part for part in content if isinstance(part, str))


# --- parsing the model's turns -------------------------------------------------------


@dataclass(frozen=True)
class BoxCall:
    """An Object Mapper item, in the coordinates the model wrote (resized image)."""

    index: int
    label: str
    bbox_2d: tuple[float, float, float, float]


@dataclass(frozen=True)
class LineCall:
    """A Path Tracer item, in the coordinates the model wrote (resized image)."""

    index: int
    label: str
    start_point_2d: tuple[float, float]
    end_point_2d: tuple[float, float]


@dataclass
class ParsedTurn:
    """What one assistant turn says: its action, tool items, answer, and what was wrong with it."""

    action: str | None
    items: list[BoxCall | LineCall] = field(default_factory=list)
    answer: str | None = None
    problems: list[str] = field(default_factory=list)


def extract_answer(text: str) -> str | None:
    """The stripped text inside the last ``<answer>...</answer>``, or None."""
    answers = _ANSWER.findall(text)
    return answers[-1].strip() if answers else None


def parse_turn(text: str) -> ParsedTurn:
    """Parse an assistant turn the way the reference does, but never raise.

    Every fenced json block is read as a JSON / Python literal (never ``eval``);
    items with ``bbox_2d`` + ``label`` or ``start_point_2d`` + ``end_point_2d`` +
    ``label`` are kept, anything else is skipped and reported in ``problems``.
    Coordinates must be finite numbers; clamping to the image happens later.
    """
    actions = _ACTION.findall(text)
    turn = ParsedTurn(action=actions[-1] if actions else None, answer=extract_answer(text))
    for block_number, block in enumerate(_FENCED_JSON.findall(text), start=1):
        value, problem = _literal(block)
        if problem:
            turn.problems.append(f"json block {block_number}: {problem}")
            continue
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            turn.problems.append(f"json block {block_number}: expected a list of items, got {type(value).__name__}")
            continue
        for item_number, item in enumerate(value, start=1):
            parsed, problem = _tool_item(item)
            if parsed is not None:
                turn.items.append(parsed)
            else:
                turn.problems.append(f"json block {block_number}, item {item_number}: {problem}")
    return turn


def _literal(block: str) -> tuple[Any, str | None]:
    try:
        return json.loads(block), None
    except (ValueError, RecursionError):
        pass
    try:
        # The reference reads blocks as Python literals; this also accepts the
        # "# Image index" comment style of the system prompt's examples.
        return ast.literal_eval(block.strip()), None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
        return None, f"not valid JSON ({type(error).__name__})"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _point(value: Any, size: int) -> tuple[float, ...] | None:
    if not isinstance(value, (list, tuple)) or len(value) != size:
        return None
    numbers = tuple(_number(v) for v in value)
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]


def _tool_item(item: Any) -> tuple[BoxCall | LineCall | None, str | None]:
    if not isinstance(item, dict):
        return None, f"expected an object, got {type(item).__name__}"
    label = item.get("label")
    if not isinstance(label, str) or not label.strip():
        return None, "missing or empty label"
    index = item.get("index")
    if isinstance(index, bool) or not isinstance(index, (int, float)) or not float(index).is_integer():
        return None, f"index must be an integer, got {index!r}"
    if "bbox_2d" in item:
        box = _point(item["bbox_2d"], 4)
        if box is None:
            return None, f"bbox_2d must be four finite numbers, got {item['bbox_2d']!r}"
        return BoxCall(int(index), label.strip(), box), None  # type: ignore[arg-type]
    if "start_point_2d" in item and "end_point_2d" in item:
        start, end = _point(item["start_point_2d"], 2), _point(item["end_point_2d"], 2)
        if start is None or end is None:
            return None, "start_point_2d and end_point_2d must be two finite numbers each"
        return LineCall(int(index), label.strip(), start, end), None  # type: ignore[arg-type]
    return None, "neither bbox_2d nor start_point_2d + end_point_2d"
