"""Synthetic ViLaSR transcripts (valid tool calls every turn, an answer at the end) for benchmarks and tests."""

from __future__ import annotations

import json


def drawing_transcript(num_turns: int, num_sources: int, width: int = 784, height: int = 420) -> list[str]:
    """``num_turns - 1`` tool turns (alternating Object Mapper / Path Tracer, each drawing on the
    newest image, one new image per turn) and a final answer turn."""
    turns = []
    newest = num_sources
    for number in range(1, num_turns):
        x = (37 * number) % (width // 2)
        y = (23 * number) % (height // 2)
        if number % 2:
            items = [
                {"index": newest, "bbox_2d": [x, y, x + width // 4, y + height // 4], "label": f"object {number % 3}"}
            ]
            head = f"<think> Turn {number}: locate the objects and check the boxes. </think> Action: Object Mapper"
        else:
            items = [
                {"index": newest, "start_point_2d": [x, y], "end_point_2d": [width - x, height - y], "label": "path"}
            ]
            head = f"<think> Turn {number}: trace the path between them. </think> Action: Path Tracer"
        turns.append(f"{head}\n```json\n{json.dumps(items)}\n```")
        newest = num_sources + number
    turns.append("<think> The drawings agree. </think> Action: Answer\n<answer> B </answer>")
    return turns
