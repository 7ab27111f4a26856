"""Generated benchmarks: spatial questions with exact answers, written as a folder, loaded as EvalItems.

Two sources: randomised simulated rooms (:func:`generate_sim_benchmark`), or a
keyframe folder of a real run plus a YAML of labelled objects
(:func:`generate_keyframe_benchmark`). Same seed, same bytes.

Layout::

    benchmark.json        manifest: generator settings, per-family counts, and per scene its objects
                          (label, category, shape, centre, size, yaw in the map frame), what each
                          keyframe shows (label, visible pixels, box in camera pixels) and the
                          model image sizes
    items.jsonl           one item a line (below)
    scenes/<scene>/       a keyframe folder (keyframes.json, rgb/, depth/): colour, 16-bit depth in
                          millimetres, calibration and poses; `vilasr-ros reason --keyframes` reads it

An item::

    {"id", "family", "scene", "question", "options": ["A. ...", ...], "answer": "B" | "2.35",
     "answer_type": "multiple_choice" | "numeric", "problem_type": "multiple choice" | "regression",
     "prompt_style": "views" | "video", "images": ["scenes/<scene>/rgb/000001.png", ...],
     "keyframes": "scenes/<scene>", "objects": [labels involved], "model_sizes": [[w, h], ...],
     "boxes": [{"index": i, "label": "...", "bbox_2d": [x1, y1, x2, y2]}, ...],
     "truth": {...}, "answer_range": [lo, hi] (numeric items), "max_turns": 10,
     "trace": {"boxes": [...], "answer": "..."}}

``boxes`` hold every involved object in every image that shows it, in MODEL
coordinates (the image resized by ``smart_resize`` with ``max_pixels``, the
size the prompt announces; ``index`` is the 1-based image index of the item).
``trace.boxes`` is the subset an ideal reasoner draws: each object once, in
the image where it is most visible.

The objects YAML of a recorded run::

    frame_id: map            # the frame of the keyframes' poses (default: map)
    objects:
      - label: red chair 1
        category: chair      # optional: the label's last word without an instance number ("chair")
        shape: box           # box (default) or cylinder
        centre: [x, y, z]    # the middle of the object, metres (or center, position; or {x:, y:, z:})
        size: [sx, sy, sz]   # along the object's own x, y and z (or dimensions); a cylinder's sx = sy = diameter
        yaw: 0.3             # radians about z (optional; or yaw_deg)
      - label: table
        box: {min: [x0, y0, z0], max: [x1, y1, z1]}   # a nested box; min/max corners: axis-aligned

The file may also be the bare list of objects (frame ``map``).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.evaluation.items import (
    EvalItem,
    ItemError,
    PromptStyle,
    answer_type_for,
)
from vilasr_ros.evaluation.questions import FAMILIES, GENERATORS, Question, SceneFacts
from vilasr_ros.io.keyframe_folder import read_keyframes, write_keyframes
from vilasr_ros.reasoning.images import smart_resize
from vilasr_ros.sim import rooms
from vilasr_ros.sim.rooms import BOX, CYLINDER, RoomObject

FORMAT = "vilasr_ros benchmark"
VERSION = 1
MANIFEST = "benchmark.json"
ITEMS = "items.jsonl"
MAX_PIXELS = 351232
MIN_VISIBLE_FRACTION = 0.002  # of the image's pixels, for an object to count as seen in a keyframe
ATTEMPTS_PER_ITEM = 30


class BenchmarkError(ValueError):
    """A benchmark cannot be generated or read; the message says what and where."""


@dataclass(frozen=True)
class Visibility:
    """An object as one keyframe shows it: visible pixels and the box around them (camera pixels)."""

    pixels: int
    box: tuple[float, float, float, float]


@dataclass
class Scene:
    """Everything questions and items are built from."""

    name: str
    objects: tuple[RoomObject, ...]
    frames: list[Frame]
    visibility: list[dict[str, Visibility]]
    room: rooms.Room | None = None

    def model_sizes(self, max_pixels: int) -> list[tuple[int, int]]:
        sizes = []
        for frame in self.frames:
            height, width = smart_resize(frame.rgb.shape[0], frame.rgb.shape[1], max_pixels)
            sizes.append((width, height))
        return sizes

    def facts(self) -> SceneFacts:
        first_seen: dict[str, int] = {}
        for number, (frame, seen) in enumerate(zip(self.frames, self.visibility), start=1):
            threshold = MIN_VISIBLE_FRACTION * frame.rgb.shape[0] * frame.rgb.shape[1]
            for label, visibility in seen.items():
                if visibility.pixels >= threshold:
                    first_seen.setdefault(label, number)
        cameras = []
        for frame in self.frames:
            forward = frame.pose.viewing_direction()
            cameras.append((frame.pose.position[0], frame.pose.position[1], math.atan2(forward[1], forward[0])))
        if self.room is not None:
            diagonal = math.hypot(self.room.width, self.room.depth)
        else:
            xs = [o.centre[0] for o in self.objects] + [c[0] for c in cameras]
            ys = [o.centre[1] for o in self.objects] + [c[1] for c in cameras]
            diagonal = math.hypot(max(xs) - min(xs), max(ys) - min(ys)) + 1.0
        return SceneFacts(self.objects, first_seen, cameras, diagonal)


# --- scenes ------------------------------------------------------------------------------


def sim_scene(name: str, rng: np.random.Generator, frames: int, width: int, height: int) -> Scene:
    """A random room seen from ``frames`` keyframes; visibility is exact (the renderer's object ids)."""
    room = rooms.random_room(rng)
    views = rooms.camera_path(room, rng, frames, width, height)
    rendered, id_images = rooms.frames_of(room, views)
    visibility = []
    for ids in id_images:
        seen = {}
        for object_id, item in enumerate(room.objects):
            rows, cols = np.nonzero(ids == object_id)
            if rows.size:
                box = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
                seen[item.label] = Visibility(int(rows.size), box)
        visibility.append(seen)
    return Scene(name, room.objects, rendered, visibility, room)


def keyframe_scene(name: str, frames: Sequence[Frame], objects: Sequence[RoomObject], frame_id: str = "map") -> Scene:
    """A recorded run's keyframes with labelled objects; visibility from surface samples checked against depth."""
    if not frames:
        raise BenchmarkError("the keyframe folder holds no keyframes")
    for number, frame in enumerate(frames, start=1):
        if frame.pose is None or frame.intrinsics is None:
            raise BenchmarkError(f"keyframe {number} has no pose or no calibration: both are needed for a benchmark")
        if frame.pose.frame_id != frame_id:
            raise BenchmarkError(
                f"keyframe {number}'s pose is in {frame.pose.frame_id!r} but the objects are in {frame_id!r}"
            )
    visibility = [{o.label: v for o in objects if (v := sampled_visibility(o, frame)) is not None} for frame in frames]
    return Scene(name, tuple(objects), list(frames), visibility)


def surface_samples(item: RoomObject, per_side: int = 9) -> np.ndarray:
    """Points on the object's surface in map (N x 3): a grid on each box face, or rings on a cylinder."""
    grid = np.linspace(-0.5, 0.5, per_side)
    if item.shape == CYLINDER:
        angles = np.linspace(0, 2 * np.pi, 4 * per_side, endpoint=False)
        r, h = item.size[0] / 2, item.size[2]
        side = [(r * math.cos(a), r * math.sin(a), z * h) for a in angles for z in grid]
        top = [(f * r * math.cos(a), f * r * math.sin(a), h / 2) for a in angles for f in (0.3, 0.6, 0.9)]
        local = np.array(side + top + [(0.0, 0.0, h / 2)])
    else:
        a, b = np.meshgrid(grid, grid)
        a, b = a.ravel(), b.ravel()
        faces = []
        for axis in range(3):
            others = [i for i in range(3) if i != axis]
            for sign in (-0.5, 0.5):
                face = np.zeros((a.size, 3))
                face[:, axis] = sign
                face[:, others[0]], face[:, others[1]] = a, b
                faces.append(face)
        local = np.concatenate(faces) * np.array(item.size)
    c, s = math.cos(item.yaw), math.sin(item.yaw)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return local @ rotation.T + np.array(item.centre)


def sampled_visibility(item: RoomObject, frame: Frame) -> Visibility | None:
    """Surface samples that project into the image and agree with the depth (no depth: all count as seen).

    ``pixels`` is the area of the box around the seen samples; None when fewer than 3 are seen.
    """
    pose, intrinsics = frame.pose, frame.intrinsics
    points = (surface_samples(item) - np.array(pose.position)) @ pose.rotation_matrix()
    in_front = points[:, 2] > 0.05
    points = points[in_front]
    if not len(points):
        return None
    k = intrinsics.k
    u = k[0, 0] * points[:, 0] / points[:, 2] + k[0, 2]
    v = k[1, 1] * points[:, 1] / points[:, 2] + k[1, 2]
    inside = (u >= 0) & (u < intrinsics.width) & (v >= 0) & (v < intrinsics.height)
    u, v, z = u[inside], v[inside], points[inside, 2]
    depth = frame.depth_metres()
    if depth is not None:
        measured = depth[v.astype(int), u.astype(int)]
        unknown = ~np.isfinite(measured) | (measured <= 0)
        agrees = np.abs(measured - z) <= np.maximum(0.06, 0.03 * z)
        keep = unknown | agrees
        u, v = u[keep], v[keep]
    if u.size < 3:
        return None
    box = (float(u.min()), float(v.min()), float(u.max()), float(v.max()))
    return Visibility(int((box[2] - box[0]) * (box[3] - box[1])), box)


def load_objects_yaml(path: str | Path) -> tuple[list[RoomObject], str]:
    """The labelled objects of a YAML file (see the module docstring) and their frame id."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise BenchmarkError(f"cannot read objects file {path}: {error}") from error
    if isinstance(document, list):
        entries, frame_id = document, "map"
    elif isinstance(document, dict) and isinstance(document.get("objects"), list):
        entries, frame_id = document["objects"], str(document.get("frame_id", "map"))
    else:
        raise BenchmarkError(f"{path} must hold a list of objects, or a mapping with a list 'objects'")
    if not entries:
        raise BenchmarkError(f"{path} lists no objects")
    objects, labels = [], set()
    for number, entry in enumerate(entries, start=1):
        item = object_entry(entry, f"{path}, object {number}")
        if item.label in labels:
            raise BenchmarkError(f"{path}, object {number}: labels must be unique, {item.label!r} is repeated")
        labels.add(item.label)
        objects.append(item)
    return objects, frame_id


def object_entry(entry: Any, where: str) -> RoomObject:
    """One object of the YAML: ``label``, and the box as ``centre`` (or ``center``, ``position``) plus ``size``
    (or ``dimensions``) with an optional ``yaw`` / ``yaw_deg``, or as ``min`` / ``max`` corners (axis-aligned);
    the box fields may sit in a nested ``box:`` mapping."""
    if not isinstance(entry, dict):
        raise BenchmarkError(f"{where}: expected a mapping (label, centre, size), got {entry!r}")
    label = str(entry["label"]).strip() if entry.get("label") is not None else ""
    if not label:
        raise BenchmarkError(f"{where}: needs a non-empty label")
    box = entry.get("box")
    if box is None:
        fields = entry
    elif not isinstance(box, dict):
        raise BenchmarkError(f"{where}: box must be a mapping (centre and size, or min and max), got {box!r}")
    elif any(name in entry for names in BOX_FIELDS.values() for name in names):
        raise BenchmarkError(f"{where}: give the box either under 'box:' or beside the label, not both")
    else:
        fields = box
    given = {key: _one_of(fields, names, where) for key, names in BOX_FIELDS.items()}
    yaw = 0.0
    if given["min"] or given["max"]:
        if given["centre"] or given["size"] or given["yaw"]:
            raise BenchmarkError(f"{where}: give min and max corners, or centre and size (with yaw), not both")
        if not (given["min"] and given["max"]):
            raise BenchmarkError(f"{where}: min and max corners go together")
        low, high = (_vector(*given[key], where) for key in ("min", "max"))
        centre = tuple((a + b) / 2 for a, b in zip(low, high))
        size = tuple(b - a for a, b in zip(low, high))
    else:
        if not (given["centre"] and given["size"]):
            raise BenchmarkError(
                f"{where}: needs centre (or center, position) [x, y, z] and size (or dimensions) [sx, sy, sz], "
                "or min and max corners"
            )
        centre, size = _vector(*given["centre"], where), _vector(*given["size"], where)
        if given["yaw"]:
            name, value = given["yaw"]
            yaw = math.radians(_number(value, name, where)) if name == "yaw_deg" else _number(value, name, where)
    if min(size) <= 0:
        raise BenchmarkError(f"{where}: sizes must be positive (max above min), got {list(size)}")
    shape = str(entry.get("shape", fields.get("shape", BOX)))
    if shape not in rooms.SHAPES:
        raise BenchmarkError(f"{where}: shape must be one of {', '.join(rooms.SHAPES)}, got {shape!r}")
    category = str(entry.get("category") or "").strip() or category_of(label)
    if not category:
        raise BenchmarkError(f"{where}: cannot tell a category from the label: give 'category'")
    return RoomObject(label, category, shape, centre, size, yaw)  # type: ignore[arg-type]


# The spellings accepted for each box field (the first is the documented one).
BOX_FIELDS = {
    "centre": ("centre", "center", "position"),
    "size": ("size", "dimensions"),
    "min": ("min",),
    "max": ("max",),
    "yaw": ("yaw", "yaw_deg"),
}
_INSTANCE_NUMBER = re.compile(r"[\s_#-]*\d+$")


def category_of(label: str) -> str:
    """The default category: the label's last word once a trailing instance number is cut
    (``"red chair 1"``, ``"chair_2"``, ``"office_chair"`` -> ``"chair"``), lower case; "" when nothing is left."""
    return re.split(r"[\s_]+", _INSTANCE_NUMBER.sub("", label.strip()))[-1].lower()


def _one_of(fields: dict, names: Sequence[str], where: str) -> tuple[str, Any] | None:
    """(the spelling used, its value) of a field that has several spellings; None when absent."""
    present = [name for name in names if name in fields]
    if len(present) > 1:
        raise BenchmarkError(f"{where}: {' and '.join(present)} say the same thing: give one")
    return (present[0], fields[present[0]]) if present else None


def _vector(name: str, value: Any, where: str) -> tuple[float, float, float]:
    if isinstance(value, dict) and set(value) == {"x", "y", "z"}:
        value = [value["x"], value["y"], value["z"]]
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise BenchmarkError(f"{where}: {name} needs 3 values [x, y, z], got {value!r}")
    return tuple(_number(v, name, where) for v in value)  # type: ignore[return-value]


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool):
        raise BenchmarkError(f"{where}: {name} must be numbers, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BenchmarkError(f"{where}: {name} must be numbers, got {value!r}") from None
    if not math.isfinite(number):
        raise BenchmarkError(f"{where}: {name} must be finite, got {value!r}")
    return number


# --- items -------------------------------------------------------------------------------


def scene_questions(
    scene: Scene, rng: np.random.Generator, count: int, families: Sequence[str], offset: int = 0
) -> list[Question]:
    """Up to ``count`` distinct questions, the families taken in turn (starting at ``offset``)."""
    facts = scene.facts()
    questions: list[Question] = []
    asked: set[str] = set()
    failures = 0
    turn = offset
    while len(questions) < count and failures < len(families) * ATTEMPTS_PER_ITEM:
        family = families[turn % len(families)]
        for _ in range(ATTEMPTS_PER_ITEM):
            question = GENERATORS[family](facts, rng)
            if question is not None and question.question not in asked:
                asked.add(question.question)
                questions.append(question)
                break
            failures += 1
        turn += 1
    return questions


def item_record(scene: Scene, question: Question, item_id: str, max_pixels: int) -> dict[str, Any]:
    """The items.jsonl record of a question about ``scene``."""
    sizes = scene.model_sizes(max_pixels)
    boxes, best = [], {}
    for index, (frame, seen, (width, height)) in enumerate(zip(scene.frames, scene.visibility, sizes), start=1):
        threshold = MIN_VISIBLE_FRACTION * frame.rgb.shape[0] * frame.rgb.shape[1]
        sx, sy = width / frame.rgb.shape[1], height / frame.rgb.shape[0]
        for label in question.labels:
            visibility = seen.get(label)
            if visibility is None or visibility.pixels < threshold:
                continue
            x1, y1, x2, y2 = visibility.box
            box = {
                "index": index,
                "label": label,
                "bbox_2d": [
                    max(0, round(x1 * sx)),
                    max(0, round(y1 * sy)),
                    min(width, round(x2 * sx)),
                    min(height, round(y2 * sy)),
                ],
            }
            boxes.append(box)
            if label not in best or visibility.pixels > best[label][0]:
                best[label] = (visibility.pixels, box)
    record: dict[str, Any] = {
        "id": item_id,
        "family": question.family,
        "scene": scene.name,
        "question": question.question,
        "options": question.options,
        "answer": question.answer,
        "answer_type": answer_type_for(question.problem_type, item_id).value,
        "problem_type": question.problem_type,
        "prompt_style": question.prompt_style,
        "images": [f"scenes/{scene.name}/rgb/{number:06d}.png" for number in range(1, len(scene.frames) + 1)],
        "keyframes": f"scenes/{scene.name}",
        "objects": question.labels,
        "model_sizes": [list(size) for size in sizes],
        "boxes": boxes,
        "truth": question.truth,
        "max_turns": 10,
        "trace": {"boxes": [best[label][1] for label in question.labels if label in best], "answer": question.answer},
    }
    if question.answer_range is not None:
        record["answer_range"] = list(question.answer_range)
    return record


def scene_manifest(scene: Scene, max_pixels: int) -> dict[str, Any]:
    return {
        "name": scene.name,
        "keyframes": f"scenes/{scene.name}",
        "frame_id": scene.frames[0].pose.frame_id,
        "room": None
        if scene.room is None
        else {"width": scene.room.width, "depth": scene.room.depth, "height": scene.room.height},
        "objects": [item.to_json() for item in scene.objects],
        "visibility": [
            [{"label": label, "pixels": v.pixels, "box": list(v.box)} for label, v in seen.items()]
            for seen in scene.visibility
        ],
        "model_sizes": [list(size) for size in scene.model_sizes(max_pixels)],
    }


@dataclass(frozen=True)
class BenchmarkSummary:
    """What a generation wrote."""

    directory: Path
    items: int
    scenes: int
    family_counts: dict[str, int]


def generate_sim_benchmark(
    out: str | Path,
    seed: int = 0,
    items: int = 400,
    scenes: int = 10,
    frames: int = 6,
    width: int = 320,
    height: int = 240,
    max_pixels: int = MAX_PIXELS,
    families: Sequence[str] = FAMILIES,
    force: bool = False,
) -> BenchmarkSummary:
    """A benchmark of ``items`` questions over random rooms (at least ``scenes``; more when rooms run short)."""
    _check_settings(items, families)
    if scenes < 1 or frames < 2:
        raise BenchmarkError(f"need at least 1 scene and 2 frames per scene, got {scenes} and {frames}")
    per_scene = -(-items // scenes)

    def scenes_and_questions() -> Iterable[tuple[Scene, list[Question]]]:
        produced, number = 0, 0
        while produced < items:
            if number >= 4 * scenes:
                raise BenchmarkError(f"only {produced} distinct questions from {number} rooms; ask for fewer items")
            rng = np.random.default_rng([seed, number])
            scene = sim_scene(f"scene_{number:03d}", rng, frames, width, height)
            questions = scene_questions(scene, rng, min(per_scene, items - produced), families, offset=number)
            produced += len(questions)
            number += 1
            yield scene, questions

    settings = {
        "source": "sim",
        "seed": seed,
        "items": items,
        "scenes": scenes,
        "frames": frames,
        "width": width,
        "height": height,
        "max_pixels": max_pixels,
        "families": list(families),
    }
    return _write(Path(out), scenes_and_questions(), settings, max_pixels, force)


def generate_keyframe_benchmark(
    out: str | Path,
    keyframes: str | Path,
    objects_yaml: str | Path,
    seed: int = 0,
    items: int = 100,
    max_pixels: int = MAX_PIXELS,
    families: Sequence[str] = FAMILIES,
    force: bool = False,
) -> BenchmarkSummary:
    """A benchmark over a recorded run's keyframe folder and its labelled objects (fewer items when the
    scene allows fewer distinct questions)."""
    _check_settings(items, families)
    try:
        frames = read_keyframes(keyframes)
    except DataError as error:
        raise BenchmarkError(str(error)) from error
    objects, frame_id = load_objects_yaml(objects_yaml)
    scene = keyframe_scene("scene_000", frames, objects, frame_id)
    questions = scene_questions(scene, np.random.default_rng([seed, 0]), items, families)
    settings = {
        "source": "keyframes",
        "seed": seed,
        "items": items,
        "max_pixels": max_pixels,
        "families": list(families),
        "objects_file": Path(objects_yaml).name,
    }
    return _write(Path(out), [(scene, questions)], settings, max_pixels, force)


def _check_settings(items: int, families: Sequence[str]) -> None:
    unknown = [family for family in families if family not in GENERATORS]
    if unknown or not families:
        raise BenchmarkError(f"unknown families {unknown}; choose from {', '.join(FAMILIES)}")
    if items < 1:
        raise BenchmarkError(f"items must be at least 1, got {items}")


def _write(
    out: Path, produced: Iterable[tuple[Scene, list[Question]]], settings: dict[str, Any], max_pixels: int, force: bool
) -> BenchmarkSummary:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not (force and (out / MANIFEST).is_file()):
            raise BenchmarkError(
                f"{out} is not empty: give an empty or new directory (or --force to replace a benchmark there)"
            )
        for name in (MANIFEST, ITEMS):
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "scenes", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    manifests, counts, lines = [], {}, []
    for scene, questions in produced:
        write_keyframes(scene.frames, out / "scenes" / scene.name)
        manifests.append(scene_manifest(scene, max_pixels))
        for number, question in enumerate(questions):
            record = item_record(scene, question, f"{scene.name}-{number:03d}-{question.family}", max_pixels)
            lines.append(json.dumps(record, sort_keys=True))
            counts[question.family] = counts.get(question.family, 0) + 1
    (out / ITEMS).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "generator": settings,
        "family_counts": dict(sorted(counts.items())),
        "scenes": manifests,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return BenchmarkSummary(out, len(lines), len(manifests), dict(sorted(counts.items())))


# --- reading -----------------------------------------------------------------------------


def is_benchmark(directory: str | Path) -> bool:
    """True when ``directory`` holds a generated benchmark (its benchmark.json)."""
    return (Path(directory) / MANIFEST).is_file()


def read_manifest(directory: str | Path) -> dict[str, Any]:
    """The benchmark.json of a generated benchmark, checked for format and version."""
    path = Path(directory) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ItemError(f"{directory} is not a generated benchmark: cannot read {path} ({error.strerror})") from error
    except ValueError as error:
        raise ItemError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise ItemError(f"{path} is not a '{FORMAT}' manifest of version {VERSION}")
    return manifest


def load_benchmark(directory: str | Path) -> list[EvalItem]:
    """The items of a generated benchmark; image paths absolute, the rest of each record in ``extra``."""
    directory = Path(directory)
    read_manifest(directory)
    items = []
    path = directory / ITEMS
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ItemError(f"cannot read {path}: {error.strerror or error}") from error
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
            item = EvalItem(
                id=record["id"],
                family=record["family"],
                question=record["question"],
                options=tuple(record["options"]),
                answer_type=answer_type_for(record["problem_type"], where),
                problem_type=record["problem_type"],
                answer=record["answer"],
                prompt_style=PromptStyle(record["prompt_style"]),
                images=tuple(directory / name for name in record["images"]),
                source="generated",
                max_turns=int(record.get("max_turns", 10)),
                extra=record,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ItemError(f"{where}: not a benchmark item ({error!r})") from None
        items.append(item)
    return items
