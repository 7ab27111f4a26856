"""Training examples are the deployment's conversation: same ids as a teacher-forced session, targets =
the assistant turns and their end-of-turn tokens, every image's pixels, 3-D positions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.benchmark import generate_sim_benchmark, load_benchmark
from vilasr_ros.reasoning.backend import Backend, BackendError
from vilasr_ros.reasoning.conversation import ASSISTANT, turn_start
from vilasr_ros.reasoning.transformers_backend import TransformersBackend
from vilasr_ros.training.data import ItemStore, run_item, synth_trace
from vilasr_ros.training.examples import CapturingBackend, target_logprobs

pytestmark = pytest.mark.model


class Keeping(Backend):
    """The plain transformers backend, keeping its last session to read its ids."""

    def __init__(self, inner: TransformersBackend) -> None:
        self.inner = inner
        self.session = None

    def start(self, system_prompt: str):
        self.session = self.inner.start(system_prompt)
        return self.session


class FirstTokenProbe(Backend):
    """A deployed session that, where the first assistant turn would start, prefills the assistant header and
    keeps the next-token log-probabilities (the first written token's distribution), then stops the query."""

    def __init__(self, inner: TransformersBackend) -> None:
        self.inner = inner
        self.first: torch.Tensor | None = None

    def start(self, system_prompt: str):
        session = self.inner.start(system_prompt)

        def add_assistant(text: str) -> None:
            session._queue([turn_start(ASSISTANT)])
            self.first = session.prefill()
            raise BackendError("probe done")

        session.add_assistant = add_assistant
        return session


def test_a_captured_trace_is_the_deployed_conversation(tiny_model_dir, tmp_path):
    generate_sim_benchmark(
        tmp_path, seed=2, items=2, scenes=1, frames=2, width=224, height=168, families=("rel_direction",)
    )
    item = load_benchmark(tmp_path)[0]
    frames = ItemStore().frames(str(tmp_path), item)
    turns = synth_trace(item, np.random.default_rng(0), reflect=True)
    backend = TransformersBackend(str(tiny_model_dir), device="cpu", decode="dynamic")
    with torch.no_grad():  # a random model's next-token distribution is nearly flat: sharpen it
        backend.model.lm_head.weight.mul_(40.0)

    plain = Keeping(backend)
    deployed = run_item(item, frames, plain, EngineConfig(), forced_turns=turns)
    ids = plain.session.token_ids

    recorder = CapturingBackend(backend, record_only=True)
    run_item(item, frames, recorder, EngineConfig(), forced_turns=turns)
    example = recorder.captured
    assert example.input_ids.tolist() == ids
    targets = example.input_ids[example.targets].tolist()
    tokenizer = backend.tokenizer
    expected = []
    for turn in turns:
        expected += backend.encode_text(turn) + [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    assert targets == expected
    # every image of the conversation (the keyframes and each drawn one), in order
    assert len(example.image_grid_thw) == len(deployed.result.images)
    patches = int(sum(t * h * w for t, h, w in example.image_grid_thw.tolist()))
    assert example.pixel_values.shape[0] == patches

    logprobs = target_logprobs(backend.model, example, torch.device("cpu"))
    assert logprobs.shape == (len(expected),) and bool((logprobs <= 0).all())
    # the training forward gives the first written token the log-probability the deployed (incremental,
    # cached, 3-D positioned) session gives it: the same ids, images and positions
    probe = FirstTokenProbe(backend)
    run_item(item, frames, probe, EngineConfig(), forced_turns=turns)
    first = probe.first
    assert float(first.max() - first.min()) > 5.0  # not flat: a wrong position or image would show
    token = int(example.input_ids[int(example.targets.nonzero()[0])])
    assert float(logprobs[0]) == pytest.approx(float(first[token]), abs=1e-4)
