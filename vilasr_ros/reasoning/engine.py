"""The ViLaSR drawing-reasoning loop, as a state machine over one conversation.

Given source images and a question, the engine opens a backend session with
the exact training prompt, then alternates: the model writes a turn; a tool
call becomes new annotated images appended to the conversation; an answer ends
the query. Malformed output never raises: it ends the query with a clear
stop reason. No ROS here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vilasr_ros.config import EngineConfig
from vilasr_ros.core.conversation import Box, ConversationImage, Line
from vilasr_ros.core.question import AnswerType
from vilasr_ros.core.stop import StopReason
from vilasr_ros.reasoning import protocol
from vilasr_ros.reasoning.answers import Quantity, parse_answer
from vilasr_ros.reasoning.backend import (
    Backend,
    BackendError,
    ChatImage,
    SamplingParams,
    Session,
    StopEvent,
    TextCallback,
)
from vilasr_ros.reasoning.conversation import Conversation
from vilasr_ros.reasoning.drawing import clamp_box, clamp_point, merge_by_label, render
from vilasr_ros.reasoning.images import ResizeCache

# Work per turn outside the model is bounded: a tool call draws at most MAX_ITEMS_PER_CALL boxes and lines
# (in the order written), a conversation at most MAX_ITEMS_PER_QUERY; items beyond are not drawn, lifted
# or estimated, and the turn's problems say how many were left out. The reference's prompts use a
# handful per call; these caps only stop a runaway (or hostile) completion from stalling the worker.
MAX_ITEMS_PER_CALL = 64
MAX_ITEMS_PER_QUERY = 256


class ReasoningError(ValueError):
    """A query cannot start (no images, too many images, unusable image)."""


@dataclass
class TurnRecord:
    """One assistant turn and what the tool did with it."""

    number: int
    text: str
    action: str | None
    new_images: list[ConversationImage]
    user_text: str | None  # the text the tool sent back (None when the query ended here)
    problems: list[str]
    finished: bool  # ended at the end-of-turn token


@dataclass
class ReasoningResult:
    """Everything a query produced."""

    stop_reason: StopReason
    answer: str | None
    choice: str | None  # multiple choice: the option letter the answer names
    quantity: Quantity | None  # the number the answer names, with its unit and SI value
    error: str
    turns: list[TurnRecord]
    images: list[ConversationImage]
    work: dict[str, int]
    elapsed: float
    conversation_text: str = ""  # the whole conversation as the model read it (one pad per image)


TurnCallback = Callable[[TurnRecord], None]


class ReasoningEngine:
    """Runs queries on a backend with the limits and sampling of an :class:`EngineConfig`."""

    def __init__(self, backend: Backend, config: EngineConfig, video: bool = False, tools: bool = True) -> None:
        """``tools=False`` asks for an answer in one model call, without drawing (the evaluation's ablation):
        the first user turn ends with the reference's final-turn instruction and ``max_turns`` is 1."""
        self.backend = backend
        self.config = config if tools else dataclasses.replace(config, max_turns=1)
        self.video = video
        self.tools = tools
        self.resize_cache = ResizeCache()  # the same keyframes come back query after query

    def run(
        self,
        images: Sequence[np.ndarray],
        question: str,
        answer_type: AnswerType = AnswerType.FREE_FORM,
        options: tuple[str, ...] = (),
        *,
        prompt_body: str | None = None,
        forced_turns: Sequence[str] | None = None,
        on_turn: TurnCallback | None = None,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
        timeout: float | None = None,
        seed: int | None = None,
    ) -> ReasoningResult:
        """Answer ``question`` about ``images`` (RGB uint8 arrays, in conversation order).

        ``prompt_body``: the text the question template wraps, verbatim, instead of the one built from
        ``question``, ``options`` and ``answer_type`` (a benchmark's own prompt; the options then only
        count the choices of the answer). ``forced_turns`` teacher-forces a recorded transcript: its
        turns are fed to the model as its own instead of being sampled. Raises
        :class:`ReasoningError` only when the query cannot start.
        """
        run = _Run(
            self, question, answer_type, options, prompt_body, forced_turns, on_turn, on_text, cancel, timeout, seed
        )
        return run.execute(images)


class _Run:
    """The state of one query."""

    def __init__(
        self,
        engine: ReasoningEngine,
        question: str,
        answer_type: AnswerType,
        options: tuple[str, ...],
        prompt_body: str | None,
        forced_turns: Sequence[str] | None,
        on_turn: TurnCallback | None,
        on_text: TextCallback | None,
        cancel: threading.Event | None,
        timeout: float | None,
        seed: int | None,
    ) -> None:
        self.config = engine.config
        self.engine = engine
        self.question = question
        self.answer_type = answer_type
        self.options = options
        self.prompt_body = prompt_body
        self.forced_turns = list(forced_turns) if forced_turns is not None else None
        self.on_turn = on_turn
        self.on_text = on_text
        self.cancel = cancel or threading.Event()
        self.started = time.monotonic()
        self.deadline = self.started + timeout if timeout else None
        self.seed = seed if seed is not None else (self.config.seed if self.config.seed >= 0 else None)
        self.images: list[ConversationImage] = []
        self.turns: list[TurnRecord] = []
        self.conversation: Conversation | None = None
        # The merged annotation lists of each image as the model wrote them (not clamped): what is drawn.
        self.written: dict[int, tuple[list[Box], list[Line]]] = {}
        self.items_drawn = 0  # boxes and lines accepted so far (MAX_ITEMS_PER_QUERY)

    def execute(self, sources: Sequence[np.ndarray]) -> ReasoningResult:
        if not sources:
            raise ReasoningError("no images to reason about")
        if len(sources) > self.config.max_images:
            raise ReasoningError(f"{len(sources)} images given; engine.max_images allows {self.config.max_images}")
        for number, source in enumerate(sources, start=1):
            try:
                pixels, mapping = self.engine.resize_cache.resize(source, self.config.max_pixels)
            except ValueError as error:
                raise ReasoningError(f"image {number}: {error}") from error
            self.images.append(ConversationImage(number, number, None, pixels, mapping))

        first = self.images[0]
        system = protocol.system_prompt(first.mapping.width, first.mapping.height)
        self.conversation = Conversation(system)
        content = protocol.first_user_content(
            self._refs(self.images),
            self.question,
            self.answer_type,
            self.options,
            video=self.engine.video,
            body=self.prompt_body,
        )
        session: Session | None = None
        try:
            session = self.engine.backend.start(system)
            self._add_user(session, content if self.engine.tools else protocol.forbid_tools(content))
            return self._loop(session)
        except BackendError as error:
            return self._finish(session, StopReason.BACKEND_ERROR, error=f"backend error: {error}")
        finally:
            if session is not None:
                session.close()

    def _loop(self, session: Session) -> ReasoningResult:
        """Model turns until an answer or a limit, with the reference's rules (``eval/infer.py``)."""
        for number in range(1, self.config.max_turns + 1):
            if self.cancel.is_set():
                return self._finish(session, StopReason.CANCELLED, error="cancelled")
            if self._timed_out():
                return self._finish(session, StopReason.TIMEOUT, error=self._timeout_message())
            text, finished = self._next_turn(session, number)
            if text is None:
                return self._finish(
                    session,
                    StopReason.CANCELLED if self.cancel.is_set() else StopReason.TIMEOUT,
                    error=self._stop_message(),
                )
            parsed = protocol.parse_turn(text, max_items=MAX_ITEMS_PER_CALL)
            problems = parsed.problems + parsed.invalid
            if parsed.answer is not None:
                self._record(number, text, parsed.action, [], None, problems, finished)
                return self._finish(session, StopReason.ANSWERED, answer=parsed.answer)
            stop = self._stop_before_tool(number, parsed, finished)
            if stop is not None:
                self._record(number, text, parsed.action, [], None, problems, finished)
                return self._finish(session, stop[0], error=stop[1])
            kept = self._within_caps(parsed.items, parsed.unread, problems)
            if not kept:  # the conversation's drawing budget is spent
                self._record(number, text, parsed.action, [], None, problems, finished)
                return self._finish(session, StopReason.TOOL_ERROR, error=f"turn {number}: {problems[-1]}")
            groups = _group_by_index(
                [item for item in kept if isinstance(item, protocol.BoxCall)],
                [item for item in kept if isinstance(item, protocol.LineCall)],
            )
            new_images: list[ConversationImage] = []
            for base, (box_calls, line_calls) in groups.items():
                new_images.append(self._draw(base, box_calls, line_calls))
                if len(self.images) >= self.config.max_images:
                    break  # images up to the cap; the last one gets the final text
            if len(new_images) < len(groups):
                problems.append(
                    f"{len(groups) - len(new_images)} new image(s) dropped: engine.max_images is {self.config.max_images}"
                )
            final = number + 1 >= self.config.max_turns or len(self.images) >= self.config.max_images
            content = protocol.tool_result_content(self._refs(new_images), final=final, several=len(groups) > 1)
            self._add_user(session, content)
            self._record(number, text, parsed.action, new_images, protocol.content_text(content), problems, finished)
        raise AssertionError("unreachable: the last allowed turn always ends the loop")

    def _stop_before_tool(
        self, number: int, parsed: protocol.ParsedTurn, finished: bool
    ) -> tuple[StopReason, str] | None:
        """(stop reason, error) when a turn without an answer ends the query before its tool runs."""
        if not finished:  # cut at the token limit: the reference ends the episode here
            limit = self.config.max_new_tokens
            return (
                StopReason.TOOL_ERROR,
                f"turn {number} ended at engine.max_new_tokens ({limit}) without finishing or answering",
            )
        if number == self.config.max_turns:  # the last allowed call: the reference does not run its tool
            return StopReason.MAX_TURNS, f"no answer after engine.max_turns ({self.config.max_turns}) turns"
        why = self._tool_error(parsed)
        if why:
            return StopReason.TOOL_ERROR, f"turn {number}: {why}"
        if len(self.images) >= self.config.max_images:  # the model was already told to answer
            cap = self.config.max_images
            return (
                StopReason.MAX_IMAGES,
                f"turn {number} called a tool after the conversation reached engine.max_images ({cap})",
            )
        return None

    def _tool_error(self, parsed: protocol.ParsedTurn) -> str:
        """Why the turn's tool call cannot run ("" when it can), as the reference decides it."""
        if parsed.invalid:
            return "; ".join(parsed.invalid)
        if not parsed.items:
            return "; ".join(parsed.problems) if parsed.problems else "no tool call and no <answer>"
        wrong = sorted({item.index for item in parsed.items if not 1 <= item.index <= len(self.images)})
        if wrong:
            names = ", ".join(str(index) for index in wrong)
            return f"index {names} does not name an existing image (1..{len(self.images)})"
        return ""

    def _next_turn(self, session: Session, number: int) -> tuple[str | None, bool]:
        """The next assistant turn's text and whether it finished; None text when cancelled or timed out."""
        assert self.conversation is not None
        if self.forced_turns is not None:
            if number > len(self.forced_turns):
                raise BackendError(
                    f"the forced transcript has only {len(self.forced_turns)} turns; turn {number} needed"
                )
            text = self.forced_turns[number - 1]
            session.flush()  # the model call of this turn: run the context, as generate() would
            session.add_assistant(text)
            self.conversation.add_assistant(text)
            if self.on_text:
                self.on_text(text)
            return text, True
        stop = StopEvent(self.cancel, self.deadline)
        sampling = SamplingParams(
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            max_new_tokens=self.config.max_new_tokens,
            seed=None if self.seed is None else self.seed + number,
        )
        generation = session.generate(sampling, on_text=self.on_text, cancel=stop)
        self.conversation.add_assistant(generation.text)
        if generation.cancelled:
            return None, False
        return generation.text, generation.finished

    def _within_caps(self, calls: list, unread: int, problems: list[str]) -> list:
        """The call's items that are drawn: the first MAX_ITEMS_PER_CALL, within the conversation's
        MAX_ITEMS_PER_QUERY; the rest (``unread``: entries the parser only counted) are reported in ``problems``."""
        if len(calls) + unread > MAX_ITEMS_PER_CALL:
            problems.append(
                f"{len(calls) + unread - MAX_ITEMS_PER_CALL} tool items beyond the first {MAX_ITEMS_PER_CALL} of one call "
                "were not drawn"
            )
            calls = calls[:MAX_ITEMS_PER_CALL]
        room = MAX_ITEMS_PER_QUERY - self.items_drawn
        if len(calls) > room:
            problems.append(
                f"{len(calls) - room} tool items beyond {MAX_ITEMS_PER_QUERY} in one conversation were not drawn"
            )
            calls = calls[:room]
        self.items_drawn += len(calls)
        return calls

    def _draw(
        self, base_index: int, box_calls: list[protocol.BoxCall], line_calls: list[protocol.LineCall]
    ) -> ConversationImage:
        """A new image: the merged annotation lists drawn on the base image (or on its pristine frame).

        Boxes and lines merge separately: an image that got only boxes inherits its base's lines.
        What is drawn is what the model wrote; the image's public lists are clamped into the image.
        """
        base = self.images[base_index - 1]
        base_boxes, base_lines = self.written.get(base_index, ([], []))
        boxes = merge_by_label(base_boxes, [Box(call.label, call.bbox_2d) for call in box_calls])
        lines = merge_by_label(
            base_lines, [Line(call.label, call.start_point_2d, call.end_point_2d) for call in line_calls]
        )
        # The reference draws the merged lists on a copy of the base image, drawings included. Where the call
        # keeps every inherited item as it was, so do we (the same pixels); where it moves or replaces one,
        # the lists are drawn on the pristine frame, so the replaced item really disappears.
        kept = boxes[: len(base_boxes)] == base_boxes and lines[: len(base_lines)] == base_lines
        canvas = base.pixels if kept else self.images[base.source_index - 1].pixels
        width, height = base.mapping.width, base.mapping.height
        image = ConversationImage(
            index=len(self.images) + 1,
            source_index=base.source_index,
            base_index=base_index,
            pixels=render(canvas, boxes, lines),
            mapping=base.mapping,
            boxes=[Box(box.label, clamp_box(box.bbox_2d, width, height)) for box in boxes],
            lines=[
                Line(
                    line.label,
                    clamp_point(line.start_point_2d, width, height),
                    clamp_point(line.end_point_2d, width, height),
                )
                for line in lines
            ],
        )
        self.images.append(image)
        self.written[image.index] = (boxes, lines)
        return image

    def _record(self, number, text, action, new_images, user_text, problems, finished) -> None:
        record = TurnRecord(number, text, action, new_images, user_text, problems, finished)
        self.turns.append(record)
        if self.on_turn:
            self.on_turn(record)

    def _finish(
        self, session: Session | None, stop_reason: StopReason, answer: str | None = None, error: str = ""
    ) -> ReasoningResult:
        work = {"prefill_tokens": 0, "vision_patches": 0, "decoded_tokens": 0, "model_calls": 0}
        if session is not None:
            if self.forced_turns is not None and stop_reason != StopReason.BACKEND_ERROR:
                session.flush()
            work = session.work.as_dict()
            work["min_prefill_tokens"] = session.minimum.prefill_tokens
            work["min_vision_patches"] = session.minimum.vision_patches
        parsed = None
        if answer is not None:
            options = len(self.options) if self.answer_type is AnswerType.MULTIPLE_CHOICE else 0
            parsed = parse_answer(answer, options)
        return ReasoningResult(
            stop_reason=stop_reason,
            answer=answer,
            choice=parsed.choice if parsed else None,
            quantity=parsed.quantity if parsed else None,
            error=error,
            turns=self.turns,
            images=self.images,
            work=work,
            elapsed=time.monotonic() - self.started,
            conversation_text=self.conversation.text if self.conversation is not None else "",
        )

    def _add_user(self, session: Session, parts: list[protocol.ImageRef | str]) -> None:
        """Send a user turn to the backend and record it in the conversation."""
        assert self.conversation is not None
        self.conversation.add_user(parts)
        session.add_user(
            [
                ChatImage(p.index, self.images[p.index - 1].pixels) if isinstance(p, protocol.ImageRef) else p
                for p in parts
            ]
        )

    @staticmethod
    def _refs(images: list[ConversationImage]) -> list[protocol.ImageRef]:
        return [protocol.ImageRef(image.index, image.mapping.width, image.mapping.height) for image in images]

    def _timed_out(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _timeout_message(self) -> str:
        return f"timed out after {time.monotonic() - self.started:.1f} s"

    def _stop_message(self) -> str:
        return "cancelled" if self.cancel.is_set() else self._timeout_message()


def _group_by_index(
    boxes: list[protocol.BoxCall], lines: list[protocol.LineCall]
) -> dict[int, tuple[list[protocol.BoxCall], list[protocol.LineCall]]]:
    """Tool items grouped by the image they name, one new image each.

    Groups are ordered as the reference orders them: indices in order of first
    appearance among the boxes, then indices that only lines name; in a group,
    boxes and lines keep the order written.
    """
    groups: dict[int, tuple[list[protocol.BoxCall], list[protocol.LineCall]]] = {}
    for box in boxes:
        groups.setdefault(box.index, ([], []))[0].append(box)
    for line in lines:
        groups.setdefault(line.index, ([], []))[1].append(line)
    return groups
