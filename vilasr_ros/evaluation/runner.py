"""``vilasr-ros eval``: every item through the node's query path, scored, recorded, tabulated; resumable.

Each item becomes a :class:`ResolvedQuery` (:func:`resolve_request`) answered by
:func:`vilasr_ros.query.answer` about the item's frames (a generated
item: its scene's keyframe folder with depth, calibration and poses; an
authors' item: its image files), with the item's prompt style (video or
images) and model-call limit. The output folder holds:

    run.json        the settings; a restart with other settings is refused
    records.jsonl   one record per item, appended as items finish (one write per line);
                    a restart skips the items recorded there
    table.json      the per-family table (:func:`tables.aggregate`) over the records, in item order
    table.md        the same as markdown

A record: ``id``, ``family``, ``problem_type``, ``answer`` (the model's),
``truth``, ``score`` (the authors' rule), ``stop_reason``, ``error``, ``turns``,
``boxes``, ``lines``, ``revisions`` (:mod:`behaviour`), ``format_valid`` and
``format_problems``, the work counters (``prefill_tokens``, ``decoded_tokens``,
``vision_patches``, ``model_calls``), ``seconds``, and for metric items with 3D
estimates ``estimated_value`` and ``estimated_score`` (:mod:`estimated_answers`).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from vilasr_ros.config import BackendConfig, EngineConfig, QueryConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.stop import StopReason
from vilasr_ros.evaluation import tables
from vilasr_ros.evaluation.behaviour import count_revisions, drawing_counts, format_problems
from vilasr_ros.evaluation.estimated_answers import estimated_score, estimated_value
from vilasr_ros.evaluation.items import EvalItem, PromptStyle
from vilasr_ros.evaluation.traces import ideal_trace, random_trace
from vilasr_ros.io.frame_files import FrameFiles, read_frames
from vilasr_ros.io.keyframe_folder import read_keyframes
from vilasr_ros.query import QueryOutcome, answer_frames
from vilasr_ros.query.request import QueryError, QueryRequest, resolve_request
from vilasr_ros.reasoning.backend import Backend, BackendError
from vilasr_ros.reasoning.replay_backend import ReplayBackend, load_script

RUN = "run.json"
RECORDS = "records.jsonl"
TABLE_JSON = "table.json"
TABLE_MD = "table.md"
TRACES = ("ideal", "random")
SERVER_BACKENDS = ("openai", "replay")  # backends whose sessions may run concurrently (--workers)
RETRIED = (StopReason.BACKEND_ERROR.value, StopReason.TIMEOUT.value)
MARKDOWN_COLUMNS = (
    "count",
    "score",
    "accuracy",
    "mra",
    "mean_estimated_score",
    "mean_turns",
    "mean_boxes",
    "mean_lines",
    "mean_revisions",
    "mean_format_valid",
    "mean_decoded_tokens",
    "mean_seconds",
    "stop_reasons",
)
FRAME_CACHE = 4  # scenes kept in memory (items of a scene are consecutive)
BAR_WIDTH = 10  # characters of the progress bar


class EvalError(ValueError):
    """The evaluation cannot run (bad settings, an output folder of another run); the message says why."""


@dataclass(frozen=True)
class EvalSettings:
    """How items are answered. ``trace`` (replay only) builds each item's turns: ``ideal`` or ``random``
    (:mod:`traces`; with ``no_tools``, only their answer turn); ``transcript`` (replay only) is a script
    file instead. ``timeout`` 0: no time limit per item."""

    backend: str = "transformers"
    model: str = BackendConfig.model
    url: str = BackendConfig.url
    device: str = BackendConfig.device
    dtype: str = BackendConfig.dtype
    transcript: str = ""
    trace: str = ""
    no_tools: bool = False
    seed: int = 0
    temperature: float = EngineConfig.temperature
    max_new_tokens: int = EngineConfig.max_new_tokens
    max_pixels: int = EngineConfig.max_pixels
    timeout: float = 0.0

    def check(self, workers: int) -> None:
        """Raise :class:`EvalError` for an impossible combination."""
        if self.backend == "replay" and bool(self.trace) == bool(self.transcript):
            raise EvalError("--backend replay needs exactly one of --trace ideal|random and --transcript")
        if self.backend != "replay" and (self.trace or self.transcript):
            raise EvalError("--trace and --transcript replay turns: they go with --backend replay")
        if self.trace and self.trace not in TRACES:
            raise EvalError(f"--trace must be one of {', '.join(TRACES)}, got {self.trace!r}")
        if workers < 1:
            raise EvalError(f"--workers must be at least 1, got {workers}")
        if workers > 1 and self.backend not in SERVER_BACKENDS:
            raise EvalError(
                f"--workers {workers}: only a server backend ({', '.join(SERVER_BACKENDS)}) runs items in parallel"
            )
        if self.timeout < 0 or not math.isfinite(self.timeout):
            raise EvalError(f"--timeout must be a non-negative number of seconds, got {self.timeout}")


@dataclass(frozen=True)
class EvalSummary:
    """What a run did: items selected, answered now, found already recorded; the table over all records."""

    out: Path
    selected: int
    ran: int
    resumed: int
    table: dict[str, Any]
    interrupted: bool = False


# --- records ------------------------------------------------------------------------------------


class RecordLog:
    """``records.jsonl``: one JSON object a line, appended with one ``write`` of a whole line.

    A line cut short by an interruption (no final newline) is removed when the log opens, so the next
    record starts on a line of its own. When an id appears twice, the later record counts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._repair()

    def _repair(self) -> None:
        if not self.path.is_file():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as handle:
                handle.truncate(data.rfind(b"\n") + 1)

    def read(self) -> dict[str, dict[str, Any]]:
        """The records by item id (the last one per id)."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.is_file():
            return records
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                records[str(record["id"])] = record
            except (ValueError, KeyError, TypeError) as error:
                raise EvalError(
                    f"{self.path}, line {number}: not a record ({error!r}); remove the line to go on"
                ) from None
        return records

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, line)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)


# --- frames and backends ------------------------------------------------------------------------


class FrameSource:
    """The frames of an item: its scene's keyframe folder (generated items), else its image files."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._cache: dict[str, list[Frame]] = {}
        self._lock = threading.Lock()

    def frames(self, item: EvalItem) -> list[Frame]:
        """Raises :class:`DataError` when the files cannot be read."""
        folder = item.extra.get("keyframes") if item.source == "generated" else None
        key = str(self.root / folder) if folder and self.root is not None else "|".join(map(str, item.images))
        with self._lock:
            if key not in self._cache:
                if len(self._cache) >= FRAME_CACHE:
                    self._cache.pop(next(iter(self._cache)))
                if folder and self.root is not None:
                    loaded = read_keyframes(self.root / folder)
                else:
                    loaded = read_frames(FrameFiles([str(path) for path in item.images]))
                if len(loaded) != len(item.images):
                    raise DataError(f"item {item.id}: {len(item.images)} images listed, {len(loaded)} keyframes found")
                self._cache[key] = loaded
            return self._cache[key]


