"""Readers for the authors' evaluation files (the ViLaSR-eval release), as their ``eval/infer.py`` reads them.

The release is a folder (``./benchmark/`` in their scripts) holding one file per
benchmark, ``vsi_bench.json``, ``maze.json``, ``SpatialEval_spatialreal.json``,
``spar_bench.json`` (and ``spar_bench_tiny.json``), ``mmsi_bench.json``: a JSON
list of records (a ``.jsonl`` file, one record a line, is read too), and the
images under the same folder: each record's ``image_path`` is a list of paths
relative to the image folder (by default the file's own folder).

Fields read, per record: ``question``; ``options`` (a list of option strings,
used for ``problem_type == "multiple choice"``); ``problem_type`` (``multiple
choice``, ``numerical``, ``regression``, ``free-form``, ``vci``); ``answer``
(possibly wrapped in ``<answer>`` tags); ``image_path``;
``original_question_type`` (the family); ``data_type`` (``single_view`` /
``multi_view``, SPAR and MMSI); ``grid_size`` (Maze, kept in ``extra``).

Prompt branches, as in ``infer.py`` (``reference_body``: the text the loop sends verbatim inside
the question template; a multiple-choice record without ``options`` has them in its question):

- ``vsi_bench``: video frames; the frame sentence with ``max_frames`` (16 in
  their script), then the question, options, suffix; every image followed by its
  index line.
- ``maze``, ``SpatialEval_spatialreal``: the first image only; question,
  options, ``\\nThe index of the given image is 1.``, suffix. Mazes get 20
  model calls instead of 10.
- ``spar_bench``, ``spar_bench_tiny``, ``mmsi_bench``: question and options,
  with SPAR's own answer instructions removed, then ``"\\n"`` and, for
  ``position_matching`` and ``camera_motion_infer``, a sentence about
  0-1000 normalised boxes; ``single_view``: the first image and the index line
  as above; ``multi_view``: all images with index lines, the suffix directly.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.items import (
    EvalItem,
    ItemError,
    PromptStyle,
    answer_type_for,
)

VSI_BENCH = "vsi_bench"
MAZE = "maze"
SPATIALEVAL_REAL = "SpatialEval_spatialreal"
SPAR_BENCH = "spar_bench"
SPAR_BENCH_TINY = "spar_bench_tiny"
MMSI_BENCH = "mmsi_bench"
DATASETS = (VSI_BENCH, MAZE, SPATIALEVAL_REAL, SPAR_BENCH, SPAR_BENCH_TINY, MMSI_BENCH)

DEFAULT_MAX_FRAMES = 16  # eval/infer.sh: --max-frames 16
MAZE_MAX_TURNS = 20
DEFAULT_MAX_TURNS = 10

# The answer-type suffixes of infer.py's TYPE_TEMPLATE, by problem_type.
TYPE_SUFFIX = {
    scoring.MULTIPLE_CHOICE: "\nAnswer with the option's letter from the given choices directly.",
    scoring.FREE_FORM: "",
    scoring.REGRESSION: "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14).",
    scoring.NUMERICAL: "\nPlease answer the question using a single word or phrase (e.g., 42 or 3.14).",
    scoring.VCI: "",
}
VIDEO_PREFIX = (
    "These are frames from a video, numbered from 1 to {n} in sequence. "
    "That is, the index of each image is 1, 2, 3, ..., {n}.\n\nAnswer the quesntion with appropriate tools:\n"
)
SINGLE_INDEX_LINE = "\nThe index of the given image is 1."
SPAR_REMOVED = (
    "Your answer can only include one of options A, B, C or D.",
    "Answer using a single number and nothing else.",
)
SPAR_BOX_NOTE_TYPES = ("position_matching", "camera_motion_infer")
SPAR_BOX_NOTE = (
    "The values represent the bounding box coordinates normalized to a 0-1000 scale, "
    "with the top-left corner as the origin of the image."
)


class RepeatedIdsWarning(UserWarning):
    """An authors' file repeats item ids; its items were renamed ``<dataset>-<record index>``."""


def dataset_of(path: str | Path) -> str:
    """The dataset name a file's stem implies (``vsi_bench.json`` -> ``vsi_bench``); ItemError when unknown."""
    stem = Path(path).stem
    if stem not in DATASETS:
        raise ItemError(f"cannot tell the benchmark of {path}: its name must be one of {', '.join(DATASETS)} (.json)")
    return stem


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``.json`` (a list) or ``.jsonl`` (one object a line) file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            records = json.loads(text)
    except OSError as error:
        raise ItemError(f"cannot read {path}: {error.strerror or error}") from error
    except ValueError as error:
        raise ItemError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(records, list) or not all(isinstance(record, dict) for record in records):
        raise ItemError(f"{path} must hold a list of objects (one per question)")
    return records


