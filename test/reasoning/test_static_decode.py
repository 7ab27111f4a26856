"""The static-cache decode path against today's dynamic loop, on the tiny random Qwen2.5-VL (CPU).

The reference is the dynamic path (``decode=dynamic``), itself checked against
stock full forward passes in test_transformers_backend.py. The model's attention
and output are sharpened (as there) so that a key or value written at a wrong
cache position, or a token fed at a wrong M-RoPE position, changes the tokens.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from sharpened_model import sharpened

from vilasr_ros.config import BackendConfig, ConfigError
from vilasr_ros.reasoning.backend import BackendError, ChatImage, SamplingParams
from vilasr_ros.reasoning.quantize import check_torchao
from vilasr_ros.reasoning.static_decode import CAPACITY_QUANTUM
from vilasr_ros.reasoning.transformers_backend import TransformersBackend

pytestmark = pytest.mark.model

TURNS = 10
FORCED = '<think> Forced turn. </think> Action: Object Mapper\n```json\n[{"index": 1, "bbox_2d": [1, 2, 30, 40]}]\n```'


def image(index: int) -> ChatImage:
    height, width = [(56, 84), (84, 56), (112, 84)][index % 3]
    return ChatImage(index, np.random.default_rng(index).integers(0, 256, (height, width, 3), dtype=np.uint8))


def transcript(
    backend: TransformersBackend, sampling: SamplingParams
) -> tuple[list[list[int]], list[torch.Tensor], int]:
    """A 10-turn conversation: sampled turns with every third turn teacher-forced, a new image per user turn.

    Returns the token ids of each sampled turn, the next-token log-probs after every user turn, and
    the static cache's capacity at the end (0 for the dynamic path). One user turn is long enough to make a
    static cache grow mid-query.
    """
    session = backend.start("You are a spatial reasoning assistant. " * 8)
    tokens: list[list[int]] = []
    logprobs: list[torch.Tensor] = []
    for turn in range(1, TURNS + 1):
        caption = f"The index of the given image is {turn}. "
        session.add_user([image(turn), caption * (40 if turn == 6 else 1)])
        logprobs.append(session.prefill())
        if turn % 3 == 0:
            session.add_assistant(FORCED)
            continue
        before = len(session.token_ids)
        turn_sampling = SamplingParams(sampling.temperature, sampling.top_p, 6 + turn, sampling.seed)
        session.generate(turn_sampling)
        tokens.append(session.token_ids[before:])  # the assistant turn: header, sampled ids, closing tokens
    decoder = session.static_decoder
    capacity = decoder.capacity if decoder is not None else 0
    session.close()
    return tokens, logprobs, capacity


@pytest.fixture(scope="module")
def dynamic_run(tiny_model_dir):
    backend = sharpened(tiny_model_dir, decode="dynamic")
    yield transcript(backend, SamplingParams(temperature=0.0)), backend
    backend.close()


def test_static_cache_gives_the_dynamic_loops_greedy_tokens_over_10_turns(tiny_model_dir, dynamic_run):
    (expected_tokens, expected_logprobs, _), _ = dynamic_run
    assert sum(len(ids) for ids in expected_tokens) > 40  # the transcript really decodes
    backend = sharpened(tiny_model_dir, decode="static")
    tokens, logprobs, capacity = transcript(backend, SamplingParams(temperature=0.0))
    assert tokens == expected_tokens
    for actual, expected in zip(logprobs, expected_logprobs, strict=True):
        assert torch.allclose(actual, expected, atol=1e-5, rtol=0), float((actual - expected).abs().max())
    # The cache grew mid-query (the long turn 6) and stays a multiple of the quantum.
    assert capacity % CAPACITY_QUANTUM == 0 and capacity > CAPACITY_QUANTUM
    backend.close()


def test_a_closed_sessions_cache_serves_the_next_query_with_the_same_tokens(tiny_model_dir, dynamic_run):
    (expected_tokens, _, _), _ = dynamic_run
    backend = sharpened(tiny_model_dir, decode="static")
    first = transcript(backend, SamplingParams(temperature=0.0))
    spare = backend._spare_decoder
    assert spare is not None and spare.capacity == first[2]
    second = transcript(backend, SamplingParams(temperature=0.0))
    assert backend._spare_decoder is spare  # reused, not re-allocated: no stale entry leaked into query 2
    assert first[0] == second[0] == expected_tokens
    backend.close()


def test_reprefill_mode_on_a_static_cache_gives_the_same_tokens(tiny_model_dir, dynamic_run):
    (expected_tokens, _, _), _ = dynamic_run
    backend = sharpened(tiny_model_dir, decode="static", incremental=False)
    assert transcript(backend, SamplingParams(temperature=0.0))[0] == expected_tokens
    backend.close()


def test_sampling_draws_the_same_tokens_for_the_same_seed(tiny_model_dir, dynamic_run):
    _, dynamic = dynamic_run
    sampling = SamplingParams(temperature=0.75, top_p=0.9, seed=1234)
    expected = transcript(dynamic, sampling)[0]
    backend = sharpened(tiny_model_dir, decode="static")
    assert transcript(backend, sampling)[0] == expected
    other_seed = transcript(backend, SamplingParams(temperature=0.75, top_p=0.9, seed=99))[0]
    assert other_seed != expected  # the seed matters: the equality above is not vacuous
    backend.close()


def test_decode_mode_choices_and_errors(tiny_model_dir):
    assert TransformersBackend(str(tiny_model_dir), device="cpu").decode == "dynamic"  # auto on the CPU
    with pytest.raises(BackendError, match="decode=graph.*needs a CUDA device"):
        TransformersBackend(str(tiny_model_dir), device="cpu", decode="graph")
    with pytest.raises(BackendError, match="backend.decode must be one of"):
        TransformersBackend(str(tiny_model_dir), device="cpu", decode="fast")
    assert BackendConfig(decode="static").decode == "static"
    with pytest.raises(ConfigError, match="backend.decode"):
        BackendConfig(decode="graphs")
    assert BackendConfig(quantization="torchao-int4").quantization == "torchao-int4"


@pytest.mark.skipif(importlib.util.find_spec("torchao") is not None, reason="torchao is installed here")
def test_torchao_schemes_say_how_to_install_it(tiny_model_dir):
    with pytest.raises(BackendError, match=r"torchao-int8 needs the torchao package.*pip install torchao=="):
        TransformersBackend(str(tiny_model_dir), device="cpu", quantization="torchao-int8")


@pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed here")
def test_torchao_int4_needs_cuda_and_int8_runs_on_the_cpu(tiny_model_dir):
    with pytest.raises(BackendError, match="torchao-int4 .*needs a CUDA GPU"):
        check_torchao("torchao-int4", torch.device("cpu"), torch.float32)
    backend = TransformersBackend(str(tiny_model_dir), device="cpu", quantization="torchao-int8", decode="static")
    session = backend.start("system")
    session.add_user(["hello"])
    assert session.generate(SamplingParams(temperature=0.0, max_new_tokens=4)).num_tokens >= 1
    backend.close()


@pytest.mark.parametrize("mask_kind", ["none", "bool", "additive"])
def test_decode_attention_is_sdpa_for_one_query_token(mask_kind):
    """The decode step's attention (grouped query heads, two batched products) computes sdpa's function."""
    from torch import nn

    from vilasr_ros.reasoning.static_decode import decode_attention

    generator = torch.Generator().manual_seed(0)
    heads, kv_heads, length, dim = 8, 2, 37, 16
    query = torch.randn(1, heads, 1, dim, generator=generator)
    key = torch.randn(1, kv_heads, length, dim, generator=generator)
    value = torch.randn(1, kv_heads, length, dim, generator=generator)
    keep = torch.ones(1, 1, 1, length, dtype=torch.bool)
    keep[..., 30:] = False  # the unwritten tail of a static cache
    mask = {"none": None, "bool": keep, "additive": torch.where(keep, 0.0, float("-inf"))}[mask_kind]
    ours, _ = decode_attention(nn.Module(), query, key, value, mask, scaling=0.3)
    repeated_key, repeated_value = (t.repeat_interleave(heads // kv_heads, dim=1) for t in (key, value))
    expected = torch.nn.functional.scaled_dot_product_attention(
        query, repeated_key, repeated_value, attn_mask=mask, scale=0.3
    ).transpose(1, 2)
    assert ours.shape == (1, 1, heads, dim)
    assert torch.allclose(ours, expected, atol=1e-5)
