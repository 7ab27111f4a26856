"""A reasoning result as JSON (result.json) and PNG files: what `vilasr-ros reason` writes."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from PIL import Image

from vilasr_ros.core.conversation import ConversationImage
from vilasr_ros.geometry import OBJECT, EstimationResult, SpatialEstimate
from vilasr_ros.reasoning.engine import ReasoningResult

MODEL_IMAGE_DIR = "model_images"


def image_filename(image: ConversationImage) -> str:
    """A drawn image for people (the same pixels the model saw)."""
    return f"image_{image.index:02d}.png"


def model_image_filename(image: ConversationImage) -> str:
    """Image ``index`` exactly as given to the model's image processor (sources and drawings)."""
    return f"{MODEL_IMAGE_DIR}/image_{image.index:02d}.png"


def result_document(
    result: ReasoningResult, question: str, estimates: EstimationResult | None = None
) -> dict[str, Any]:
    """The JSON-ready description of a result; box and line coordinates are as the model wrote
    them (pixels of the resized image it saw), clamped into that image. ``estimates`` are in
    source-image pixels and metres (NaN written as null)."""
    return {
        "question": question,
        "answer": result.answer,
        "choice": result.choice,
        "numeric_answer": result.quantity.si_value if result.quantity else None,
        "numeric_unit": result.quantity.si_unit if result.quantity else None,
        "quantity": dataclasses.asdict(result.quantity) if result.quantity else None,
        "stop_reason": str(result.stop_reason),
        "error": result.error,
        "elapsed_s": round(result.elapsed, 4),
        "conversation_text": result.conversation_text,
        "model_images": [{"index": image.index, "file": model_image_filename(image)} for image in result.images],
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
        "estimates": [_estimate_entry(estimate) for estimate in estimates.estimates] if estimates else [],
        "distances": [
            {
                "labels": [d.label_a, d.label_b],
                "distance": _finite(d.distance),
                "stddev": _finite(d.stddev),
                "gap": _finite(d.gap),
                "gap_stddev": _finite(d.gap_stddev),
                "frame_id": d.frame_id,
            }
            for d in estimates.distances
        ]
        if estimates
        else [],
        "skipped_drawings": [dataclasses.asdict(skipped) for skipped in estimates.skipped] if estimates else [],
    }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _estimate_entry(estimate: SpatialEstimate) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "label": estimate.label,
        "kind": estimate.kind,
        "image_index": estimate.image_index,
        "source_index": estimate.source_index,
    }
    if estimate.kind == OBJECT:
        entry["bbox_px"] = list(estimate.bbox_px)
    else:
        entry["segment_px"] = list(estimate.segment_px)
    entry.update(
        {
            "position": [_finite(v) for v in estimate.position],
            "end_position": [_finite(v) for v in estimate.end_position],
            "size": [_finite(v) for v in estimate.size],
            "length": _finite(estimate.length),
            "range": _finite(estimate.range),
            "bearing": _finite(estimate.bearing),
            "elevation": _finite(estimate.elevation),
            "range_frame_id": estimate.range_frame_id,
            "frame_id": estimate.frame_id,
            "stddev": _finite(estimate.stddev),
            "num_views": estimate.num_views,
            "has_depth": estimate.has_depth,
            "has_pose": estimate.has_pose,
            "valid_3d": estimate.valid_3d,
            "note": estimate.note,
        }
    )
    if estimate.kind == OBJECT:  # every object has the box keys: nulls when it has no box (no depth or pose)
        covariance = estimate.box_covariance if estimate.has_box else None
        entry.update(
            {
                "has_box": estimate.has_box,
                "box_center": [_finite(v) for v in estimate.box_center],
                "box_size": [_finite(v) for v in estimate.box_size],
                "box_yaw": _finite(estimate.box_yaw),
                "box_covariance": None
                if covariance is None
                else [[_finite(v) for v in covariance[row * 3 : row * 3 + 3]] for row in range(3)],
                "on_floor": estimate.on_floor,
                "approach_pose": {
                    "position": [_finite(v) for v in estimate.approach[:3]],
                    "yaw": _finite(estimate.approach[3]),
                },
            }
        )
    return entry


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


def write_result(
    result: ReasoningResult, question: str, out_dir: str | Path, estimates: EstimationResult | None = None
) -> Path:
    """Write ``result.json``, every derived image as a PNG, and every image of the conversation as the
    model saw it (``model_images/``) into ``out_dir``; return the JSON path."""
    out = Path(out_dir)
    (out / MODEL_IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    for image in result.images:
        png = Image.fromarray(image.pixels, "RGB")
        png.save(out / model_image_filename(image))
        if image.base_index is not None:
            png.save(out / image_filename(image))
    path = out / "result.json"
    document = result_document(result, question, estimates)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
