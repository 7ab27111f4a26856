"""Stage-1 data: drawing traces synthesised from a generated benchmark's ground truth.

A trace is the list of assistant turns an ideal ViLaSR writes for an item:

- an Object Mapper turn boxing each object the question names, with its true
  box in model coordinates, in the keyframe where it is most visible;
- for a share of traces (``reflect_share``), one of those boxes is first drawn
  off the object, and the next turn says so and redraws it (the same label on
  the same keyframe: :func:`vilasr_ros.evaluation.behaviour.count_revisions`
  counts it as a revision, the paper's reflection);
- a Path Tracer turn joining the centres of consecutive named objects that one
  keyframe shows together (distance, route and direction questions);
- the answer, with short templated reasoning.

An SFT data file is JSON lines, one trace a line::

    {"benchmark": "<folder>", "id": "<item id>", "turns": ["...", ...], "reflective": true|false}

Only the text is stored: :func:`render_examples` runs each trace through the
engine (the deployment's renderer and drawing tool) with a record-only
backend, so training sees exactly the text and pixels of inference.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vilasr_ros.config import EngineConfig, QueryConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.benchmark import load_benchmark
from vilasr_ros.evaluation.items import EvalItem
from vilasr_ros.evaluation.runner import FrameSource, item_request, item_video
from vilasr_ros.evaluation.traces import answer_turn, mapper_turn
from vilasr_ros.query import QueryOutcome, answer_frames
from vilasr_ros.query.request import resolve_request
from vilasr_ros.reasoning.backend import Backend

# Families whose answer follows from where two named objects are relative to each other: the trace joins them.
LINE_FAMILIES = ("abs_distance", "route_length", "rel_distance", "rel_direction")
# The stage-1 curriculum: questions about one object first, then two, then three or more.
CURRICULUM = (
    ("object_size", "object_count"),
    ("abs_distance", "turn_direction"),
    ("rel_direction", "route_length", "rel_distance", "appearance_order"),
)
THOUGHTS = {
    "object_count": "I count the {labels} across the views.",
    "abs_distance": "I locate the {labels} to measure the distance between them.",
    "object_size": "I mark the {labels} to judge its size.",
    "rel_distance": "I mark the {labels} to compare their distances.",
    "rel_direction": "I mark the {labels} to see how they are placed.",
    "turn_direction": "I find the {labels} relative to the camera's heading.",
    "route_length": "I mark the {labels} along the route.",
    "appearance_order": "I find where the {labels} first appear.",
}


class DataError(ValueError):
    """SFT data cannot be written or read; the message names the file and line."""


def tracer_turn(lines: Sequence[dict[str, Any]], thought: str) -> str:
    """A Path Tracer turn drawing ``lines`` (``index``, ``start_point_2d``, ``end_point_2d``, ``label``)."""
    items = [
        {
            "index": line["index"],
            "start_point_2d": list(line["start_point_2d"]),
            "end_point_2d": list(line["end_point_2d"]),
            "label": line["label"],
        }
        for line in lines
    ]
    return f"<think> {thought} </think> Action: Path Tracer\n```json\n{json.dumps(items)}\n```"


def _centre(box: Sequence[float]) -> list[int]:
    return [round((box[0] + box[2]) / 2), round((box[1] + box[3]) / 2)]


def _off_box(box: Sequence[int], size: tuple[int, int], rng: np.random.Generator) -> list[int]:
    """The box moved by 60-100% of its width or height (a box that misses the object), kept in the image."""
    x1, y1, x2, y2 = box
    width, height = size
    dx = int(rng.uniform(0.6, 1.0) * max(x2 - x1, 8)) * int(rng.choice([-1, 1]))
    dy = int(rng.uniform(0.0, 0.5) * max(y2 - y1, 8)) * int(rng.choice([-1, 1]))
    dx = min(max(dx, -x1), width - x2)
    dy = min(max(dy, -y1), height - y2)
    if dx == 0 and dy == 0:  # the object fills the image: shrink the box to its left third instead
        return [x1, y1, x1 + max(1, (x2 - x1) // 3), y2]
    return [x1 + dx, y1 + dy, x2 + dx, y2 + dy]


def synth_trace(item: EvalItem, rng: np.random.Generator, reflect: bool) -> list[str]:
    """The assistant turns of an ideal (``reflect``: reflective) reasoner for a generated item."""
    trace = item.extra.get("trace") or {}
    boxes = [dict(box) for box in trace.get("boxes", [])]
    truth = scoring.answer_text(item.answer).strip()
    sizes = [tuple(size) for size in item.extra.get("model_sizes", [])]
    turns: list[str] = []
    images = len(item.images)
    if boxes:
        labels = ", ".join(dict.fromkeys(box["label"] for box in boxes))
        thought = THOUGHTS.get(item.family, "I mark the {labels}.").format(labels=labels)
        if reflect and sizes:
            wrong = int(rng.integers(len(boxes)))
            first = [dict(box) for box in boxes]
            first[wrong]["bbox_2d"] = _off_box(boxes[wrong]["bbox_2d"], sizes[boxes[wrong]["index"] - 1], rng)
            turns.append(mapper_turn(first, thought))
            order = list(dict.fromkeys(box["index"] for box in first))
            drawn = images + 1 + order.index(boxes[wrong]["index"])  # the new image showing the off box
            fixed = dict(boxes[wrong], index=drawn)
            images += len(order)
            turns.append(mapper_turn([fixed], f"The box for the {fixed['label']} misses it; I redraw it."))
            images += 1
        else:
            turns.append(mapper_turn(boxes, thought))
            images += len(dict.fromkeys(box["index"] for box in boxes))
    lines = _lines(item) if item.family in LINE_FAMILIES else []
    if lines:
        turns.append(tracer_turn(lines, "I join the objects to follow the distances between them."))
    turns.append(answer_turn(truth, "The drawings settle it." if turns else "I can answer from the views."))
    return turns


def _lines(item: EvalItem) -> list[dict[str, Any]]:
    """Lines between consecutive named objects, on the first keyframe that shows both."""
    labels = list(item.extra.get("objects", []))
    where: dict[int, dict[str, list[int]]] = {}
    for box in item.extra.get("boxes", []):
        where.setdefault(box["index"], {})[box["label"]] = box["bbox_2d"]
    lines = []
    for a, b in zip(labels, labels[1:]):
        for index in sorted(where):
            if a in where[index] and b in where[index]:
                lines.append(
                    {
                        "index": index,
                        "start_point_2d": _centre(where[index][a]),
                        "end_point_2d": _centre(where[index][b]),
                        "label": f"{a} to {b}",
                    }
                )
                break
    return lines


def write_sft_data(
    benchmark: str | Path, out: str | Path, seed: int = 0, reflect_share: float = 0.3, families: Sequence[str] = ()
) -> int:
    """Write one synthesised trace per item of ``benchmark`` (of ``families``; all: empty) to ``out``; the count."""
    if not 0.0 <= reflect_share <= 1.0:
        raise DataError(f"reflect_share must be within [0, 1], got {reflect_share}")
    rng = np.random.default_rng(seed)
    records = []
    for item in load_benchmark(benchmark):
        if families and item.family not in families:
            continue
        reflect = bool(rng.random() < reflect_share)
        records.append(
            {
                "benchmark": str(Path(benchmark).resolve()),
                "id": item.id,
                "turns": synth_trace(item, rng, reflect),
                "reflective": reflect,
            }
        )
    write_records(out, records)
    return len(records)


def write_records(out: str | Path, records: Sequence[dict[str, Any]], append: bool = False) -> None:
    """SFT records as JSON lines (``append`` adds to an existing file)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as stream:
        for record in records:
            stream.write(json.dumps(record, sort_keys=True) + "\n")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of an SFT data file; :class:`DataError` for a missing file or a bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise DataError(f"cannot read SFT data {path}: {error.strerror or error}") from error
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not (isinstance(record["turns"], list) and record["turns"] and isinstance(record["id"], str)):
                raise ValueError("turns must be a non-empty list and id a string")
            str(record["benchmark"])
        except (ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path}, line {number}: not an SFT record ({error})") from None
        records.append(record)
    return records