def load_authors_benchmark(
    path: str | Path,
    dataset: str | None = None,
    image_folder: str | Path | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
    check_images: bool = True,
) -> list[EvalItem]:
    """The items of one authors' benchmark file.

    ``dataset`` defaults to the file's stem; ``image_folder`` (the root of the
    ``image_path`` entries) to the file's folder; ``max_frames`` is the frame
    count the VSI-Bench prompt announces. With ``check_images``, a missing image
    file is an :class:`ItemError`. An item's id is the record's ``problem_id``
    (else ``id``, else its index); when these repeat in the file, every item is
    named ``<dataset>-<record index>`` instead (0-based, the order of the file), with a
    :class:`RepeatedIdsWarning`.
    """
    path = Path(path)
    dataset = dataset or dataset_of(path)
    if dataset not in DATASETS:
        raise ItemError(f"unknown benchmark {dataset!r}; expected one of {', '.join(DATASETS)}")
    folder = Path(image_folder) if image_folder is not None else path.parent
    items = []
    for number, record in enumerate(read_records(path)):
        where = f"{path}, record {number}"
        item = _item(record, dataset, folder, max_frames, where, number)
        if check_images:
            missing = [str(image) for image in item.images if not image.is_file()]
            if missing:
                raise ItemError(f"{where}: image file(s) not found: {', '.join(missing[:3])}")
        items.append(item)
    counts = Counter(item.id for item in items)
    repeated = [key for key, count in counts.items() if count > 1]
    if repeated:
        shown = ", ".join(repr(key) for key in repeated[:3]) + (", ..." if len(repeated) > 3 else "")
        warnings.warn(
            f"{path}: {len(repeated)} item id(s) repeat ({shown}); the items are named "
            f"{dataset}-<record index> instead ({dataset}-0 ... {dataset}-{len(items) - 1})",
            RepeatedIdsWarning,
            stacklevel=2,
        )
        items = [dataclasses.replace(item, id=f"{dataset}-{number}") for number, item in enumerate(items)]
    return items


def _item(record: dict[str, Any], dataset: str, folder: Path, max_frames: int, where: str, number: int) -> EvalItem:
    question = _field(record, "question", str, where)
    problem_type = _field(record, "problem_type", str, where).lower()
    answer_type = answer_type_for(problem_type, where)
    answer = record.get("answer")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        answer = str(answer)
    if not isinstance(answer, str):
        raise ItemError(f"{where}: answer must be a string, got {answer!r}")
    image_paths = _field(record, "image_path", list, where)
    if not image_paths or not all(isinstance(name, str) and name for name in image_paths):
        raise ItemError(f"{where}: image_path must be a non-empty list of file names")
    options: tuple[str, ...] = ()
    if problem_type == scoring.MULTIPLE_CHOICE and record.get("options") is not None:
        raw_options = record["options"]
        if not isinstance(raw_options, list) or not all(isinstance(option, str) for option in raw_options):
            raise ItemError(f"{where}: options must be a list of strings")
        options = tuple(raw_options)
    option_text = "\n" + "\n".join(options) if options else ""
    suffix = TYPE_SUFFIX[problem_type]
    max_turns = MAZE_MAX_TURNS if dataset == MAZE else DEFAULT_MAX_TURNS

    if dataset == VSI_BENCH:
        style, images = PromptStyle.VIDEO, image_paths
        reference_body = VIDEO_PREFIX.replace("{n}", str(max_frames)) + question + option_text + suffix
    elif dataset in (MAZE, SPATIALEVAL_REAL):
        style, images = PromptStyle.SINGLE, image_paths[:1]
        reference_body = question + option_text + SINGLE_INDEX_LINE + suffix
    else:
        data_type = _field(record, "data_type", str, where)
        note = SPAR_BOX_NOTE if record.get("original_question_type") in SPAR_BOX_NOTE_TYPES else ""
        body = _without_spar_instructions(question + option_text) + "\n" + note
        # The loop sends reference_body; the item's question (records, traces) gets the same edits.
        question = _without_spar_instructions(question).rstrip() + ("\n" + note if note else "")
        if data_type == "single_view":
            style, images = PromptStyle.SINGLE, image_paths[:1]
            reference_body = body + SINGLE_INDEX_LINE + suffix
        elif data_type == "multi_view":
            style, images = PromptStyle.VIEWS, image_paths
            reference_body = body + suffix
        else:
            raise ItemError(f"{where}: data_type must be 'single_view' or 'multi_view', got {data_type!r}")

    family = record.get("original_question_type") or record.get("question_type") or problem_type
    item_id = record.get("problem_id", record.get("id", number))
    return EvalItem(
        id=str(item_id),
        family=str(family),
        question=question,
        options=options,
        answer_type=answer_type,
        problem_type=problem_type,
        answer=answer,
        prompt_style=style,
        images=tuple(folder / name for name in images),
        source=dataset,
        reference_body=reference_body,
        max_turns=max_turns,
        extra=dict(record),
    )


def _without_spar_instructions(text: str) -> str:
    for removed in SPAR_REMOVED:
        text = text.replace(removed, "")
    return text


def _field(record: dict[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in record:
        raise ItemError(f"{where}: missing field {name!r}")
    value = record[name]
    if not isinstance(value, kind):
        raise ItemError(f"{where}: field {name!r} must be a {kind.__name__}, got {type(value).__name__}")
    return value
