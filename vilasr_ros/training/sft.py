"""Stage 1 (and stage 2's trainer): multi-turn, multi-image supervised fine-tuning, loss on assistant tokens.

Each SFT record (:mod:`vilasr_ros.training.data`) is rendered through the
engine with a record-only backend on the model's own processor, so the loss
sees the deployment's token ids, images (drawn ones included) and 3-D
positions; the loss is the mean negative log-likelihood of the tokens the
model writes (each assistant turn's text and end-of-turn token), averaged
over the examples of a step.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from vilasr_ros.config import EngineConfig
from vilasr_ros.training.curves import CURVES, PLOT, CurveLog, plot_curves, read_curves
from vilasr_ros.training.data import ItemStore, iter_examples, read_records
from vilasr_ros.training.examples import CapturingBackend, target_logprobs
from vilasr_ros.training.trainer import Trainer, TrainError, TrainSettings


@dataclass(frozen=True)
class SFTSummary:
    out: Path
    steps: int
    first_loss: float | None
    last_loss: float | None
    records: int


def train_sft(
    model_dir: str | Path,
    data: str | Path | Sequence[dict[str, Any]],
    out: str | Path,
    settings: TrainSettings,
    *,
    max_pixels: int = EngineConfig.max_pixels,
    stage: str = "sft",
    shuffle: bool = True,
    progress: TextIO | None = sys.stderr,
) -> SFTSummary:
    """Fine-tune ``model_dir`` on the SFT records in ``data`` (a file or the records) for ``settings.steps``
    optimiser steps, resuming from ``out`` when a checkpoint of this stage is there."""
    records = read_records(data) if isinstance(data, (str, Path)) else list(data)
    if not records:
        raise TrainError(f"no SFT records in {data}")
    trainer = Trainer(model_dir, out, settings, stage)
    mine = trainer.shard(records)
    if not mine:
        raise TrainError(f"{len(records)} records cannot feed {trainer.accelerator.num_processes} processes")
    recorder = CapturingBackend(trainer.backend, record_only=True)
    store = ItemStore()
    engine_config = EngineConfig(max_pixels=max_pixels)
    log = CurveLog(out, stage, settings.steps, progress if trainer.is_main else None)

    def stream():
        epoch = 0
        while True:
            order = list(range(len(mine)))
            if shuffle:
                np.random.default_rng([settings.seed, epoch]).shuffle(order)
            yield from iter_examples([mine[i] for i in order], recorder, engine_config, store)
            epoch += 1

    examples = stream()
    # skip what a resumed run already consumed, so the data order continues
    for _ in range(trainer.step * settings.accumulate):
        next(examples)
    first = last = None
    while trainer.step < settings.steps:
        tokens = [0]
        loss = trainer.update(_losses(trainer, examples, settings.accumulate, tokens))
        first = loss if first is None else first
        last = loss
        log.log(trainer.step, loss=loss, tokens=tokens[0], lr=trainer.schedule.get_last_lr()[0])
        if trainer.step % settings.save_every == 0 or trainer.step == settings.steps:
            trainer.save({"records": len(records)})
    if trainer.is_main and (Path(out) / CURVES).is_file():
        plot_curves(read_curves(Path(out) / CURVES), Path(out) / PLOT)
    return SFTSummary(Path(out), trainer.step, first, last, len(records))


def _losses(trainer: Trainer, examples: Iterator, count: int, tokens: list[int]) -> Iterator[torch.Tensor]:
    """The next ``count`` examples' losses (mean NLL of their target tokens); their target tokens are added
    to ``tokens[0]``."""
    for _ in range(count):
        _, example = next(examples)
        tokens[0] += example.target_count
        with trainer.autocast():
            logprobs = target_logprobs(trainer.model, example, trainer.device)
        yield -logprobs.mean()
