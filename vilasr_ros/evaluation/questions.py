"""Question families with exact answers from a scene's geometry (modelled on VSI-Bench and SPAR).

Every answer is a function of the stored object boxes (centre, size, yaw in
``map``), the keyframe poses, and which objects each keyframe shows:

- ``object_count``: how many objects of a category (all of them seen in some keyframe).
- ``abs_distance``: distance between two objects' 3D centres, metres, 2 decimals.
- ``object_size``: an object's longest dimension (length, width, height; a
  cylinder's diameter), centimetres, rounded to an integer.
- ``rel_distance``: which of 3-4 candidates is closest to (or farthest from) a
  target, by 3D centre distance; the best beats the runner-up by at least 0.25 m.
- ``rel_direction``: standing at A's centre facing B's centre (on the floor
  plane), is C to the left, right, or behind? The signed angle from the facing
  direction to C (counter-clockwise = left): behind when its size exceeds 135
  degrees, else left when positive, else right; angles within 20 degrees of
  straight ahead or 12 of the 135-degree border are not asked.
- ``turn_direction``: the robot stands where keyframe k was taken, facing the
  camera's heading (its optical axis on the floor plane); should it turn left or
  right to face an object's centre? Numeric form: by how many degrees (integer).
  Angles under 15 or over 165 degrees are not asked.
- ``route_length``: walking on the floor from A to B to C (centre to centre,
  straight lines), metres, 2 decimals.
- ``appearance_order``: the order in which three objects first appear in the
  keyframes (each first seen in a different keyframe).

Numeric families are asked as numbers (scored with MRA, ``regression``) and,
for a share of items, as multiple choice among the answer and three distractors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vilasr_ros.evaluation import scoring
from vilasr_ros.sim.rooms import RoomObject, plural

FAMILIES = (
    "object_count",
    "abs_distance",
    "object_size",
    "rel_distance",
    "rel_direction",
    "turn_direction",
    "route_length",
    "appearance_order",
)
NUMERIC_AS_CHOICE = 0.3  # share of numeric-family items asked as multiple choice
DISTRACTOR_FACTORS = (0.5, 0.65, 0.8, 1.25, 1.5, 2.0)
LETTERS = "ABCDEFGH"


@dataclass
class SceneFacts:
    """What the families need: the objects, the keyframe poses, and who is visible where.

    ``first_seen[label]`` is the 1-based keyframe where the object is first
    visible (absent: never); ``camera_xy_heading[k]`` the k-th keyframe's camera
    position on the floor and heading (rad, counter-clockwise from +x).
    """

    objects: tuple[RoomObject, ...]
    first_seen: dict[str, int]
    camera_xy_heading: list[tuple[float, float, float]]
    diagonal: float

    @property
    def seen(self) -> list[RoomObject]:
        return [item for item in self.objects if item.label in self.first_seen]


@dataclass
class Question:
    """A generated question before it becomes an item."""

    family: str
    question: str
    answer: str
    problem_type: str
    labels: list[str]
    truth: dict[str, Any]
    options: list[str] = field(default_factory=list)
    answer_range: tuple[float, float] | None = None
    prompt_style: str = "views"


def centre_distance(a: RoomObject, b: RoomObject) -> float:
    return math.dist(a.centre, b.centre)


def floor_distance(a: RoomObject, b: RoomObject) -> float:
    return math.hypot(a.centre[0] - b.centre[0], a.centre[1] - b.centre[1])


def signed_angle(heading: tuple[float, float], target: tuple[float, float]) -> float:
    """Degrees from ``heading`` to ``target`` (2D vectors), counter-clockwise (left) positive."""
    cross = heading[0] * target[1] - heading[1] * target[0]
    dot = heading[0] * target[0] + heading[1] * target[1]
    return math.degrees(math.atan2(cross, dot))


def lettered(options: list[str]) -> list[str]:
    return [f"{LETTERS[number]}. {text}" for number, text in enumerate(options)]


def _numeric(
    rng: np.random.Generator,
    family: str,
    question: str,
    value: float,
    decimals: int,
    labels: list[str],
    truth: dict[str, Any],
    answer_range: tuple[float, float],
    unit: str,
) -> Question:
    """A numeric question (MRA), or for a share of them a 4-way choice among the answer and distractors."""
    answer = f"{value:.{decimals}f}"
    if rng.random() >= NUMERIC_AS_CHOICE:
        return Question(family, question, answer, scoring.REGRESSION, labels, truth, answer_range=answer_range)
    if decimals == 0 and value < 8:  # small counts: neighbouring numbers, not factors
        pool = [str(n) for n in range(max(1, int(value) - 3), int(value) + 4) if n != int(value)]
        distractors = [str(text) for text in rng.choice(pool, 3, replace=False)]
    else:
        distractors = []
        for factor in rng.permutation(DISTRACTOR_FACTORS):
            text = f"{value * float(factor):.{decimals}f}"
            if text != answer and text not in distractors:
                distractors.append(text)
        distractors = distractors[:3]
    options = [answer, *distractors]
    order = rng.permutation(len(options))
    shown = [f"{options[i]} {unit}".strip() for i in order]
    letter = LETTERS[int(np.where(order == 0)[0][0])]
    return Question(family, question, letter, scoring.MULTIPLE_CHOICE, labels, truth, lettered(shown))


def object_count(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    categories = sorted({item.category for item in facts.objects})
    eligible = [c for c in categories if all(o.label in facts.first_seen for o in facts.objects if o.category == c)]
    if not eligible:
        return None
    category = eligible[int(rng.integers(len(eligible)))]
    members = [o.label for o in facts.objects if o.category == category]
    question = f"How many {plural(category)} are there in the room?"
    return _numeric(
        rng,
        "object_count",
        question,
        len(members),
        0,
        members,
        {"category": category, "value": len(members)},
        (1.0, 6.0),
        "",
    )


def abs_distance(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if len(seen) < 2:
        return None
    a, b = (seen[i] for i in rng.choice(len(seen), 2, replace=False))
    value = centre_distance(a, b)
    question = f"What is the distance between the centres of the {a.label} and the {b.label}, in metres?"
    return _numeric(
        rng, "abs_distance", question, value, 2, [a.label, b.label], {"value": value}, (0.0, facts.diagonal), "m"
    )


def object_size(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if not seen:
        return None
    item = seen[int(rng.integers(len(seen)))]
    value = max(item.size) * 100
    question = f"How long is the longest dimension (length, width or height) of the {item.label}, in centimetres?"
    return _numeric(rng, "object_size", question, round(value), 0, [item.label], {"value": value}, (20.0, 250.0), "cm")


def rel_distance(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if len(seen) < 4:
        return None
    count = min(len(seen), int(rng.integers(4, 6)))
    target, *candidates = (seen[i] for i in rng.choice(len(seen), count, replace=False))
    farthest = bool(rng.random() < 0.3)
    distances = sorted((centre_distance(target, c), c.label) for c in candidates)
    if farthest:
        distances.reverse()
    if abs(distances[0][0] - distances[1][0]) < 0.25:
        return None
    labels = [c.label for c in candidates]
    word = "farthest from" if farthest else "closest to"
    question = f"Which of these objects is {word} the {target.label} (measuring between their centres)?"
    letter = LETTERS[labels.index(distances[0][1])]
    truth = {"target": target.label, "distances": {label: d for d, label in distances}, "farthest": farthest}
    return Question(
        "rel_distance", question, letter, scoring.MULTIPLE_CHOICE, [target.label, *labels], truth, lettered(labels)
    )


def rel_direction(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if len(seen) < 3:
        return None
    a, b, c = (seen[i] for i in rng.choice(len(seen), 3, replace=False))
    facing = (b.centre[0] - a.centre[0], b.centre[1] - a.centre[1])
    toward = (c.centre[0] - a.centre[0], c.centre[1] - a.centre[1])
    angle = signed_angle(facing, toward)
    if abs(angle) < 20 or abs(abs(angle) - 135) < 12:
        return None
    answer = "back" if abs(angle) > 135 else "left" if angle > 0 else "right"
    question = (
        f"If I am standing at the {a.label} and facing the {b.label}, "
        f"is the {c.label} to my left, to my right, or behind me?"
    )
    options = ["left", "right", "back"]
    truth = {"angle_deg": angle, "direction": answer}
    return Question(
        "rel_direction",
        question,
        LETTERS[options.index(answer)],
        scoring.MULTIPLE_CHOICE,
        [a.label, b.label, c.label],
        truth,
        lettered(options),
    )


def turn_direction(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if not seen:
        return None
    frame = int(rng.integers(len(facts.camera_xy_heading)))
    x, y, heading = facts.camera_xy_heading[frame]
    item = seen[int(rng.integers(len(seen)))]
    angle = signed_angle((math.cos(heading), math.sin(heading)), (item.centre[0] - x, item.centre[1] - y))
    if not 15 <= abs(angle) <= 165:
        return None
    stance = f"The robot stands where image {frame + 1} was taken, facing the way that camera looks. "
    truth = {"frame": frame + 1, "angle_deg": angle, "direction": "left" if angle > 0 else "right"}
    if rng.random() < NUMERIC_AS_CHOICE:
        question = stance + f"By how many degrees must it turn to face the {item.label}?"
        return Question(
            "turn_direction",
            question,
            f"{abs(angle):.0f}",
            scoring.REGRESSION,
            [item.label],
            truth,
            answer_range=(0.0, 180.0),
        )
    question = stance + f"Should it turn left or right to face the {item.label}?"
    options = ["left", "right"]
    return Question(
        "turn_direction",
        question,
        LETTERS[options.index(truth["direction"])],
        scoring.MULTIPLE_CHOICE,
        [item.label],
        truth,
        lettered(options),
    )


def route_length(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    seen = facts.seen
    if len(seen) < 3:
        return None
    a, b, c = (seen[i] for i in rng.choice(len(seen), 3, replace=False))
    value = floor_distance(a, b) + floor_distance(b, c)
    question = (
        f"Walking on the floor in straight lines from the {a.label} to the {b.label} and then to the {c.label} "
        "(centre to centre), how long is the route in metres?"
    )
    return _numeric(
        rng,
        "route_length",
        question,
        value,
        2,
        [a.label, b.label, c.label],
        {"value": value},
        (0.0, 2 * facts.diagonal),
        "m",
    )


def appearance_order(facts: SceneFacts, rng: np.random.Generator) -> Question | None:
    by_frame: dict[int, list[str]] = {}
    for label, frame in facts.first_seen.items():
        by_frame.setdefault(frame, []).append(label)
    if len(by_frame) < 3:
        return None
    frames = sorted(int(f) for f in rng.choice(sorted(by_frame), 3, replace=False))
    ordered = [sorted(by_frame[f])[int(rng.integers(len(by_frame[f])))] for f in frames]
    shown = [ordered[i] for i in rng.permutation(3)]
    others = [list(p) for p in itertools.permutations(ordered) if list(p) != ordered]
    picks = [others[i] for i in rng.choice(len(others), 3, replace=False)]
    options = [ordered, *picks]
    order = rng.permutation(4)
    texts = [", ".join(options[i]) for i in order]
    letter = LETTERS[int(np.where(order == 0)[0][0])]
    question = "In which order do these objects first appear in the images: " + ", ".join(shown) + "?"
    truth = {"first_seen": {label: facts.first_seen[label] for label in ordered}}
    return Question(
        "appearance_order",
        question,
        letter,
        scoring.MULTIPLE_CHOICE,
        ordered,
        truth,
        lettered(texts),
        prompt_style="video",
    )


GENERATORS: dict[str, Callable[[SceneFacts, np.random.Generator], Question | None]] = {
    "object_count": object_count,
    "abs_distance": abs_distance,
    "object_size": object_size,
    "rel_distance": rel_distance,
    "rel_direction": rel_direction,
    "turn_direction": turn_direction,
    "route_length": route_length,
    "appearance_order": appearance_order,
}
