"""Reading the model's final answer: option letters, numbers, and quantities normalised to SI units."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vilasr_ros.reasoning.answers import parse_answer, parse_choice, parse_quantity


@pytest.mark.parametrize(
    "answer, options, letter",
    [
        ("B", 4, "B"),
        ("(b) table", 4, "B"),
        ("  C. chair", 3, "C"),
        ("D", 3, None),
        ("the chair", 4, None),
        ("", 2, None),
    ],
)
def test_choice_is_the_leading_option_letter(answer, options, letter):
    assert parse_choice(answer, options) == letter


@pytest.mark.parametrize(
    "answer, si_value, si_unit, unit",
    [
        ("2.5 m", 2.5, "m", "m"),
        ("about 150 cm", 1.5, "m", "cm"),
        ("1,200 mm", 1.2, "m", "mm"),
        ("1.2km", 1200.0, "m", "km"),
        ("3 meters", 3.0, "m", "m"),
        ("3 Metres away", 3.0, "m", "m"),
        ("10 ft", 3.048, "m", "ft"),
        ("1 foot", 0.3048, "m", "ft"),
        ("12 Feet", 3.6576, "m", "ft"),
        ("7 inches.", 0.1778, "m", "in"),
        ("1 inch", 0.0254, "m", "in"),
        ('6"', 0.1524, "m", "in"),
        ("3 in", 0.0762, "m", "in"),
        ("2 yards", 1.8288, "m", "yd"),
        ("turn 90°", math.pi / 2, "rad", "deg"),
        ("45 deg to the left", math.pi / 4, "rad", "deg"),
        ("-30 degrees", -math.pi / 6, "rad", "deg"),
        ("0.5 rad", 0.5, "rad", "rad"),
        ("1 radian", 1.0, "rad", "rad"),
    ],
)
def test_quantities_are_normalised_to_metres_and_radians(answer, si_value, si_unit, unit):
    quantity = parse_quantity(answer)
    assert quantity is not None and quantity.si_unit
    assert quantity.si_value == pytest.approx(si_value)
    assert (quantity.si_unit, quantity.unit) == (si_unit, unit)


def test_feet_and_inches_add_up():
    for answer in ("5'6\"", "5 ft 6 in", "5 feet and 6 inches"):
        quantity = parse_quantity(answer)
        assert quantity.unit == "ft+in"
        assert quantity.value == pytest.approx(5.5)
        assert quantity.si_value == pytest.approx(1.6764)


def test_a_range_reads_as_its_midpoint():
    for answer in ("2-3 m", "2 to 3 meters", "2\u20133 m"):
        quantity = parse_quantity(answer)
        assert quantity.si_value == pytest.approx(2.5)
        assert quantity.text == answer


def test_the_first_number_with_a_unit_wins_over_earlier_plain_numbers():
    assert parse_quantity("Option 2: about 3 m (10 ft)").si_value == pytest.approx(3.0)


@pytest.mark.parametrize(
    "answer, value",
    [
        ("3", 3.0),
        ("B", None),
        ("3 in total", 3.0),  # "in" the preposition, not inches
        ('It is "3"', 3.0),  # a quoted number, not inches
        ("2 m/s", 2.0),  # a speed: not a length
        ("4 m\u00b2", 4.0),  # an area: not a length
        ("there are 2 more", 2.0),
    ],
)
def test_unitless_or_ambiguous_numbers_stay_plain(answer, value):
    quantity = parse_quantity(answer)
    if value is None:
        assert quantity is None
    else:
        assert (quantity.value, quantity.si_value, quantity.unit, quantity.si_unit) == (value, value, "", "")


def test_non_finite_numbers_are_not_quantities():
    assert parse_quantity("1e400 m") is None
    assert parse_quantity("nan m") is None


def test_parse_answer_keeps_the_free_text():
    parsed = parse_answer("  B. the table, about 2 m from the door \n", num_options=3)
    assert parsed.text == "B. the table, about 2 m from the door"
    assert parsed.choice == "B"
    assert parsed.quantity.si_value == 2.0
    free = parse_answer("The chair is left of the table.")
    assert (free.text, free.choice, free.quantity) == ("The chair is left of the table.", None, None)


@given(st.text(max_size=80))
def test_parsing_never_raises_on_arbitrary_text(text):
    parsed = parse_answer(text, num_options=4)
    if parsed.quantity is not None:
        assert math.isfinite(parsed.quantity.si_value)


@given(st.floats(min_value=0.001, max_value=1e5, allow_nan=False), st.sampled_from(["m", "cm", "mm", "ft", "in", "km"]))
def test_written_value_times_the_unit_factor_is_the_si_value(value, unit):
    factors = {"m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "in": 0.0254, "km": 1000.0}
    quantity = parse_quantity(f"{value:.3f} {unit}")
    assert quantity.unit == unit
    assert quantity.si_value == pytest.approx(float(f"{value:.3f}") * factors[unit])
