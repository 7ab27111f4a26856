"""Reading the final answer: the chosen option's letter, or a number."""

from __future__ import annotations

import math
import re

_CHOICE = re.compile(r"^\W*([A-Za-z])(?![A-Za-z])")
_NUMBER = re.compile(r"[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


def parse_choice(answer: str, num_options: int) -> str | None:
    """The option letter the answer starts with (``"B"``, ``"(b) table"``), if it names an option."""
    match = _CHOICE.match(answer)
    if not match:
        return None
    letter = match.group(1).upper()
    return letter if ord(letter) - ord("A") < num_options else None


def parse_number(answer: str) -> float | None:
    """The first number in the answer (``"about 2.5 m"`` -> 2.5), or None."""
    match = _NUMBER.search(answer)
    if match is None:
        return None
    value = float(match.group(0).replace(",", ""))
    return value if math.isfinite(value) else None
