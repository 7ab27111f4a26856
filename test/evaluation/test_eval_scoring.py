"""The authors' scoring rules (eval/evaluate.py), checked on examples worked out by hand from their definitions."""

from __future__ import annotations

import pytest

from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.scoring import (
    ScoringError,
    answer_text,
    mean_relative_accuracy,
    score_answer,
    score_choice,
    score_numerical,
    score_regression,
    score_vci,
)


def test_answer_text_is_the_first_tagged_answer_or_the_whole_output():
    assert answer_text("<think> x </think> Action: Answer\n<answer>  B. left \n</answer>") == "B. left"
    assert answer_text("<answer>A</answer> then <answer>C</answer>") == "A"
    assert answer_text("no tags here") == "no tags here"


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [("b", "B", 1.0), ("B. chair", "B", 1.0), (" C ", "B", 0.0), ("", "B", 0.0), ("right", "B. right", 0.0)],
)
def test_choice_compares_first_letters_ignoring_case(prediction, truth, expected):
    assert score_choice(prediction, truth) == expected


def test_choice_through_score_answer_extracts_both_sides():
    assert score_answer("<think>..</think>\n<answer> a </answer>", "<answer>A</answer>", "multiple choice") == 1.0


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [
        ("3", "3", 1.0),
        ("3.0", "3", 0.0),  # one has a decimal mark, the other not
        ("3.004", "3.00", 1.0),  # 3.0 == 3.0 after rounding to 2 decimals
        ("3.006", "3.00", 0.0),  # 3.01 != 3.0
        ("1,000.50", "1000.5", 1.0),  # commas removed; both have a decimal mark
        ("1,000", "1000.5", 0.0),
        ("three", "3", 0.0),
    ],
)
def test_numerical_needs_matching_decimal_marks_and_equal_rounded_values(prediction, truth, expected):
    assert score_numerical(prediction, truth) == expected


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [
        (10, 10, 1.0),
        (11, 10, 0.9),  # relative error 0.1 <= 1 - t for t = 0.50 ... 0.90: 9 of 10 thresholds
        (9, 10, 0.9),
        (13, 10, 0.5),  # 0.3: t = 0.50 ... 0.70
        (12.5, 10, 0.6),  # 0.25: t = 0.50 ... 0.75
        (6, 4, 0.1),  # 0.5: only t = 0.50
        (6.1, 4, 0.0),  # 0.525: none
        (1.9, 2, 1.0),  # 0.05 <= 1 - 0.95
        (0, 0, 1.0),
        (1, 0, 0.0),
    ],
)
def test_mean_relative_accuracy_over_thresholds_050_to_095(prediction, truth, expected):
    assert mean_relative_accuracy(prediction, truth) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "truth", "exact_arithmetic", "reference"),
    [
        # 2/10 in float32 is 0.2000000030, but 1 - float32(0.8) is 0.1999999881: the 0.80 threshold fails.
        (12, 10, 0.7, 0.6),
        (8, 10, 0.7, 0.6),
        # 4/10 -> 0.4000000060 against 1 - float32(0.6) = 0.3999999762: the 0.60 threshold fails.
        (14, 10, 0.3, 0.2),
    ],
)
def test_mra_boundaries_follow_the_reference_float32_arithmetic(prediction, truth, exact_arithmetic, reference):
    """On an exact boundary the reference (torch float32) can fall one threshold short of exact arithmetic;
    we score as the reference does, so published numbers are reproduced."""
    assert mean_relative_accuracy(prediction, truth) == pytest.approx(reference)
    assert reference == pytest.approx(exact_arithmetic - 0.1)


def test_the_thresholds_are_ten_from_050_to_095():
    assert scoring.mra_thresholds().tolist() == pytest.approx([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])


@pytest.mark.slow  # imports torch: seconds on its own
def test_mra_matches_a_float32_torch_evaluation_of_the_same_formula():
    torch = pytest.importorskip("torch")
    import random

    generator = random.Random(5)
    pairs = [(float(generator.randint(0, 40)), float(generator.randint(1, 20))) for _ in range(300)]
    pairs += [(round(generator.uniform(0, 5), 2), round(generator.uniform(0.1, 5), 2)) for _ in range(300)]
    thresholds = torch.arange(0.5, 0.95 + 0.025, 0.05, dtype=torch.float32)
    for prediction, truth in pairs:
        pred, gt = torch.tensor(prediction, dtype=torch.float32), torch.tensor(truth, dtype=torch.float32)
        expected = ((torch.abs(pred - gt) / (torch.abs(gt) + 1e-8)) <= (1 - thresholds)).float().mean().item()
        assert mean_relative_accuracy(prediction, truth) == pytest.approx(expected, abs=1e-6), (prediction, truth)


def test_regression_reads_numbers_and_fails_soft():
    assert score_regression("13", "10") == pytest.approx(0.5)
    assert score_regression("about ten", "10") == 0.0


VCI_TRUTH = (
    "move_right:2,move_left:0,move_up:0,move_down:0,move_forward:1,move_backward:0,"
    "rotate_right:0,rotate_left:30,rotate_up:0,rotate_down:0"
)


def test_vci_averages_the_mra_of_five_net_movements():
    assert score_vci(VCI_TRUTH, VCI_TRUTH) == 1.0
    # net right 3 against 2: relative error 0.5 -> 0.1; the other four pairs agree -> 1.0 each.
    prediction = VCI_TRUTH.replace("move_right:2", "move_right:3")
    assert score_vci(prediction, VCI_TRUTH) == pytest.approx((0.1 + 4 * 1.0) / 5)
    # net right 2 written as right 4, left 2: same net amount, full score.
    assert score_vci(VCI_TRUTH.replace("move_right:2,move_left:0", "move_right:4,move_left:2"), VCI_TRUTH) == 1.0
    assert score_vci("move_right 2", VCI_TRUTH) == 0.0


def test_free_form_is_a_normalised_exact_match_and_unknown_types_are_refused():
    assert score_answer("<answer> Kitchen  Table </answer>", "kitchen table", "free-form") == 1.0
    assert score_answer("table", "kitchen table", "free-form") == 0.0
    with pytest.raises(ScoringError, match="unknown problem_type 'essay'"):
        score_answer("x", "y", "essay")
