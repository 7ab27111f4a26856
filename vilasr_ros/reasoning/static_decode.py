"""Decode with a pre-allocated KV cache, the single-token step replayed as a CUDA graph.

Today's decode loop runs one Python forward per token over a growing
``DynamicCache``: at 7B scale on a GPU the per-kernel launch overhead of some
thousand small kernels costs as much as reading the weights. A
:class:`StaticDecoder` instead keeps the conversation's keys and values in a
transformers ``StaticCache`` whose tensors never move, so the decode step (one
token in, next-token logits out) can be captured once as a CUDA graph and
replayed for every token:

* the inputs of the step live in static buffers (token id ``[1, 1]``, M-RoPE
  positions ``[3, 1, 1]``); the cache position is the cache's own device-side
  length counter, which the captured step advances by itself on every replay;
* the attention mask is computed inside the graph from that counter over the
  whole capacity (keys past the written length are masked out);
* the step's attention is :func:`decode_attention`: one query token against the
  cache as two batched matrix products over the key/value heads. Measured on an
  H100 at 7B scale with 6.6k cached tokens, a graph step took 8.7 ms with it and
  11.8 ms with sdpa (whose cuDNN kernel parallelises over heads only, so its
  cost grows with the context); prefill keeps sdpa;
* prefill runs eagerly into the same cache (so a turn's new tokens land at
  positions ``cached .. cached + n``); the graph stays valid across turns and
  across queries, and is captured again only when the cache has to grow.

On the CPU (or with ``graph=False``) the same static cache is used with an eager
step, so the static path computes the same function everywhere.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from transformers import AttentionInterface, StaticCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

logger = logging.getLogger(__name__)

DECODE_MODES = ("auto", "graph", "static", "dynamic")
CAPACITY_QUANTUM = 256  # cache lengths are multiples of this (aligned masks for the fused attention kernels)
GROWTH = 1.5  # a cache that must grow grows to at least this times its capacity (few re-captures per query)
WARMUP_STEPS = 2  # eager steps on a side stream before a capture (kernel selection, library handles)
DECODE_ATTENTION = "vilasr_decode"  # the attention implementation of the decode step (registered below)


def decode_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """Attention of a single query token over the cache (batch 1), as two batched matrix products.

    The query heads are grouped by their key/value head (no copies of the cache),
    scores are scaled, masked (boolean keep-mask or additive) and normalised in
    float32. Anything else (several tokens, a batch, dropout) goes to sdpa.
    """
    if query.shape[0] != 1 or query.shape[2] != 1 or dropout or kwargs.get("softcap") is not None:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, is_causal=is_causal, **kwargs
        )
    _, heads, _, dim = query.shape
    kv_heads, length = key.shape[1], key.shape[2]
    grouped = query.reshape(kv_heads, heads // kv_heads, dim)
    scores = torch.bmm(grouped, key[0].transpose(1, 2)).float() * (dim**-0.5 if scaling is None else scaling)
    if attention_mask is not None:
        mask = attention_mask.reshape(-1)[-length:]
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask.float()
    weights = torch.softmax(scores, dim=-1).to(value.dtype)
    output = torch.bmm(weights, value[0])  # [kv_heads, group, dim]
    return output.reshape(1, heads, 1, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register(DECODE_ATTENTION, decode_attention)
AttentionMaskInterface.register(DECODE_ATTENTION, sdpa_mask)


@contextmanager
def _attention(config: Any, implementation: str) -> Iterator[None]:
    """The text model's layers use ``implementation`` while inside (they read the config at each forward)."""
    previous = config._attn_implementation
    config._attn_implementation = implementation
    try:
        yield
    finally:
        config._attn_implementation = previous


def resolve_decode(decode: str, device: torch.device) -> str:
    """``auto`` -> ``graph`` on a CUDA device, ``dynamic`` (today's loop) elsewhere; ``graph`` needs CUDA."""
    if decode not in DECODE_MODES:
        raise ValueError(f"backend.decode must be one of {', '.join(DECODE_MODES)}; got {decode!r}")
    if decode == "auto":
        return "graph" if device.type == "cuda" else "dynamic"
    if decode == "graph" and device.type != "cuda":
        raise ValueError(
            f"backend.decode=graph captures CUDA graphs and needs a CUDA device; the device is {device}. "
            "Use static (same cache, no graph), dynamic or auto."
        )
    return decode


