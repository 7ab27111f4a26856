"""The demo's questions and its scripted reasoning traces (a replay script written from the scene, not model output)."""

from __future__ import annotations

import json

from vilasr_ros.reasoning.images import smart_resize
from vilasr_ros.sim import room as scene

MAX_PIXELS = 351232
DRIVE = scene.trajectory(16)  # the robot's drive, then it stops at DRIVE[-1]
STOP = DRIVE[-1]
CHAIR, TABLE, DOOR = scene.OBJECTS
QUESTIONS = [
    ("How far is the red chair from the blue door?", [], "numeric"),
    ("Is the green table to the left or to the right of the red chair?", ["left", "right"], "multiple_choice"),
    ("Which way should the robot turn to face the red chair?", ["left", "right"], "multiple_choice"),
]


def model_box(item: scene.SceneObject) -> list[int]:
    """The object's box, seen from where the robot stops, in the resized image the model sees."""
    height, width = smart_resize(scene.HEIGHT, scene.WIDTH, MAX_PIXELS)
    x1, y1, x2, y2 = scene.box_of(item, STOP)
    sx, sy = width / scene.WIDTH, height / scene.HEIGHT
    return [round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy)]


def _boxes(*items: scene.SceneObject) -> str:
    return "```json\n" + json.dumps([{"index": 1, "bbox_2d": model_box(i), "label": i.label} for i in items]) + "\n```"


def scripted_trace() -> dict:
    """Reasoning traces for this scene, one per question (a replay script, not model output)."""
    chair, door = model_box(CHAIR), model_box(DOOR)
    height, width = smart_resize(scene.HEIGHT, scene.WIDTH, MAX_PIXELS)
    heading = [
        {
            "index": 2,
            "start_point_2d": [width // 2, height - 1],
            "end_point_2d": [(chair[0] + chair[2]) // 2, chair[3]],
            "label": "heading to chair",
        }
    ]
    line = [
        {
            "index": 2,
            "start_point_2d": [(chair[0] + chair[2]) // 2, (chair[1] + chair[3]) // 2],
            "end_point_2d": [(door[0] + door[2]) // 2, (door[1] + door[3]) // 2],
            "label": "chair to door",
        }
    ]
    return {
        "by_question": {
            QUESTIONS[0][0]: [
                "<think> I need the chair and the door. </think> Action: Object Mapper\n" + _boxes(CHAIR, DOOR),
                "<think> The chair is near, the door is at the far wall; trace between them. </think> "
                "Action: Path Tracer\n```json\n" + json.dumps(line) + "\n```",
                f"<think> The line spans the room. </think> Action: Answer\n<answer> "
                f"{scene.distance_between(CHAIR, DOOR):.1f} m </answer>",
            ],
            QUESTIONS[1][0]: [
                "<think> Locate both. </think> Action: Object Mapper\n" + _boxes(CHAIR, TABLE),
                "<think> The table's box is right of the chair's. </think> Action: Answer\n<answer> B </answer>",
            ],
            QUESTIONS[2][0]: [
                "<think> Find the chair. </think> Action: Object Mapper\n" + _boxes(CHAIR),
                "<think> From the bottom centre, where the robot is, to the chair. </think> Action: Path Tracer\n"
                "```json\n" + json.dumps(heading) + "\n```",
                "<think> The path bends to the left of straight ahead. </think> Action: Answer\n<answer> A </answer>",
            ],
        }
    }
