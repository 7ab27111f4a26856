"""Training examples exactly as the deployed model sees them: token ids, images, 3-D positions, targets.

A :class:`CapturingBackend` wraps a loaded :class:`TransformersBackend`; the
engine runs a query on it as in deployment (the same conversation renderer,
tokenisation and drawing tool), and when the session closes it keeps the
conversation's token ids, the pixel values of every image (drawn ones
included), their patch grids, and which tokens the model wrote (the loss's
targets). ``record_only`` sessions run no model forward: a teacher-forced
transcript is rendered and tokenised only (stage-1 data). Sampled turns
(rollouts) keep the ids as sampled, never re-tokenised.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from vilasr_ros.reasoning.backend import Backend, BackendError, ContentPart, Generation, SamplingParams, TextCallback
from vilasr_ros.reasoning.conversation import ASSISTANT, turn_start
from vilasr_ros.reasoning.transformers_backend import TransformersBackend, TransformersSession


@dataclass
class Example:
    """One conversation for the trainer: ``input_ids`` (L,), ``targets`` (L,) bool (tokens the model wrote:
    each assistant turn's text and its end-of-turn token), ``pixel_values`` of all images in order and their
    ``image_grid_thw`` (images, 3)."""

    input_ids: torch.Tensor
    targets: torch.Tensor
    pixel_values: torch.Tensor | None
    image_grid_thw: torch.Tensor | None

    @property
    def target_count(self) -> int:
        return int(self.targets.sum())


class CapturingSession(TransformersSession):
    """A transformers session that remembers every image and the spans of assistant tokens."""

    def __init__(self, owner: CapturingBackend, system_prompt: str) -> None:
        super().__init__(owner.inner, system_prompt, incremental=owner.inner.incremental)
        self._owner = owner
        self._all_pixels: list[torch.Tensor] = []
        self._spans: list[tuple[int, int]] = []  # [start, end) of tokens the model wrote
        self._header = owner.inner.encode_text(turn_start(ASSISTANT))

    def add_user(self, content: Sequence[ContentPart]) -> None:
        before = len(self._pixels)
        super().add_user(content)
        self._all_pixels += self._pixels[before:]

    def add_assistant(self, text: str) -> None:
        start = len(self._ids)
        super().add_assistant(text)
        if self._ids[start : start + len(self._header)] != self._header:
            raise BackendError("the assistant header did not tokenise apart from the turn's text")
        first = start + len(self._header)
        try:
            end = self._ids.index(self._vocab.im_end, first) + 1
        except ValueError as error:
            raise BackendError("a teacher-forced assistant turn lacks its end-of-turn token") from error
        self._spans.append((first, end))

    def generate(
        self, sampling: SamplingParams, on_text: TextCallback | None = None, cancel: threading.Event | None = None
    ) -> Generation:
        if self._owner.record_only:
            raise BackendError("a record-only session cannot sample: give the engine forced turns")
        first = len(self._ids) + len(self._header)
        generation = super().generate(sampling, on_text=on_text, cancel=cancel)
        written = generation.num_tokens
        end = first + written
        kept_stop = written > 0 and end <= len(self._ids) and self._ids[end - 1] == self._vocab.im_end
        if generation.finished and not kept_stop:  # stopped at <|endoftext|>: sampled, not kept in the ids
            written -= 1
        self._spans.append((first, first + written))
        return generation

    def flush(self) -> None:
        if not self._owner.record_only:
            super().flush()

    def close(self) -> None:
        if not self._closed:
            targets = torch.zeros(len(self._ids), dtype=torch.bool)
            for start, end in self._spans:
                targets[start:end] = True
            self._owner.captured = Example(
                input_ids=torch.tensor(self._ids, dtype=torch.long),
                targets=targets,
                pixel_values=torch.cat(self._all_pixels) if self._all_pixels else None,
                image_grid_thw=torch.tensor(self._grids, dtype=torch.long) if self._grids else None,
            )
        super().close()


class CapturingBackend(Backend):
    """Sessions of ``inner`` that leave their conversation in :attr:`captured` when they close."""

    name = "transformers"

    def __init__(self, inner: TransformersBackend, record_only: bool = False) -> None:
        self.inner = inner
        self.record_only = record_only
        self.captured: Example | None = None

    def start(self, system_prompt: str) -> CapturingSession:
        self.captured = None
        return CapturingSession(self, system_prompt)

    def close(self) -> None:
        """The wrapped backend stays open (it belongs to the trainer)."""


def target_logprobs(model: torch.nn.Module, example: Example, device: torch.device) -> torch.Tensor:
    """Log-probabilities (float32) of the example's target tokens under ``model``, with gradients.

    The forward is the deployment's: the same ids and images, the 3-D M-RoPE positions of
    ``get_rope_index`` (which needs ``mm_token_type_ids``; without it transformers falls back to 1-D
    positions), passed along with ``mm_token_type_ids`` itself.
    """
    core = base_model(model).model
    ids = example.input_ids.to(device).unsqueeze(0)
    mm_token_type_ids = (ids == model_config(model).image_token_id).int()
    grids = example.image_grid_thw.to(device) if example.image_grid_thw is not None else None
    positions, _ = core.get_rope_index(ids, mm_token_type_ids, image_grid_thw=grids)
    pixels = None
    if example.pixel_values is not None:
        pixels = example.pixel_values.to(device=device, dtype=core.visual.dtype)
    logits = model(
        input_ids=ids,
        position_ids=positions,
        pixel_values=pixels,
        image_grid_thw=grids,
        mm_token_type_ids=mm_token_type_ids,
        use_cache=False,
    ).logits[0, :-1]
    targets = example.targets[1:].to(device)
    chosen = logits[targets].float()
    wanted = ids[0, 1:][targets]
    return torch.log_softmax(chosen, dim=-1).gather(1, wanted.unsqueeze(1)).squeeze(1)


def base_model(model: torch.nn.Module) -> torch.nn.Module:
    """The Qwen2.5-VL model inside wrappers (DDP's ``module``, peft's base model)."""
    while hasattr(model, "module"):
        model = model.module
    if hasattr(model, "get_base_model"):
        model = model.get_base_model()
    return model


def model_config(model: torch.nn.Module):
    """The config of a model, through a wrapper (DDP, peft) if any."""
    return base_model(model).config
