"""A reasoning result as JSON (result.json) and PNG files: what `vilasr-ros reason` writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2

from vilasr_ros.reasoning.engine import ConversationImage, ReasoningResult


def image_filename(image: ConversationImage) -> str:
    return f"image_{image.index:02d}.png"


def result_document(result: ReasoningResult, question: str) -> dict[str, Any]:
    """The JSON-ready description of a result; box and line coordinates are as the model wrote
    them (pixels of the resized image it saw), clamped into that image."""
    return {
        "question": question,
        "answer": result.answer,
        "choice": result.choice,
        "numeric_answer": result.numeric_answer,
        "stop_reason": result.stop_reason,
        "error": result.error,
        "elapsed_s": round(result.elapsed, 4),
        "images": [
            {
                "index": image.index,
                "source_index": image.source_index,
                "base_index": image.base_index,
                "width": image.mapping.width,
                "height": image.mapping.height,
                "source_width": image.mapping.source_width,
                "source_height": image.mapping.source_height,
            }
            for image in result.images
        ],
        "turns": [
            {
                "text": turn.text,
                "action": turn.action,
                "finished": turn.finished,
                "problems": turn.problems,
                "new_images": [_image_entry(image) for image in turn.new_images],
                "user_text": turn.user_text,
            }
            for turn in result.turns
        ],
        "work": dict(result.work),
    }


def _image_entry(image: ConversationImage) -> dict[str, Any]:
    return {
        "index": image.index,
        "base_index": image.base_index,
        "source_index": image.source_index,
        "path": image_filename(image),
        "boxes": [{"label": box.label, "bbox_2d": list(box.bbox_2d)} for box in image.boxes],
        "lines": [
            {"label": line.label, "start_point_2d": list(line.start_point_2d), "end_point_2d": list(line.end_point_2d)}
            for line in image.lines
        ],
    }


def write_result(result: ReasoningResult, question: str, out_dir: str | Path) -> Path:
    """Write ``result.json`` and every derived image as a PNG into ``out_dir``; return the JSON path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for image in result.images:
        if image.base_index is not None:
            cv2.imwrite(str(out / image_filename(image)), cv2.cvtColor(image.pixels, cv2.COLOR_RGB2BGR))
    path = out / "result.json"
    path.write_text(json.dumps(result_document(result, question), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
