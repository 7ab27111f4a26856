"""Rollouts: questions answered by the policy through the deployment's engine, scored and rewarded.

A rollout is one query of :func:`vilasr_ros.training.data.run_item` (the eval's
query path) with sampling; its turns are scored by the benchmark's rule, checked
for format and counted for revisions (:mod:`vilasr_ros.evaluation.behaviour`).
With a :class:`CapturingBackend` it also keeps the conversation's exact token
ids and images (:class:`Example`) for the teacher-forced forward of GRPO.

Rewards (stage 3): the outcome (the item's score: choice exact, numeric MRA),
plus ``format_weight`` when the turns have the required format AND the outcome
is above 0 (ViLaSR's format reward, gated on the outcome).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from vilasr_ros.config import EngineConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.evaluation.behaviour import count_revisions, format_problems
from vilasr_ros.evaluation.items import EvalItem
from vilasr_ros.reasoning.backend import Backend
from vilasr_ros.training.data import run_item
from vilasr_ros.training.examples import CapturingBackend, Example


@dataclass
class Rollout:
    """One sampled query and what it earned."""

    item_id: str
    turns: list[str]
    answer: str | None
    score: float  # the benchmark's score of the answer (0 without one)
    format_valid: bool
    revisions: int
    stop_reason: str
    example: Example | None = None

    def reward(self, format_weight: float) -> float:
        """Outcome plus the format reward, which counts only when the outcome is above 0."""
        return self.score + (format_weight if self.format_valid and self.score > 0 else 0.0)


def rollout(
    item: EvalItem, frames: Sequence[Frame], backend: Backend, engine_config: EngineConfig, seed: int
) -> Rollout:
    """Answer ``item`` once with sampling seeded by ``seed``."""
    config = dataclasses.replace(engine_config, max_turns=item.max_turns, seed=seed)
    outcome = run_item(item, frames, backend, config)
    result = outcome.result
    turns = [turn.text for turn in result.turns] if result is not None else []
    sources = {image.index: image.source_index for image in result.images} if result is not None else {}
    answer = result.answer if result is not None else None
    captured = backend.captured if isinstance(backend, CapturingBackend) else None
    return Rollout(
        item_id=item.id,
        turns=turns,
        answer=answer,
        score=item.score(answer) if answer is not None else 0.0,
        format_valid=not format_problems(turns),
        revisions=count_revisions(turns, sources.get),
        stop_reason=str(outcome.stop_reason),
        example=captured,
    )
