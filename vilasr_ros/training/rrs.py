"""Stage 2: reflective rejection sampling.

For each question, ``k`` traces are sampled through the engine (the
deployment's code path); the correct ones (score at least ``min_score``: a
choice exactly right, a number within the MRA threshold) are kept, reflective
ones first (a box or line label redrawn on the same keyframe in a later turn),
at most ``keep`` per question; they are written as SFT records and stage 1's
trainer fine-tunes on them.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.benchmark import load_benchmark
from vilasr_ros.reasoning.backend import Backend
from vilasr_ros.training.data import ItemStore, write_records
from vilasr_ros.training.rollouts import Rollout, rollout


@dataclass(frozen=True)
class SamplingSummary:
    questions: int
    sampled: int
    correct: int
    kept: int
    reflective: int


def select(rollouts: Sequence[Rollout], min_score: float, keep: int) -> list[Rollout]:
    """The correct rollouts (answered, format valid, score >= ``min_score``), reflective ones first
    (more revisions first), at most ``keep``."""
    correct = [r for r in rollouts if r.answer is not None and r.format_valid and r.score >= min_score]
    correct.sort(key=lambda r: -min(r.revisions, 1))  # stable: sampling order within each group
    return correct[:keep]


def sample_traces(
    benchmark: str | Path,
    backend: Backend,
    out: str | Path,
    *,
    k: int = 4,
    keep: int = 2,
    min_score: float = 1.0,
    engine_config: EngineConfig | None = None,
    seed: int = 0,
    limit: int | None = None,
    progress: TextIO | None = sys.stderr,
) -> SamplingSummary:
    """Sample ``k`` traces per question of ``benchmark`` with ``backend``; write the kept ones to ``out``."""
    if k < 1 or keep < 1:
        raise ValueError(f"k and keep must be at least 1, got {k} and {keep}")
    engine_config = engine_config or EngineConfig()
    store = ItemStore()
    benchmark = str(Path(benchmark).resolve())
    items = load_benchmark(benchmark)[:limit]
    records: list[dict[str, Any]] = []
    sampled = correct = reflective = 0
    for number, item in enumerate(items, start=1):
        frames = store.frames(benchmark, store.item(benchmark, item.id))
        group = [
            rollout(item, frames, backend, engine_config, seed=seed * 100_003 + number * 101 + i) for i in range(k)
        ]
        sampled += len(group)
        correct += sum(r.answer is not None and r.format_valid and r.score >= min_score for r in group)
        for chosen in select(group, min_score, keep):
            reflective += chosen.revisions > 0
            records.append(
                {
                    "benchmark": benchmark,
                    "id": item.id,
                    "turns": chosen.turns,
                    "reflective": chosen.revisions > 0,
                    "score": chosen.score,
                }
            )
        if progress is not None:
            progress.write(f"\rrrs sampling {number}/{len(items)}  kept {len(records)}  correct {correct}/{sampled}\n")
    write_records(out, records)
    return SamplingSummary(len(items), sampled, correct, len(records), reflective)
