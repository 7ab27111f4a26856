"""Reading the final answer: the chosen option's letter, a number, or a quantity with its unit.

:func:`parse_answer` keeps the free text and adds what could be read from it;
:func:`parse_quantity` normalises lengths to metres and angles to radians.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_CHOICE = re.compile(r"^\W*([A-Za-z])(?![A-Za-z])")

METRES = "m"
RADIANS = "rad"

# canonical unit -> (factor to SI, SI unit)
_UNITS: dict[str, tuple[float, str]] = {
    "m": (1.0, METRES),
    "cm": (0.01, METRES),
    "mm": (0.001, METRES),
    "km": (1000.0, METRES),
    "ft": (0.3048, METRES),
    "in": (0.0254, METRES),
    "yd": (0.9144, METRES),
    "deg": (math.pi / 180.0, RADIANS),
    "rad": (1.0, RADIANS),
}
# what a model may write -> canonical unit
_ALIASES: dict[str, str] = {
    **{name: "m" for name in ("m", "meter", "meters", "metre", "metres")},
    **{name: "cm" for name in ("cm", "centimeter", "centimeters", "centimetre", "centimetres")},
    **{name: "mm" for name in ("mm", "millimeter", "millimeters", "millimetre", "millimetres")},
    **{name: "km" for name in ("km", "kilometer", "kilometers", "kilometre", "kilometres")},
    **{name: "ft" for name in ("ft", "feet", "foot", "'", "\u2032")},
    **{name: "in" for name in ("in", "inch", "inches", '"', "\u2033")},
    **{name: "yd" for name in ("yd", "yds", "yard", "yards")},
    **{name: "deg" for name in ("deg", "degs", "degree", "degrees", "\u00b0")},
    **{name: "rad" for name in ("rad", "rads", "radian", "radians")},
}
_QUOTES = ("'", '"', "\u2032", "\u2033")


def _unit_pattern() -> str:
    words = sorted((alias for alias in _ALIASES if alias.isalpha()), key=len, reverse=True)
    symbols = [re.escape(alias) for alias in _ALIASES if not alias.isalpha()]
    # a word unit must end the word, and not be a rate or an area ("3 m/s", "2 m²")
    return rf"(?:(?:{'|'.join(words)})(?![A-Za-z0-9_/²³^])|{'|'.join(symbols)})"


_SIGNED = r"(?<![\w.])[-+]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_UNSIGNED = r"(?<![\w.])(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"(?P<number>{_SIGNED})\s*(?P<unit>{_unit_pattern()})?", re.IGNORECASE)
_RANGE_START = re.compile(rf"(?P<low>{_SIGNED})\s*(?:-|\u2013|\u2014|to)\s*$", re.IGNORECASE)
_INCHES_AFTER_FEET = re.compile(
    rf"\s*(?:and\s+)?(?P<number>{_UNSIGNED})\s*(?P<unit>inches|inch|in|\"|\u2033)(?![A-Za-z])", re.IGNORECASE
)
# "in" is inches only where no word follows ("3 in", "3 in.", "3 in, ..."), not in "3 in total"
_PREPOSITION_IN = re.compile(r"\s+[A-Za-z]")


@dataclass(frozen=True)
class Quantity:
    """A number read from an answer, with its unit as written and its SI value.

    ``unit`` is the canonical unit (``m``, ``cm``, ``mm``, ``km``, ``ft``, ``in``,
    ``yd``, ``deg``, ``rad``; ``ft+in`` for ``5'6"``) or ``""`` for a plain
    number; ``si_value`` is in ``si_unit`` (``m`` for lengths, ``rad`` for
    angles, ``""`` for a plain number, which keeps its value). A range
    (``"2-3 m"``) reads as its midpoint.
    """

    value: float
    unit: str
    si_value: float
    si_unit: str
    text: str  # the part of the answer it was read from


@dataclass(frozen=True)
class ParsedAnswer:
    """A final answer: its free text (stripped), the option letter and the quantity it names, when any."""

    text: str
    choice: str | None
    quantity: Quantity | None


def parse_choice(answer: str, num_options: int) -> str | None:
    """The option letter the answer starts with (``"B"``, ``"(b) table"``), if it names an option."""
    match = _CHOICE.match(answer)
    if not match:
        return None
    letter = match.group(1).upper()
    return letter if ord(letter) - ord("A") < num_options else None


def parse_quantity(answer: str) -> Quantity | None:
    """The answer's quantity: the first number written with a unit, else the first plain number.

    ``"about 150 cm"`` -> 1.5 m; ``"5'6\\""`` -> 1.6764 m; ``"turn 90°"`` -> pi/2 rad;
    ``"2 to 3 meters"`` -> 2.5 m; ``"3"`` or ``"3 in total"`` -> the plain number 3.
    None when the answer holds no finite number.
    """
    plain: Quantity | None = None
    for match in _QUANTITY.finditer(answer):
        value = _to_float(match.group("number"))
        if value is None:
            continue
        unit = _unit_of(answer, match)
        if unit is None:
            if plain is None:
                plain = Quantity(value, "", value, "", match.group("number"))
            continue
        return _with_unit(answer, match, value, unit)
    return plain


def parse_answer(answer: str, num_options: int = 0) -> ParsedAnswer:
    """The free text with the option letter (when there are options) and the quantity it names."""
    text = answer.strip()
    choice = parse_choice(text, num_options) if num_options > 0 else None
    return ParsedAnswer(text, choice, parse_quantity(text))


def _unit_of(answer: str, match: re.Match[str]) -> str | None:
    """The canonical unit written after the number, or None when there is none (or it is not a unit here)."""
    written = match.group("unit")
    if written is None:
        return None
    if written in _QUOTES:
        if match.group(0) != match.group("number") + written:
            return None  # a quote mark after a space is punctuation, not feet or inches
        if answer[max(0, match.start() - 1) : match.start()] in _QUOTES:
            return None  # a quoted number: "3"
    if written.lower() == "in" and _PREPOSITION_IN.match(answer, match.end()):
        return None
    return _ALIASES[written.lower()]


def _with_unit(answer: str, match: re.Match[str], value: float, unit: str) -> Quantity:
    factor, si_unit = _UNITS[unit]
    start, end = match.start(), match.end()
    if unit == "ft":
        inches = _INCHES_AFTER_FEET.match(answer, end)
        inch_value = _to_float(inches.group("number")) if inches else None
        if inches and inch_value is not None and _unit_of_inches(answer, inches):
            feet = value + math.copysign(inch_value / 12.0, value)
            return Quantity(feet, "ft+in", feet * factor, si_unit, answer[start : inches.end()].strip())
    low_match = _RANGE_START.search(answer, 0, start)
    if low_match is not None:
        low = _to_float(low_match.group("low"))
        if low is not None:
            value = (low + value) / 2.0
            start = low_match.start()
    return Quantity(value, unit, value * factor, si_unit, answer[start:end].strip())


def _unit_of_inches(answer: str, match: re.Match[str]) -> bool:
    """The inches after a feet value really are inches (not ``"5 ft 2 in the hall"``)."""
    written = match.group("unit")
    return not (written.lower() == "in" and _PREPOSITION_IN.match(answer, match.end()))


def _to_float(text: str) -> float | None:
    value = float(text.replace(",", ""))
    return value if math.isfinite(value) else None