def item_seed(seed: int, item: EvalItem) -> int:
    """A seed per item, the same whichever order or run the item is answered in."""
    return (seed * 1_000_003 + zlib.crc32(item.id.encode("utf-8"))) % (2**31)


class Backends:
    """The backend that answers an item: one shared model backend, or a replay built per item."""

    def __init__(self, settings: EvalSettings, create: Callable[[BackendConfig], Backend]) -> None:
        self.settings = settings
        self.shared: Backend | None = None
        self.by_id: dict[str, list[str]] | None = None
        if settings.backend == "replay" and settings.transcript:
            self.by_id = _transcripts_by_id(settings.transcript)
            if self.by_id is None:
                self.shared = ReplayBackend(load_script(settings.transcript))
        elif settings.backend != "replay":
            self.shared = create(
                BackendConfig(
                    kind=settings.backend,
                    model=settings.model,
                    url=settings.url,
                    device=settings.device,
                    dtype=settings.dtype,
                )
            )

    def for_item(self, item: EvalItem) -> Backend:
        if self.shared is not None:
            return self.shared
        if self.by_id is not None:
            if item.id not in self.by_id:
                raise BackendError(f"the transcript file has no turns for item {item.id}")
            return ReplayBackend(self.by_id[item.id])
        rng = np.random.default_rng(item_seed(self.settings.seed, item))
        turns = ideal_trace(item) if self.settings.trace == "ideal" else random_trace(item, rng)
        return ReplayBackend(turns[-1:] if self.settings.no_tools else turns)  # no tools: the answer turn only

    def close(self) -> None:
        if self.shared is not None:
            self.shared.close()


