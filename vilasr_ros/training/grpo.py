"""Stage 3: GRPO through the deployment's engine, on accelerate.

Per step and question, ``n`` rollouts are sampled by the policy through the
engine (image-producing tool turns included: the drawn images are part of
the conversation the model sees). Rewards are outcome + gated format
(:meth:`Rollout.reward`); advantages are group-normalised,
``(r - mean) / (std + eps)``. The loss over the assistant tokens of each whole
multi-turn conversation, teacher-forced on the rollout's exact sampled ids and
images, is::

    -A * exp(logp - logp.detach())  +  beta * k3,    k3 = exp(ref - logp) - (ref - logp) - 1

(one policy update per batch of rollouts, so the ratio is 1 and its gradient
the policy gradient; ``k3`` is the low-variance KL estimator of the
reference policy, the initial model, with ``beta`` 0.01 as in the authors'
config), averaged over each conversation's tokens, then over the group.
Groups whose rewards are all equal carry no advantage and only the KL term.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import torch

from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.benchmark import load_benchmark
from vilasr_ros.training.curves import CURVES, PLOT, CurveLog, plot_curves, read_curves
from vilasr_ros.training.data import ItemStore
from vilasr_ros.training.examples import CapturingBackend, target_logprobs
from vilasr_ros.training.rollouts import Rollout, rollout
from vilasr_ros.training.trainer import Trainer, TrainError, TrainSettings


@dataclass(frozen=True)
class GRPOSettings:
    group: int = 4  # rollouts per question
    beta: float = 0.01  # KL coefficient (k3 estimator)
    format_weight: float = 0.5
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256


@dataclass(frozen=True)
class GRPOSummary:
    out: Path
    steps: int
    mean_reward: float
    changed: float  # largest absolute weight change against the reference policy


def advantages(rewards: list[float], eps: float = 1e-6) -> list[float]:
    """Group-normalised advantages (all zero when the rewards are all equal)."""
    values = np.asarray(rewards, dtype=float)
    spread = values.std()
    if spread < eps:
        return [0.0] * len(rewards)
    return list((values - values.mean()) / (spread + eps))


def k3(ref_logprobs: torch.Tensor, logprobs: torch.Tensor) -> torch.Tensor:
    """The low-variance KL estimator per token: exp(ref - logp) - (ref - logp) - 1 (never negative)."""
    delta = ref_logprobs - logprobs
    return torch.exp(delta) - delta - 1


def train_grpo(
    model_dir: str | Path,
    benchmark: str | Path,
    out: str | Path,
    settings: TrainSettings,
    grpo: GRPOSettings = GRPOSettings(),
    *,
    max_pixels: int = EngineConfig.max_pixels,
    progress: TextIO | None = sys.stderr,
) -> GRPOSummary:
    """Run ``settings.steps`` GRPO steps (``settings.accumulate`` questions each) on ``benchmark``'s items."""
    if grpo.group < 2:
        raise TrainError(f"a GRPO group needs at least 2 rollouts, got {grpo.group}")
    trainer = Trainer(model_dir, out, settings, "grpo")
    reference = copy.deepcopy(trainer.backend.model).eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    if (Path(out) / "trainer_state.pt").is_file():  # resumed: the reference is the stage's input model
        from transformers import Qwen2_5_VLForConditionalGeneration

        reference = Qwen2_5_VLForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32).eval()
        reference.requires_grad_(False)
    benchmark = str(Path(benchmark).resolve())
    items = trainer.shard(load_benchmark(benchmark))
    if not items:
        raise TrainError(f"no items in {benchmark} for this process")
    store = ItemStore()
    sampler = CapturingBackend(trainer.backend)
    engine_config = EngineConfig(
        max_pixels=max_pixels, temperature=grpo.temperature, top_p=grpo.top_p, max_new_tokens=grpo.max_new_tokens
    )
    log = CurveLog(out, "grpo", settings.steps, progress if trainer.is_main else None)
    order = np.random.default_rng(settings.seed).permutation(10**6) % len(items)
    rewards_seen: list[float] = []
    while trainer.step < settings.steps:
        groups: list[list[Rollout]] = []
        for slot in range(settings.accumulate):
            item = items[int(order[(trainer.step * settings.accumulate + slot) % len(order)])]
            frames = store.frames(benchmark, store.item(benchmark, item.id))
            base = settings.seed * 1_000_003 + (trainer.step * settings.accumulate + slot) * 997
            groups.append([rollout(item, frames, sampler, engine_config, seed=base + i) for i in range(grpo.group)])
        flat = [r for group in groups for r in group]
        rewards = [r.reward(grpo.format_weight) for r in flat]
        kls: list[float] = []
        loss = trainer.update(_losses(trainer, reference, groups, grpo, kls))
        rewards_seen += rewards
        log.log(
            trainer.step,
            loss=loss,
            reward=float(np.mean(rewards)),
            accuracy=float(np.mean([r.score for r in flat])),
            format_valid=float(np.mean([r.format_valid for r in flat])),
            reflection=float(np.mean([r.revisions > 0 for r in flat])),
            kl=float(np.mean(kls)) if kls else 0.0,
        )
        if trainer.step % settings.save_every == 0 or trainer.step == settings.steps:
            trainer.save({"benchmark": benchmark, **grpo.__dict__})
    if trainer.is_main and (Path(out) / CURVES).is_file():
        plot_curves(read_curves(Path(out) / CURVES), Path(out) / PLOT)
    changed = max(
        float((a.detach().float() - b.detach().float()).abs().max())
        for a, b in zip(trainer.backend.model.parameters(), reference.parameters())
    )
    return GRPOSummary(Path(out), trainer.step, float(np.mean(rewards_seen)) if rewards_seen else 0.0, changed)


def _losses(
    trainer: Trainer, reference: torch.nn.Module, groups: list[list[Rollout]], grpo: GRPOSettings, kls: list[float]
) -> Iterator[torch.Tensor]:
    """Each group's loss: the mean over its rollouts of the token-mean of -A*ratio + beta*k3; the mean
    k3 of each rollout is appended to ``kls``."""
    for group in groups:
        group_advantages = advantages([member.reward(grpo.format_weight) for member in group])
        terms = []
        for member, advantage in zip(group, group_advantages):
            example = member.example
            if example is None or example.target_count == 0:
                continue
            with torch.no_grad():
                ref = target_logprobs(reference, example, trainer.device)
            with trainer.autocast():
                logprobs = target_logprobs(trainer.model, example, trainer.device)
            kl = k3(ref, logprobs)
            kls.append(float(kl.mean().detach()))
            ratio = torch.exp(logprobs - logprobs.detach())
            terms.append((-advantage * ratio + grpo.beta * kl).mean())
        if terms:
            yield torch.stack(terms).mean()