class StaticDecoder:
    """A static KV cache for one conversation at a time, and the decode step over it.

    One session uses it at a time (the backend hands a closed session's decoder
    to the next session, graph and all). Every method runs inside
    ``torch.inference_mode()``, where the cache's tensors were made.
    """

    def __init__(self, model: Any, graph: bool) -> None:
        self._model = model
        self._config = model.config
        self.graph_enabled = graph
        self.cache: StaticCache | None = None
        self.capacity = 0
        self.captures = 0  # CUDA graphs captured so far (for tests and benchmarks)
        self.graph_error: str | None = None  # why capturing failed (the eager step is used from then on)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._token: torch.Tensor | None = None  # [1, 1] static input of the step
        self._positions: torch.Tensor | None = None  # [3, 1, 1] static input of the step
        self._logits: torch.Tensor | None = None  # [1, 1, vocab] static output of the captured step

    # -- the cache ------------------------------------------------------------------------

    def reset(self) -> None:
        """Empty the cache (stale entries stay in memory but are masked: nothing is zeroed)."""
        if self.cache is not None:
            self._set_length(0)

    def ensure_capacity(self, needed: int, kept: int, device: torch.device, dtype: torch.dtype) -> None:
        """Make room for ``needed`` tokens, keeping the first ``kept`` cached ones; growing drops the graph."""
        if needed <= self.capacity:
            return
        capacity = CAPACITY_QUANTUM * math.ceil(max(needed, GROWTH * self.capacity) / CAPACITY_QUANTUM)
        text = self._config.get_text_config()
        heads = text.num_key_value_heads
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        cache = StaticCache(config=self._config, max_cache_len=capacity)
        cache.early_initialization(batch_size=1, num_heads=heads, head_dim=head_dim, dtype=dtype, device=device)
        if self.cache is not None and kept:
            for old, new in zip(self.cache.layers, cache.layers):
                new.keys[:, :, :kept].copy_(old.keys[:, :, :kept])
                new.values[:, :, :kept].copy_(old.values[:, :, :kept])
        self._graph = None  # captured over the old tensors
        self._logits = None
        self.cache = cache
        self.capacity = capacity
        self._set_length(kept)

    # -- the step ---------------------------------------------------------------------------

    def step(self, token: int, position: int, cached: int) -> torch.Tensor:
        """Feed one token at M-RoPE position ``position`` after ``cached`` cached tokens; return its logits.

        The logits have shape ``[1, 1, vocab]`` and are only valid until the next step. Call inside
        ``torch.inference_mode()``.
        """
        if self.cache is None or cached >= self.capacity:
            raise RuntimeError(f"the static KV cache is full ({self.capacity} tokens); ensure_capacity() first")
        device = self.cache.layers[0].keys.device
        if self._token is None or self._token.device != device:
            self._token = torch.zeros((1, 1), dtype=torch.long, device=device)
            self._positions = torch.zeros((3, 1, 1), dtype=torch.long, device=device)
        self._token.fill_(token)
        self._positions.fill_(position)
        if self.graph_enabled and self.graph_error is None and self._graph is None:
            self._capture(cached)
        if self._graph is None:
            return self._forward()
        self._graph.replay()
        return self._logits

    def _forward(self) -> torch.Tensor:
        with _attention(self._config.get_text_config(), DECODE_ATTENTION):
            return self._model(
                input_ids=self._token, position_ids=self._positions, cache=self.cache, use_cache=True, logits_to_keep=1
            ).logits

    def _capture(self, cached: int) -> None:
        """Warm up on a side stream (the cache length restored after each run), then capture one step.

        Capturing records kernels without running them, so the step itself is then run by a replay.
        """
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        try:
            with torch.cuda.stream(side):
                for _ in range(WARMUP_STEPS):
                    self._forward()
                    self._set_length(cached)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # thread_local: other threads of the process (ROS executors) may use CUDA while this one captures
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                logits = self._forward()
        except Exception as error:
            self.graph_error = f"{type(error).__name__}: {error}"
            logger.warning("CUDA graph capture of the decode step failed; decoding without it: %s", self.graph_error)
            torch.cuda.synchronize()
            self._set_length(cached)
            return
        self._graph, self._logits = graph, logits
        self.captures += 1

    def _set_length(self, length: int) -> None:
        for layer in self.cache.layers:
            layer.cumulative_length.fill_(length)
