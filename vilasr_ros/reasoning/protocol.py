"""The ViLaSR drawing protocol, exactly as the model was trained on it.

The prompt strings live in ``prompts/`` as data (copied byte for byte from the
authors' inference code, github AntResearchNLP/ViLaSR ``eval/infer.py``);
this module only assembles them. The README ("Where the loop differs from
the reference, and why") lists the differences.
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
SINGLE_IMAGE_LINE = "\nThe index of the given image is 1."
# "quesntion" is the training data's spelling: keep it.
VIDEO_PREFIX = (
    "These are frames from a video, numbered from 1 to {n} in sequence. "
    "That is, the index of each image is 1, 2, 3, ..., {n}.\n\nAnswer the quesntion with appropriate tools:\n"
)
CONTINUE_TEXT = (
    " Continue your reasoning. After each tool use, critically evaluate the visualization and adjust if needed:"
)
FINAL_TEXT = (
    " Then, you can not invoke the Object Mapper or Path Tracer tool. "
    "Please answer the initial question and structure your response as required:"
)

# A block that is not JSON is read as a Python literal; ``literal_eval`` costs ~2 us a character, so beyond
# this many characters only the items before the cut are read (far more than one call's drawing cap).
MAX_LITERAL_CHARS = 64 * 1024
_NOT_PYTHON = re.compile(r"\b(?:true|false|null|NaN|Infinity)\b")  # JSON words literal_eval refuses
_ACTION = re.compile(r"Action:\s*(Object Mapper|Path Tracer|Answer)\b")
_ANSWER = re.compile(r"<answer>\s*(.*?)\s*</answer>", re.DOTALL)
JSON_FENCE = "```json"
FENCE = "```"
THINK_END = "</think>"


def _prompt_file(name: str) -> str:
    return resources.files("vilasr_ros.reasoning").joinpath("prompts", name).read_text(encoding="utf-8")


SYSTEM_PROMPT_TEMPLATE = _prompt_file("system_prompt.txt")
QUESTION_TEMPLATE = _prompt_file("question_template.txt")


def system_prompt(width: int, height: int) -> str:
    """The system message for a first image of ``width`` x ``height`` (after resizing)."""
    return SYSTEM_PROMPT_TEMPLATE.replace("{width}", str(width)).replace("{height}", str(height))


def answer_suffix(answer_type: AnswerType) -> str:
    """The answer-type suffix the reference appends to the question (``TYPE_TEMPLATE``)."""
    if answer_type is AnswerType.MULTIPLE_CHOICE:
        return MULTIPLE_CHOICE_SUFFIX
    if answer_type is AnswerType.NUMERIC:
        return NUMERIC_SUFFIX
    return ""


def question_with_options(question: str, options: tuple[str, ...] = ()) -> str:
    """The question, then each option on its own line (the reference's ``'\\n'.join(options)``)."""
    return question + "".join(f"\n{option}" for option in options)


def image_index_line(index: int, width: int, height: int) -> str:
    """The sentence that follows an image (without trailing newline)."""
    return f"The index of the given image is {index} (width: {width}, height: {height})."


@dataclass(frozen=True)
class ImageRef:
    """An image as the model sees it: its conversation index and announced size."""

    index: int
    width: int
    height: int


def first_user_content(
    images: list[ImageRef],
    question: str,
    answer_type: AnswerType = AnswerType.FREE_FORM,
    options: tuple[str, ...] = (),
    video: bool = False,
    body: str | None = None,
) -> list[ImageRef | str]:
    """The first user turn in the reference's three styles (``eval/infer.py``).

    - one image, not video (Maze / SpatialEval branch, the training format): the image,
      then the template around ``question + options + "\\nThe index of the given image is 1." + suffix``;
    - several images, not video (SPAR / MMSI multi-view branch): each image followed by
      its index line with the FIRST image's size, then the template around
      ``question + options + "\\n" + suffix``;
    - video (VSI-Bench branch): each frame with its index line (first frame's size), then
      the template around ``frames sentence + question + options + suffix``.

    ``body`` (a benchmark's prompt, built elsewhere by the reference's rules) replaces the text the
    template wraps, verbatim: the images and their index lines are laid out as above (``video`` gives
    every image its index line, a single one too: the multi-view branch), and ``question``,
    ``answer_type`` and ``options`` do not enter the text.
    """
    if not images:
        raise ValueError("the first user turn needs at least one image")
    single = len(images) == 1 and not video
    if body is None:
        body = question_with_options(question, options)
        suffix = answer_suffix(answer_type)
        if single:
            body = body + SINGLE_IMAGE_LINE + suffix
        elif video:
            body = VIDEO_PREFIX.replace("{n}", str(len(images))) + body + suffix
        else:
            body = body + "\n" + suffix
    if single:
        return [images[0], QUESTION_TEMPLATE.replace("{question}", body)]
    first = images[0]
    content: list[ImageRef | str] = []
    for image in images:
        content += [image, image_index_line(image.index, first.width, first.height) + "\n"]
    content.append(QUESTION_TEMPLATE.replace("{question}", body))
    return content


def tool_result_content(images: list[ImageRef], final: bool, several: bool = False) -> list[ImageRef | str]:
    """The user turn that returns the drawn images; ``final`` forbids further tool use.

    One image: ``{pad}\\n{prompt}\\n``; several: each image followed by its index line
    (and ``\\n``), the last by the continue / final text, then ``\\n\\n`` (the reference's
    template with an empty prompt). ``several``: the call made several images even if only one is
    returned (the rest fell beyond the image cap): the reference then keeps the several-image form.
    """
    if not images:
        raise ValueError("a tool-result turn needs at least one image")
    tail = FINAL_TEXT if final else CONTINUE_TEXT
    if len(images) == 1 and not several:
        image = images[0]
        return [image, "\n" + image_index_line(image.index, image.width, image.height) + tail + "\n"]
    content: list[ImageRef | str] = []
    for image in images[:-1]:
        content += [image, image_index_line(image.index, image.width, image.height) + "\n"]
    last = images[-1]
    content += [last, image_index_line(last.index, last.width, last.height) + tail + "\n\n"]
    return content


def forbid_tools(content: list[ImageRef | str]) -> list[ImageRef | str]:
    """A first user turn that closes the tools: its last text (the question template, ending with
    "adjust if needed:") gets the reference's final-turn instruction, as a tool result does on the last call."""
    *parts, last = content
    if not isinstance(last, str):
        raise ValueError("a first user turn ends with its question text")
    body = last.rstrip("\n")
    return [*parts, body + FINAL_TEXT + last[len(body) :]]


def content_text(content: list[ImageRef | str]) -> str:
    """The text parts of a turn's content, concatenated (what the tool "said")."""
    return "".join(part for part in content if isinstance(part, str))


# --- parsing the model's turns -------------------------------------------------------


@dataclass(frozen=True)
class BoxCall:
    """An Object Mapper item, in the coordinates the model wrote (resized image), label verbatim."""

    index: int
    label: str
    bbox_2d: tuple[float, float, float, float]


@dataclass(frozen=True)
class LineCall:
    """A Path Tracer item, in the coordinates the model wrote (resized image), label verbatim."""

    index: int
    label: str
    start_point_2d: tuple[float, float]
    end_point_2d: tuple[float, float]


@dataclass
class ParsedTurn:
    """What one assistant turn says.

    ``items``: the tool items in the order written. ``problems``: what the reference
    silently ignores (blocks that do not parse, entries without the tool keys).
    ``invalid``: tool items the reference would choke on (an index or coordinates
    that are not numbers, wrong lengths): the loop ends such a turn with a tool error.
    """

    action: str | None
    items: list[BoxCall | LineCall] = field(default_factory=list)
    answer: str | None = None
    problems: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    unread: int = 0  # list entries after ``max_items`` tool items, counted but not read (never drawn)

    @property
    def boxes(self) -> list[BoxCall]:
        return [item for item in self.items if isinstance(item, BoxCall)]

    @property
    def lines(self) -> list[LineCall]:
        return [item for item in self.items if isinstance(item, LineCall)]


def extract_answer(text: str) -> str | None:
    """The text inside the first ``<answer>...</answer>``, stripped (``eval/evaluate.py``), or None."""
    match = _ANSWER.search(text)
    return match.group(1).strip() if match else None


def json_blocks(text: str) -> list[str]:
    """The reference's fenced blocks (``utils/edit_image.py`` ``parse_json``).

    Every line that is exactly `````json`` once stripped opens a block: the text of the
    following lines up to the next ````` ``; with no closing fence anywhere after it,
    up to ``</think>``, stripped.
    """
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if line.strip() != JSON_FENCE:
            continue
        rest = "\n".join(lines[number + 1 :])
        blocks.append(rest.split(FENCE)[0] if FENCE in rest else rest.split(THINK_END)[0].strip())
    return blocks


def parse_turn(text: str, max_items: int | None = None) -> ParsedTurn:
    """Parse an assistant turn with the reference's rules, but never raise.

    Each block is read as a Python literal (``ast.literal_eval``, never ``eval``, or
    ``json.loads`` where that gives the same value, see :func:`_read_block`; a
    block that does not parse is dropped, as in the reference); in a list, an object
    with ``bbox_2d`` + ``label`` is an Object Mapper item, one with ``start_point_2d`` +
    ``end_point_2d`` + ``label`` a Path Tracer item, anything else is ignored. After
    ``max_items`` tool items the remaining entries are only counted (``unread``).
    """
    actions = _ACTION.findall(text)
    turn = ParsedTurn(action=actions[-1] if actions else None, answer=extract_answer(text))
    for block_number, block in enumerate(json_blocks(text), start=1):
        where = f"json block {block_number}"
        try:
            value = _read_block(block, where, turn.problems)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as error:
            turn.problems.append(f"{where}: not a valid literal ({type(error).__name__})")
            continue
        if not isinstance(value, (list, tuple)):
            turn.problems.append(f"{where}: expected a list of items, got {type(value).__name__}")
            continue
        for item_number, item in enumerate(value, start=1):
            if max_items is not None and len(turn.items) >= max_items:
                turn.unread += len(value) - item_number + 1
                break
            _add_item(turn, item, f"{where}, item {item_number}")
    return turn


def _read_block(block: str, where: str, problems: list[str]) -> Any:
    """The block as the reference's ``ast.literal_eval`` reads it, in bounded time.

    JSON is parsed with ``json.loads`` (linear and fast) when the result is also what ``literal_eval``
    gives: no ``true``/``false``/``null`` and no non-finite numbers, which are not Python literals (the
    reference drops such a block, and so does the fallback here). Anything else goes to ``literal_eval``,
    a list longer than MAX_LITERAL_CHARS cut after its last whole item before the limit.
    """
    try:
        value = json.loads(block)
    except (ValueError, RecursionError):
        pass
    else:
        if not _NOT_PYTHON.search(block) or _python_literal(value):
            return value
    if len(block) > MAX_LITERAL_CHARS:
        head = block[:MAX_LITERAL_CHARS]
        cut = head.rfind("}")
        if not block.lstrip().startswith("[") or cut < 0:
            raise ValueError(f"a {len(block)}-character block that is not a JSON list")
        problems.append(
            f"{where}: {len(block)} characters of Python literal; only the items in its first "
            f"{MAX_LITERAL_CHARS} characters were read"
        )
        block = head[: cut + 1] + "]"
    return ast.literal_eval(block)


def _python_literal(value: Any) -> bool:
    """Whether parsed JSON holds only values a Python literal can write (iteratively: no deep recursion)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, bool):
            return False
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _add_item(turn: ParsedTurn, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        turn.problems.append(f"{where}: expected an object, got {type(item).__name__}")
        return
    if "bbox_2d" in item and "label" in item:
        kind = "bbox_2d"
    elif "start_point_2d" in item and "end_point_2d" in item and "label" in item:
        kind = "line"
    else:
        turn.problems.append(f"{where}: has neither bbox_2d + label nor start_point_2d + end_point_2d + label")
        return
    label, index = item["label"], item.get("index")
    if not isinstance(label, str):
        turn.invalid.append(f"{where}: label must be a string, got {label!r}")
        return
    if isinstance(index, bool) or not isinstance(index, int):
        turn.invalid.append(f"{where}: index must be an integer, got {index!r}")
        return
    if kind == "bbox_2d":
        box = _numbers(item["bbox_2d"], 4)
        if box is None:
            turn.invalid.append(f"{where}: bbox_2d must be four finite numbers, got {item['bbox_2d']!r}")
            return
        turn.items.append(BoxCall(index, label, box))  # type: ignore[arg-type]
        return
    # The reference reads a point's first two numbers (plot_movement: point[0], point[1]) and ignores the rest.
    start, end = (_numbers(_first_two(item[key]), 2) for key in ("start_point_2d", "end_point_2d"))
    if start is None or end is None:
        turn.invalid.append(f"{where}: start_point_2d and end_point_2d must be two finite numbers each")
        return
    turn.items.append(LineCall(index, label, start, end))  # type: ignore[arg-type]


def _first_two(value: Any) -> Any:
    return value[:2] if isinstance(value, (list, tuple)) else value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int literal too large for a float
        return None
    return number if math.isfinite(number) else None


def _numbers(value: Any, size: int) -> tuple[float, ...] | None:
    if not isinstance(value, (list, tuple)) or len(value) != size:
        return None
    numbers = tuple(_number(v) for v in value)
    return None if any(n is None for n in numbers) else numbers  # type: ignore[return-value]