@dataclass
class ItemStore:
    """Benchmark items by (folder, id) and their frames, loaded once."""

    def __post_init__(self) -> None:
        self._items: dict[str, dict[str, EvalItem]] = {}
        self._frames: dict[str, FrameSource] = {}

    def item(self, benchmark: str, item_id: str) -> EvalItem:
        if benchmark not in self._items:
            self._items[benchmark] = {item.id: item for item in load_benchmark(benchmark)}
            self._frames[benchmark] = FrameSource(Path(benchmark))
        try:
            return self._items[benchmark][item_id]
        except KeyError:
            raise DataError(f"benchmark {benchmark} has no item {item_id!r}") from None

    def frames(self, benchmark: str, item: EvalItem) -> list[Frame]:
        self.item(benchmark, item.id)
        return self._frames[benchmark].frames(item)


def run_item(
    item: EvalItem,
    frames: Sequence[Frame],
    backend: Backend,
    engine_config: EngineConfig,
    *,
    tools: bool = True,
    forced_turns: Sequence[str] | None = None,
) -> QueryOutcome:
    """Answer ``item`` through the query path exactly as ``vilasr-ros eval`` does (forced turns: teacher forcing)."""
    query = resolve_request(item_request(item, len(frames)), QueryConfig(), query_id=item.id)
    return answer_frames(
        query, frames, backend, engine_config, video=item_video(item), tools=tools, forced_turns=forced_turns
    )


def iter_examples(
    records: Sequence[dict[str, Any]], backend, engine_config: EngineConfig, store: ItemStore
) -> Iterator:
    """(record, Example) of each record, rendered and tokenised through the engine (``backend``: a record-only
    :class:`vilasr_ros.training.examples.CapturingBackend`)."""
    for record in records:
        item = store.item(record["benchmark"], record["id"])
        config = dataclasses.replace(engine_config, max_turns=item.max_turns)
        outcome = run_item(
            item,
            store.frames(record["benchmark"], item),
            backend,
            config,
            tools=record.get("tools", True),
            forced_turns=record["turns"],
        )
        if outcome.result is None or backend.captured is None or outcome.result.answer is None:
            raise DataError(f"record {record['id']}: the trace did not run to an answer ({outcome.error})")
        yield record, backend.captured