def _transcripts_by_id(path: str) -> dict[str, list[str]] | None:
    """``{"by_id": {item id: [turns]}}`` files; None for the other transcript formats (by question, one list)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EvalError(f"cannot read transcript {path}: {error}") from None
    if not (isinstance(document, dict) and "by_id" in document):
        return None
    entries = document["by_id"]
    if not isinstance(entries, dict) or not all(
        isinstance(turns, list) and turns and all(isinstance(turn, str) for turn in turns) for turns in entries.values()
    ):
        raise EvalError(f"transcript {path}: by_id must map item ids to non-empty lists of assistant turns")
    return {str(key): value for key, value in entries.items()}


# --- one item -----------------------------------------------------------------------------------


def item_request(item: EvalItem, frame_count: int) -> QueryRequest:
    """The request of an item about its ``frame_count`` frames.

    An authors' item sends its ``reference_body`` (the text their ``infer.py`` builds) verbatim in the
    question template; its options then only serve to read the answer, so a multiple-choice record
    whose options are written in the question alone runs too. A generated item's text is built by the
    loop from its question and options, as a planner's would be.
    """
    return QueryRequest(
        question=item.question,
        options=item.options,
        answer_type=item.answer_type,
        max_keyframes=frame_count,
        prompt_body=item.reference_body or "",
    )


def item_video(item: EvalItem) -> bool:
    """The engine's ``video`` flag for ``item``: VSI-Bench's frames; with the reference's body also the
    multi-view branch, which puts an index line after every view (a single one too)."""
    return item.prompt_style is PromptStyle.VIDEO or (
        item.reference_body is not None and item.prompt_style is PromptStyle.VIEWS
    )


def evaluate_item(
    item: EvalItem, frames: Sequence[Frame], backend: Backend, settings: EvalSettings, cancel: threading.Event
) -> dict[str, Any]:
    """Answer ``item`` through the query path and describe the outcome as a record."""
    request = item_request(item, len(frames))
    engine_config = EngineConfig(
        max_turns=item.max_turns,
        max_pixels=settings.max_pixels,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        seed=item_seed(settings.seed, item),
    )
    try:
        query = resolve_request(request, QueryConfig(), query_id=item.id)
    except QueryError as error:
        return _record(item, None, str(StopReason.REJECTED), f"invalid request: {error}")
    deadline = time.monotonic() + settings.timeout if settings.timeout > 0 else math.inf
    outcome = answer_frames(
        query,
        frames,
        backend,
        engine_config,
        video=item_video(item),
        tools=not settings.no_tools,
        cancel=cancel,
        deadline=deadline,
    )
    return _record(item, outcome, str(outcome.stop_reason), outcome.error)


def _record(item: EvalItem, outcome: QueryOutcome | None, stop_reason: str, error: str) -> dict[str, Any]:
    result = outcome.result if outcome is not None else None
    texts = [turn.text for turn in result.turns] if result is not None else []
    sources = {image.index: image.source_index for image in result.images} if result is not None else {}
    boxes, lines = drawing_counts(texts)
    problems = format_problems(texts)
    work = result.work if result is not None else {}
    model_answer = result.answer if result is not None else None
    value = estimated_value(item, outcome.estimates if outcome is not None else None)
    record: dict[str, Any] = {
        "id": item.id,
        "family": item.family,
        "problem_type": item.problem_type,
        "question": item.question,
        "truth": item.answer,
        "answer": model_answer,
        "score": item.score(model_answer) if model_answer is not None else 0.0,
        "stop_reason": stop_reason,
        "error": error,
        "turns": len(texts),
        "boxes": boxes,
        "lines": lines,
        "revisions": count_revisions(texts, sources.get),
        "format_valid": not problems,
        "format_problems": problems,
        "prefill_tokens": int(work.get("prefill_tokens", 0)),
        "decoded_tokens": int(work.get("decoded_tokens", 0)),
        "vision_patches": int(work.get("vision_patches", 0)),
        "model_calls": int(work.get("model_calls", 0)),
        "seconds": round(outcome.latency if outcome is not None else 0.0, 4),
    }
    if value is not None and math.isfinite(value):
        record["estimated_value"] = round(value, 4)
        record["estimated_score"] = estimated_score(item, value)
    return record


# --- the run ------------------------------------------------------------------------------------


def run_evaluation(
    items: Sequence[EvalItem],
    out: str | Path,
    settings: EvalSettings,
    *,
    source: str = "",
    root: Path | None = None,
    limit: int | None = None,
    workers: int = 1,
    retry_errors: bool = False,
    create_backend: Callable[[BackendConfig], Backend] | None = None,
    progress: TextIO | None = None,
    stop: threading.Event | None = None,
) -> EvalSummary:
    """Answer the first ``limit`` items (all: None) not yet recorded in ``out``, then write the table.

    ``root`` is a generated benchmark's folder (its items' keyframe folders are relative to it);
    ``source`` names the benchmark in run.json. Setting ``stop`` (or Ctrl-C) ends the run after the
    items in flight; they are not recorded, so a restart answers them. ``progress``: where the
    status line goes (None: nowhere).
    """
    settings.check(workers)
    if limit is not None and limit < 1:
        raise EvalError(f"--limit must be at least 1, got {limit}")
    out = Path(out)
    _claim(out, settings, source)
    selected = list(items[:limit] if limit is not None else items)
    ids = [item.id for item in selected]
    if len(set(ids)) != len(ids):
        raise EvalError("the benchmark has repeated item ids; records could not be told apart")
    log = RecordLog(out / RECORDS)
    done = log.read()
    redo = {key for key, record in done.items() if retry_errors and record.get("stop_reason") in RETRIED}
    todo = [item for item in selected if item.id not in done or item.id in redo]
    resumed = len(selected) - len(todo)

    if create_backend is None:
        from vilasr_ros.reasoning.factory import create_backend
    try:
        backends = Backends(settings, create_backend)
    except BackendError as error:
        raise EvalError(f"cannot load the backend: {error}") from error
    frames = FrameSource(root)
    stop = stop or threading.Event()
    meter = Progress(len(selected), [done[key]["score"] for key in ids if key in done and key not in redo], progress)
    ran, interrupted = 0, False

    def work(item: EvalItem) -> dict[str, Any]:
        if stop.is_set():
            return {"id": item.id, "stop_reason": StopReason.CANCELLED.value}
        try:
            return evaluate_item(item, frames.frames(item), backends.for_item(item), settings, stop)
        except DataError as error:
            return _record(item, None, StopReason.REJECTED.value, f"cannot read the item's frames: {error}")
        except BackendError as error:
            return _record(item, None, StopReason.BACKEND_ERROR.value, f"backend error: {error}")

    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eval")
    try:
        pending: set[Future] = {executor.submit(work, item) for item in todo}
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                record = future.result()
                if record["stop_reason"] == StopReason.CANCELLED.value:
                    continue  # not an answer: a restart runs it again
                log.append(record)
                ran += 1
                meter.update(float(record["score"]))
            if stop.is_set():
                interrupted = True
    except KeyboardInterrupt:
        interrupted = True
        stop.set()
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        backends.close()
        meter.close()
        table = write_table(out, selected, log.read())
    return EvalSummary(out, len(selected), ran, resumed, table, interrupted)


def write_table(out: Path, items: Sequence[EvalItem], records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """table.json and table.md over the records of ``items``, in item order (the same table whatever
    order or how many runs the records came from)."""
    ordered = [records[item.id] for item in items if item.id in records]
    if not ordered:
        table: dict[str, Any] = {"families": {}, "overall": {"count": 0}}
    else:
        table = tables.aggregate(ordered, rule=tables.overall_rule(item.source for item in items))
    (out / TABLE_JSON).write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    text = tables.to_markdown(table, MARKDOWN_COLUMNS) if ordered else "no records yet\n"
    (out / TABLE_MD).write_text(text, encoding="utf-8")
    return table


def _claim(out: Path, settings: EvalSettings, source: str) -> None:
    """Create ``out`` with run.json, or check that the run there used the same settings."""
    wanted = {"source": source, "settings": asdict(settings)}
    path = out / RUN
    if path.is_file():
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise EvalError(f"{path} is not valid JSON ({error}); use another --out") from None
        if found != wanted:
            changed = sorted(
                key
                for key in set(found.get("settings", {})) | set(wanted["settings"])
                if found.get("settings", {}).get(key) != wanted["settings"].get(key)
            ) + (["source"] if found.get("source") != source else [])
            raise EvalError(f"{out} holds a run with other settings ({', '.join(changed)}); give another --out")
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise EvalError(f"{out} is not empty and holds no {RUN}: give a new or empty directory")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(wanted, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """One status line: a bar, items done of the total, the accuracy so far (the mean item score: choices
    right, MRA of numbers), items per second, time left, e.g.
    ``eval [#####-----] 5/10 items, accuracy 40.0%, 1.23 items/s, 4 s left``.

    On a terminal the line is rewritten in place; otherwise a line is printed every ``interval`` seconds
    and at the end. ``stream`` None prints nothing.
    """

    def __init__(
        self, total: int, earlier_scores: Sequence[float], stream: TextIO | None, interval: float = 10.0
    ) -> None:
        self.total = total
        self.scores = list(earlier_scores)
        self.resumed = len(self.scores)
        self.stream = stream
        self.interval = interval
        self.started = time.monotonic()
        self.printed = -math.inf
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._show(force=True)

    def line(self) -> str:
        done = len(self.scores)
        ran = done - self.resumed
        elapsed = time.monotonic() - self.started
        rate = ran / elapsed if elapsed > 0 else 0.0
        accuracy = f"{100 * sum(self.scores) / done:.1f}%" if done else "-"
        left = f", {(self.total - done) / rate:.0f} s left" if rate > 0 and done < self.total else ""
        resumed = f" ({self.resumed} recorded before)" if self.resumed else ""
        filled = BAR_WIDTH * done // self.total if self.total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return f"eval [{bar}] {done}/{self.total} items{resumed}, accuracy {accuracy}, {rate:.2f} items/s{left}"

    def update(self, score: float) -> None:
        self.scores.append(score)
        self._show(force=len(self.scores) == self.total)

    def close(self) -> None:
        if self.stream is not None and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self, force: bool = False) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line())
        elif force or now - self.printed >= self.interval:
            self.stream.write(self.line() + "\n")
        else:
            return
        self.printed = now
        self.stream.flush()
