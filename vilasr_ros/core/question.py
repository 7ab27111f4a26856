"""How a question asks for its answer."""

from __future__ import annotations

from enum import Enum


class AnswerType(str, Enum):
    """How the answer is asked for (and later parsed)."""

    AUTO = "auto"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMERIC = "numeric"
    FREE_FORM = "free_form"
