"""One evaluation item, whatever its source: a question for the loop with its ground truth.

Both the authors' benchmark files (:mod:`vilasr_ros.evaluation.authors`) and our
generated benchmarks (:mod:`vilasr_ros.evaluation.benchmark`) load into
:class:`EvalItem`, the shape the eval harness sends through the query path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from vilasr_ros.core.question import AnswerType
from vilasr_ros.evaluation import scoring


class ItemError(ValueError):
    """A benchmark file or item cannot be read; the message names the file and the item."""


class PromptStyle(str, Enum):
    """Which branch of the reference prompt builds the first user turn."""

    SINGLE = "single"  # one image, "The index of the given image is 1." (Maze, SpatialEval, SPAR single view)
    VIEWS = "views"  # several images, each with its index line (SPAR / MMSI multi view)
    VIDEO = "video"  # frames of a video: the VSI-Bench prefix, then the index lines


# The authors' problem_type -> how the loop asks for the answer.
ANSWER_TYPE_OF_PROBLEM = {
    scoring.MULTIPLE_CHOICE: AnswerType.MULTIPLE_CHOICE,
    scoring.NUMERICAL: AnswerType.NUMERIC,
    scoring.REGRESSION: AnswerType.NUMERIC,
    scoring.VCI: AnswerType.FREE_FORM,
    scoring.FREE_FORM: AnswerType.FREE_FORM,
}


@dataclass(frozen=True)
class EvalItem:
    """A question with its images and ground truth.

    ``question`` is the question text for our loop (the loop adds ``options``
    and the answer-type suffix); ``reference_body`` is, for the authors'
    files, the exact text their ``infer.py`` puts inside the question template
    (options, index line and suffix included): the loop then sends it verbatim
    instead, and ``options`` (possibly none: written in the question) only
    read the answer.
    ``problem_type`` picks the scoring rule (:func:`scoring.score_answer`),
    ``family`` the row of the results table. ``max_turns`` is the reference's
    model-call limit for this benchmark (10, or 20 for mazes). ``extra`` keeps
    source-specific fields (the raw record of an authors' file; the boxes,
    truth and trace ingredients of a generated item).
    """

    id: str
    family: str
    question: str
    options: tuple[str, ...]
    answer_type: AnswerType
    problem_type: str
    answer: str
    prompt_style: PromptStyle
    images: tuple[Path, ...]
    source: str
    reference_body: str | None = None
    max_turns: int = 10
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def score(self, output: str) -> float:
        """The score of a model output (a final turn or the bare answer) for this item."""
        return scoring.score_answer(output, self.answer, self.problem_type)


def answer_type_for(problem_type: str, where: str) -> AnswerType:
    """The loop's answer type for an authors' ``problem_type``; :class:`ItemError` when unknown."""
    try:
        return ANSWER_TYPE_OF_PROBLEM[problem_type.lower()]
    except (KeyError, AttributeError):
        known = ", ".join(repr(name) for name in ANSWER_TYPE_OF_PROBLEM)
        raise ItemError(f"{where}: problem_type {problem_type!r} is not one of {known}") from None
