"""Load evaluation items from any supported source: a generated benchmark folder or an authors' file."""

from __future__ import annotations

from pathlib import Path

from vilasr_ros.evaluation.authors import DEFAULT_MAX_FRAMES, load_authors_benchmark
from vilasr_ros.evaluation.benchmark import is_benchmark, load_benchmark
from vilasr_ros.evaluation.items import EvalItem, ItemError


def load_items(
    source: str | Path,
    dataset: str | None = None,
    image_folder: str | Path | None = None,
    max_frames: int = DEFAULT_MAX_FRAMES,
) -> list[EvalItem]:
    """A generated benchmark folder (with benchmark.json), or an authors' ``<dataset>.json``/``.jsonl`` file
    (``dataset`` defaults to the file's stem, ``image_folder`` to its folder)."""
    source = Path(source)
    if source.is_dir():
        if not is_benchmark(source):
            raise ItemError(f"{source} is a directory without benchmark.json: not a generated benchmark")
        return load_benchmark(source)
    if not source.is_file():
        raise ItemError(f"{source} does not exist")
    return load_authors_benchmark(source, dataset, image_folder, max_frames)
