"""The model being trained: accelerate, the optimiser, the deployment backend on the same weights, checkpoints.

Every stage trains through one :class:`Trainer`:

- the model loads with ``from_pretrained`` (fp32 master weights) from the
  stage's input model, or from the output folder when a checkpoint is there
  (resume); ``lora_rank`` wraps it with peft's LoRA (the base stays frozen);
- :class:`accelerate.Accelerator` prepares model, optimiser and schedule, so the
  same code runs on one CPU (bf16 autocast when ``bf16``), one GPU, or several
  processes under ``accelerate launch`` (each process takes every
  ``world_size``-th example; gradients are averaged by DDP/FSDP/DeepSpeed);
- :attr:`backend` is a :class:`TransformersBackend` on the very weights being
  trained: rollouts sample through the engine with it, and stage-1 examples are
  tokenised by it;
- :meth:`save` writes the model and processor to the output folder (a model
  folder the node loads with ``TransformersBackend(out)``) and
  ``trainer_state.pt`` (step, optimiser, schedule) for resuming.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vilasr_ros.reasoning.transformers_backend import TransformersBackend
from vilasr_ros.training.examples import base_model

STATE = "trainer_state.pt"
SETTINGS = "training.json"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainError(ValueError):
    """Training cannot start or continue; the message says why and what to do."""


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by the stages."""

    steps: int = 100
    lr: float = 5e-4
    warmup: int = 10
    accumulate: int = 1  # examples (stage 1-2) or groups (stage 3) per optimiser step and process
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    seed: int = 0
    bf16: bool = False  # bfloat16 autocast, fp32 master weights (slower on a CPU without bf16 units)
    save_every: int = 50
    lora_rank: int = 0  # 0: train every weight
    gradient_checkpointing: bool = False  # recompute activations in the backward (long conversations, big models)
    device: str = "auto"

    def check(self) -> None:
        if self.steps < 1 or self.accumulate < 1 or self.save_every < 1:
            raise TrainError("steps, accumulate and save_every must be at least 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise TrainError(f"the learning rate must be a positive number, got {self.lr}")
        if self.warmup < 0 or self.lora_rank < 0:
            raise TrainError("warmup and lora_rank must not be negative")


class Trainer:
    """A model, its optimiser and schedule under accelerate, checkpointed to ``out``."""

    def __init__(self, model_dir: str | Path, out: str | Path, settings: TrainSettings, stage: str) -> None:
        from accelerate import Accelerator
        from accelerate.utils import set_seed
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        settings.check()
        self.settings = settings
        self.stage = stage
        self.out = Path(out)
        cpu = settings.device == "cpu" or (settings.device == "auto" and not torch.cuda.is_available())
        self.accelerator = Accelerator(cpu=cpu, mixed_precision="bf16" if settings.bf16 else "no")
        set_seed(settings.seed)
        resuming = (self.out / STATE).is_file()
        source = self.out if resuming and not settings.lora_rank else Path(model_dir)
        if not (source / "config.json").is_file():
            raise TrainError(f"{source} is not a model folder (no config.json)")
        self.processor = AutoProcessor.from_pretrained(source)
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(source, dtype=torch.float32)
        if settings.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        if settings.lora_rank:
            model = _with_lora(model, settings.lora_rank, self.out / "adapter" if resuming else None)
        trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=settings.lr, weight_decay=settings.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(settings.warmup, settings.steps))
        self.model, self.optimizer, self.schedule = self.accelerator.prepare(model, optimizer, schedule)
        self.step = 0
        if resuming:
            state = torch.load(self.out / STATE, map_location="cpu", weights_only=False)
            if state.get("stage") != stage:
                raise TrainError(f"{self.out} holds a {state.get('stage')} checkpoint, not {stage}: use another --out")
            self.optimizer.load_state_dict(state["optimizer"])
            self.schedule.load_state_dict(state["schedule"])
            self.step = int(state["step"])
        self.device = self.accelerator.device
        self.backend = TransformersBackend.from_loaded(base_model(self.model), self.processor, decode="dynamic")

    @property
    def is_main(self) -> bool:
        return self.accelerator.is_main_process

    def shard(self, values: list) -> list:
        """This process's share of ``values`` (every world_size-th, from its rank)."""
        return values[self.accelerator.process_index :: self.accelerator.num_processes]

    def update(self, losses: Iterable[torch.Tensor]) -> float:
        """One optimiser step over ``losses`` (each backpropagated as the iterable produces it, so one
        conversation's activations are alive at a time); returns their mean."""
        self.model.train()
        values = []
        for loss in losses:
            self.accelerator.backward(loss / self.settings.accumulate)
            values.append(float(loss.detach()))
        if self.settings.max_grad_norm > 0:
            self.accelerator.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.model.eval()
        self.step += 1
        return sum(values) / max(len(values), 1)

    def autocast(self):
        return self.accelerator.autocast()

    def save(self, extra: dict | None = None) -> None:
        """Write the loadable model folder and the resume state (main process; every process gathers)."""
        self.accelerator.wait_for_everyone()
        state_dict = None if self.settings.lora_rank else self.accelerator.get_state_dict(self.model)
        if not self.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        model = self.accelerator.unwrap_model(self.model)
        if self.settings.lora_rank:  # the adapter to resume from, and the merged model for the node's loader
            model.save_pretrained(self.out / "adapter")
            copy.deepcopy(model).merge_and_unload().save_pretrained(self.out)
        else:
            model.save_pretrained(self.out, state_dict=state_dict)
        self.processor.save_pretrained(self.out)
        state = {
            "stage": self.stage,
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
        }
        torch.save(state, self.out / STATE)
        settings = {"stage": self.stage, "step": self.step, **asdict(self.settings), **(extra or {})}
        (self.out / SETTINGS).write_text(json.dumps(settings, indent=1) + "\n")


def _warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = (step - warmup) / max(total - warmup, 1)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _with_lora(model: torch.nn.Module, rank: int, adapter: Path | None) -> torch.nn.Module:
    """The model with LoRA adapters of ``rank`` on its language model's projections (peft)."""
    try:
        import peft
    except ImportError:
        raise TrainError(
            "--lora-rank needs the peft package, which is not installed: pip install peft "
            "(or train every weight with --lora-rank 0)"
        ) from None
    if adapter is not None and adapter.is_dir():
        return peft.PeftModel.from_pretrained(model, adapter, is_trainable=True)
    config = peft.LoraConfig(
        r=rank,
        lora_alpha=2 * rank,
        lora_dropout=0.0,
        target_modules=r"^model\.language_model.*\.(" + "|".join(LORA_TARGETS) + ")$",
    )
    return peft.get_peft_model(model, config)
