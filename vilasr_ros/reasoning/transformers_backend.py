"""In-process ViLaSR-7B (Qwen2.5-VL) with incremental multi-turn prefill.

A :class:`TransformersSession` keeps the conversation as token ids and the
model's KV cache across turns, so each image is encoded once and each prompt
token prefilled once. ``generate()`` of transformers cannot do that (it drops
new images on a warm cache and gives new tokens 1-D positions), so the session
runs its own prefill and decode loop:

* the token ids are the text that :mod:`vilasr_ros.reasoning.conversation`
  renders (the conversation as the model reads it, the same for every backend),
  tokenized segment by segment with each image expanded to its pads (text
  between special tokens is tokenized as one run, as the processor's tokenizer
  does with the whole text);
* queued turns are prefilled lazily in ONE forward pass over just the new
  segment, with the 3-D M-RoPE positions of the whole sequence sliced to it and
  the pixel values of only the new images;
* generated ids are carried forward as ids, never re-tokenized.

``incremental=False`` reproduces the authors' reference behaviour (the whole
conversation re-run every turn) with the same log-probabilities, for benchmarks.

``decode`` picks the decode loop: ``dynamic`` (a Python forward per token over a
growing cache), ``static`` (a pre-allocated cache, :mod:`static_decode`),
``graph`` (the static cache with the step replayed as a CUDA graph) or ``auto``
(graph on CUDA, dynamic elsewhere). All of them feed the same tokens at the same
positions and sample with the same code, so they give the same tokens.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoProcessor,
    BitsAndBytesConfig,
    DynamicCache,
    Qwen2_5_VLForConditionalGeneration,
    StaticCache,
)

from vilasr_ros.config import BackendConfig
from vilasr_ros.reasoning import quantize
from vilasr_ros.reasoning.backend import (
    Backend,
    BackendError,
    ChatImage,
    ContentPart,
    Generation,
    SamplingParams,
    Session,
    TextCallback,
)
from vilasr_ros.reasoning.conversation import ASSISTANT, IM_END, SYSTEM, TURN_END, USER, render_turn, turn_start
from vilasr_ros.reasoning.static_decode import StaticDecoder, resolve_decode

DEFAULT_MODEL = "AntResearchNLP/ViLaSR"

_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def resolve_device(device: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; a cuda device without CUDA is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BackendError(f"backend.device is {device!r} but CUDA is not available here; use auto or cpu")
    return resolved


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` -> bfloat16 on a GPU that supports it (else float16), float32 on cpu."""
    if dtype == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if dtype not in _DTYPES:
        raise BackendError(f"backend.dtype must be auto, {', '.join(_DTYPES)}; got {dtype!r}")
    return _DTYPES[dtype]


def _quantization_config(quantization: str, device: torch.device, dtype: torch.dtype) -> BitsAndBytesConfig | None:
    """The bitsandbytes config of ``4bit``/``8bit``; None for none and the torchao schemes (applied after loading)."""
    if quantization == "none" or quantization in quantize.TORCHAO_SCHEMES:
        return None
    if quantization not in ("4bit", "8bit"):
        raise BackendError(
            f"backend.quantization must be none, 4bit, 8bit, {' or '.join(quantize.TORCHAO_SCHEMES)}; got {quantization!r}"
        )
    if device.type != "cuda":
        raise BackendError(
            f"backend.quantization={quantization} uses bitsandbytes, which needs a CUDA GPU; "
            f"the device is {device}. Set backend.quantization to none."
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise BackendError(
            f"backend.quantization={quantization} needs the bitsandbytes package: pip install bitsandbytes"
        )
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True, bnb_4bit_compute_dtype=dtype, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True
    )


def _decode_mode(decode: str, device: torch.device) -> str:
    try:
        return resolve_decode(decode, device)
    except ValueError as error:
        raise BackendError(str(error)) from error


def _load_failure(model: str, device: torch.device, error: Exception) -> BackendError:
    """One actionable message for a model that did not load."""
    local = os.path.isdir(model)
    if isinstance(error, torch.OutOfMemoryError):
        what = f"loading {model!r} ran out of memory on {device}; set backend.quantization to 4bit or 8bit"
    elif not local and (model.startswith(("/", ".", "~")) or os.path.exists(model)):
        what = f"the local model directory {model!r} does not exist"
    elif not local and isinstance(error, OSError):
        what = (
            f"could not load {model!r}: it is not a local directory and the Hugging Face hub is unreachable "
            "or does not have it; download the model on a connected machine and set backend.model to that "
            "local directory (HF_HUB_OFFLINE=1 skips the hub's network retries)"
        )
    else:
        what = f"could not load the Qwen2.5-VL model {model!r}"
    return BackendError(f"{what}: {type(error).__name__}: {error}")


@dataclass(frozen=True)
class _Vocab:
    """Ids of the Qwen2.5-VL chat-template special tokens."""

    im_start: int
    im_end: int
    endoftext: int
    vision_start: int
    vision_end: int
    image_pad: int
    video_pad: int

    @classmethod
    def from_tokenizer(cls, tokenizer: Any) -> _Vocab:
        names = {
            "im_start": "<|im_start|>",
            "im_end": "<|im_end|>",
            "endoftext": "<|endoftext|>",
            "vision_start": "<|vision_start|>",
            "vision_end": "<|vision_end|>",
            "image_pad": "<|image_pad|>",
            "video_pad": "<|video_pad|>",
        }
        ids = {field: tokenizer.convert_tokens_to_ids(token) for field, token in names.items()}
        missing = [names[field] for field, value in ids.items() if value is None or value == tokenizer.unk_token_id]
        if missing:
            raise BackendError(f"the tokenizer lacks the Qwen2.5-VL special tokens {missing}: not a Qwen2.5-VL model")
        return cls(**ids)


class TransformersBackend(Backend):
    """ViLaSR-7B (or any Qwen2.5-VL checkpoint) loaded in-process with transformers."""

    name = "transformers"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        dtype: str = "auto",
        attn_implementation: str = "sdpa",
        quantization: str = "none",
        incremental: bool = True,
        decode: str = "auto",
    ) -> None:
        self.model_name = model
        self.incremental = incremental
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.decode = _decode_mode(decode, self.device)
        quantization_config = _quantization_config(quantization, self.device, self.dtype)
        if quantization in quantize.TORCHAO_SCHEMES:
            quantize.check_torchao(quantization, self.device, self.dtype)
        kwargs: dict[str, Any] = {
            "dtype": self.dtype,
            "attn_implementation": attn_implementation,
            "device_map": str(self.device),
        }
        if quantization_config is not None:
            kwargs["quantization_config"] = quantization_config
        try:
            self.processor = AutoProcessor.from_pretrained(model)
            self.model = Qwen2_5_VLForConditionalGeneration.from_pretrained(model, **kwargs).eval()
        except Exception as error:
            raise _load_failure(model, self.device, error) from error
        if quantization in quantize.TORCHAO_SCHEMES:
            quantize.apply_torchao(self.model, quantization)
        self._finish_setup()

    @classmethod
    def from_loaded(
        cls, model: Qwen2_5_VLForConditionalGeneration, processor: Any, incremental: bool = True, decode: str = "auto"
    ) -> TransformersBackend:
        """Wrap a model already in memory (benchmarks build one directly on the GPU); same checks as loading."""
        backend = cls.__new__(cls)
        backend.model_name = str(getattr(model.config, "name_or_path", "") or "in-memory model")
        backend.incremental = incremental
        backend.device = model.device
        backend.dtype = model.dtype
        backend.decode = _decode_mode(decode, backend.device)
        backend.processor = processor
        backend.model = model.eval()
        backend._finish_setup()
        return backend

    def _finish_setup(self) -> None:
        model = self.model_name
        self.tokenizer = self.processor.tokenizer
        self.vocab = _Vocab.from_tokenizer(self.tokenizer)
        if self.vocab.image_pad != self.model.config.image_token_id:
            raise BackendError(
                f"{model!r}: the tokenizer's <|image_pad|> id {self.vocab.image_pad} differs from the "
                f"model's image_token_id {self.model.config.image_token_id}"
            )
        self._spare_decoder: StaticDecoder | None = None  # a closed session's static cache (and graph)
        self.closed = False

    @classmethod
    def from_config(cls, config: BackendConfig) -> TransformersBackend:
        """Build from the node's ``backend.*`` parameters."""
        return cls(
            model=config.model,
            device=config.device,
            dtype=config.dtype,
            attn_implementation=config.attn_implementation,
            quantization=config.quantization,
            decode=config.decode,
        )

    def start(self, system_prompt: str) -> TransformersSession:
        """Open a session whose conversation starts with ``system_prompt``."""
        if self.closed:
            raise BackendError("the transformers backend is closed")
        return TransformersSession(self, system_prompt, incremental=self.incremental)

    def close(self) -> None:
        """Free the model and, on a GPU, the CUDA cache."""
        if self.closed:
            return
        self.closed = True
        self._spare_decoder = None
        del self.model
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def status(self) -> dict[str, str]:
        """Model, device and dtype; on a CUDA device the memory PyTorch holds there (allocated by tensors,
        reserved by its caching allocator) and the device's total."""
        values = {"model": self.model_name, "device": str(self.device), "dtype": str(self.dtype).removeprefix("torch.")}
        if self.device.type == "cuda" and not self.closed:
            values["GPU memory allocated MB"] = f"{torch.cuda.memory_allocated(self.device) / 1e6:.0f}"
            values["GPU memory reserved MB"] = f"{torch.cuda.memory_reserved(self.device) / 1e6:.0f}"
            values["GPU memory total MB"] = f"{torch.cuda.get_device_properties(self.device).total_memory / 1e6:.0f}"
        return values

    def take_decoder(self) -> StaticDecoder:
        """A static decoder for a session: the last closed session's (cache and graph reused) or a new one."""
        decoder, self._spare_decoder = self._spare_decoder, None
        return decoder if decoder is not None else StaticDecoder(self.model, graph=self.decode == "graph")

    def return_decoder(self, decoder: StaticDecoder) -> None:
        """Keep a closed session's decoder for the next session."""
        if not self.closed:
            self._spare_decoder = decoder

    def encode_text(self, text: str) -> list[int]:
        """Token ids of plain text (special-token strings in it become special tokens, as in the processor)."""
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_image(self, image: ChatImage) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Pixel values (patches, C*T*P*P) on the cpu and the (t, h, w) patch grid of an already-resized image."""
        pixels = np.asarray(image.pixels)
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
            raise BackendError(
                f"image {image.index}: expected RGB uint8 pixels of shape (height, width, 3), "
                f"got {pixels.dtype} {pixels.shape}"
            )
        try:
            processed = self.processor.image_processor(
                images=[pixels], input_data_format="channels_last", return_tensors="pt"
            )
        except ValueError as error:
            size = f"{image.width}x{image.height}"
            raise BackendError(f"image {image.index} ({size}) cannot be processed: {error}") from error
        t, h, w = (int(value) for value in processed["image_grid_thw"][0])
        patch = self.processor.image_processor.patch_size
        if t != 1 or h * patch != image.height or w * patch != image.width:
            raise BackendError(
                f"image {image.index} ({image.width}x{image.height}) would be resized by the model's image "
                f"processor to {w * patch}x{h * patch}; images must already be smart-resized "
                "(sides multiples of 28, within the processor's min/max pixels): check engine.max_pixels"
            )
        return processed["pixel_values"], (t, h, w)


class _TextStream:
    """Turns token ids into text increments, holding back incomplete UTF-8 sequences."""

    def __init__(self, tokenizer: Any, on_text: TextCallback | None) -> None:
        self._tokenizer = tokenizer
        self._on_text = on_text
        self._ids: list[int] = []
        self._prefix = 0  # start of the window decoded for context
        self._read = 0  # end of the ids already emitted
        self.text = ""

    def _decode(self, ids: list[int]) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token: int) -> None:
        self._ids.append(token)
        self._emit(final=False)

    def finish(self) -> None:
        self._emit(final=True)

    def _emit(self, final: bool) -> None:
        done = self._decode(self._ids[self._prefix : self._read])
        current = self._decode(self._ids[self._prefix :])
        if len(current) <= len(done) or (current.endswith("\ufffd") and not final):
            return
        delta = current[len(done) :]
        self._prefix, self._read = self._read, len(self._ids)
        self.text += delta
        if self._on_text is not None:
            self._on_text(delta)


class TransformersSession(Session):
    """One conversation: token ids, KV cache and work counters kept across turns.

    ``work.prefill_tokens`` counts tokens run by prefill forwards; a sampled token
    first seen by the next prefill (the last one of a turn) is decode work, not
    prefill. ``minimum`` counts the tokens that were not sampled and the patches of
    every image once, as they become needed: queued turns join it when a forward
    runs them, so a finished query's unrun closing ``<|im_end|>\\n`` is not in it.
    """

    def __init__(self, backend: TransformersBackend, system_prompt: str, incremental: bool = True) -> None:
        super().__init__()
        self._backend = backend
        self._vocab = backend.vocab
        self._incremental = incremental
        self._ids: list[int] = []  # the whole conversation
        self._grids: list[tuple[int, int, int]] = []  # (t, h, w) of every image, in order
        self._pixels: list[torch.Tensor] = []  # images not yet encoded (every image when not incremental)
        self._encoded_images = 0  # images whose features are in the cache
        self._cached = 0  # leading tokens of _ids whose keys and values are in the cache
        self._unfed_sampled = 0  # sampled tokens right after _cached that no forward has seen yet
        self._next_position = 0  # M-RoPE position of the token after _cached
        self._cache: DynamicCache | StaticCache | None = None
        self._decoder: StaticDecoder | None = None  # the static cache and decode step (decode != dynamic)
        self._logprobs: torch.Tensor | None = None
        self._failure: str | None = None
        self._closed = False
        self._queued_tokens = 0  # not-sampled tokens queued since the last forward (join minimum when run)
        self._queued_patches = 0  # patches of images queued since the last forward
        self._queue(render_turn(SYSTEM, [system_prompt]))

    @property
    def _model(self) -> Qwen2_5_VLForConditionalGeneration:
        return self._backend.model

    @property
    def static_decoder(self) -> StaticDecoder | None:
        """The static cache and decode step this session uses (None with decode=dynamic or before a prefill)."""
        return self._decoder

    @property
    def token_ids(self) -> list[int]:
        """The conversation so far as token ids (queued turns included)."""
        return list(self._ids)

    # -- building the conversation -------------------------------------------------------

    def _tokens(self, pieces: Sequence[str | list[int]]) -> list[int]:
        """Ids of a segment; adjacent text pieces are tokenized as one run, like the whole rendered template."""
        ids: list[int] = []
        text = ""
        for piece in pieces:
            if isinstance(piece, str):
                text += piece
                continue
            if text:
                ids += self._text_ids(text)
                text = ""
            ids += piece
        if text:
            ids += self._text_ids(text)
        return ids

    def _text_ids(self, text: str) -> list[int]:
        ids = self._backend.encode_text(text)
        if self._vocab.image_pad in ids or self._vocab.video_pad in ids:
            raise BackendError("conversation text must not contain the <|image_pad|> or <|video_pad|> token")
        return ids

    def _queue(self, pieces: Sequence[str | list[int]]) -> None:
        ids = self._tokens(pieces)
        self._ids += ids
        self._queued_tokens += len(ids)

    def add_user(self, content: Sequence[ContentPart]) -> None:
        """Queue a user turn: text parts and images, in order (run at the next prefill)."""
        self._check_usable()
        pieces: list[str | list[int]] = []
        images: list[tuple[torch.Tensor, tuple[int, int, int]]] = []
        merge = self._model.config.vision_config.spatial_merge_size
        for part in render_turn(USER, content):
            if isinstance(part, ChatImage):
                pixel_values, grid = self._backend.encode_image(part)
                images.append((pixel_values, grid))
                pads = grid[0] * grid[1] * grid[2] // merge**2
                pieces += [[self._vocab.vision_start] + [self._vocab.image_pad] * pads + [self._vocab.vision_end]]
            elif isinstance(part, str):
                pieces.append(part)
            else:
                raise BackendError(f"user content must be str or ChatImage, got {type(part).__name__}")
        self._queue(pieces)
        for pixel_values, grid in images:
            self._pixels.append(pixel_values)
            self._grids.append(grid)
            self._queued_patches += grid[0] * grid[1] * grid[2]

    def add_assistant(self, text: str) -> None:
        """Queue a recorded assistant turn as if the model had written it (teacher forcing)."""
        self._check_usable()
        self._queue(render_turn(ASSISTANT, [text]))

    # -- model work ----------------------------------------------------------------------

    def prefill(self) -> torch.Tensor:
        """Run the queued turns; return the next-token log-probabilities (float32, shape (vocab,))."""
        self._check_usable()
        return self._flush().clone()

    def flush(self) -> None:
        """Run the queued turns now (the end of teacher forcing)."""
        self._check_usable()
        self._flush()

    def _flush(self, reserve: int = 0) -> torch.Tensor:
        """Prefill the queued tokens; a static cache gets room for them and ``reserve`` more (the turn's decode)."""
        if self._cached == len(self._ids) and self._logprobs is not None:
            return self._logprobs
        device = self._backend.device
        full = torch.tensor([self._ids], dtype=torch.long, device=device)
        start = self._cached if self._incremental else 0
        grids = self._grids[self._encoded_images :] if self._incremental else self._grids
        pixel_values = None
        if self._pixels:
            pixel_values = torch.cat(self._pixels).to(device=device, dtype=self._model.model.visual.dtype)
        grid_tensor = torch.tensor(grids, dtype=torch.long, device=device) if grids else None
        cache = self._cache
        if self._backend.decode != "dynamic":
            cache = self._static_cache(len(self._ids) + reserve, kept=start)
        elif cache is None or not self._incremental:
            cache = DynamicCache(config=self._model.config)

        def run() -> torch.Tensor:
            all_grids = torch.tensor(self._grids, dtype=torch.long, device=device) if self._grids else None
            mm_token_type_ids = (full == self._vocab.image_pad).int()
            positions, _ = self._model.model.get_rope_index(full, mm_token_type_ids, image_grid_thw=all_grids)
            self._next_position = int(positions.max()) + 1
            return self._model(
                input_ids=full[:, start:],
                position_ids=positions[:, :, start:],
                pixel_values=pixel_values,
                image_grid_thw=grid_tensor,
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            ).logits

        logits = self._forward(run, tokens=full.shape[1] - start, images=len(grids))
        self.work.prefill_tokens += full.shape[1] - start - (self._unfed_sampled if self._incremental else 0)
        self.work.vision_patches += sum(t * h * w for t, h, w in grids)
        self.minimum.prefill_tokens += self._queued_tokens
        self.minimum.vision_patches += self._queued_patches
        self._queued_tokens = self._queued_patches = 0
        self._cache = cache
        self._cached = len(self._ids)
        self._unfed_sampled = 0
        if self._incremental:
            self._pixels = []
            self._encoded_images = len(self._grids)
        self._logprobs = torch.log_softmax(logits[0, -1].float(), dim=-1)
        return self._logprobs

    def _static_cache(self, needed: int, kept: int) -> StaticCache:
        """The decoder's cache holding the first ``kept`` tokens, with room for ``needed``."""
        if self._decoder is None:
            self._decoder = self._backend.take_decoder()
        with torch.inference_mode():
            if kept == 0:
                self._decoder.reset()
            self._decoder.ensure_capacity(needed, kept, self._backend.device, self._backend.dtype)
        return self._decoder.cache

    def _decode_step(self, token: int) -> torch.Tensor:
        """Feed one sampled token; return the next log-probabilities."""
        if self._decoder is not None:
            decoder, position, cached = self._decoder, self._next_position, self._cached

            def run() -> torch.Tensor:
                return decoder.step(token, position, cached)

        else:
            device = self._backend.device
            input_ids = torch.tensor([[token]], dtype=torch.long, device=device)
            positions = torch.full((3, 1, 1), self._next_position, dtype=torch.long, device=device)

            def run() -> torch.Tensor:
                return self._model(
                    input_ids=input_ids, position_ids=positions, cache=self._cache, use_cache=True, logits_to_keep=1
                ).logits

        logits = self._forward(run, tokens=1, images=0)
        self._next_position += 1
        self._cached += 1
        self._unfed_sampled -= 1
        self._logprobs = torch.log_softmax(logits[0, -1].float(), dim=-1)
        return self._logprobs

    def _forward(self, run: Callable[[], torch.Tensor], tokens: int, images: int) -> torch.Tensor:
        """One forward pass; any failure leaves the session unusable and becomes a BackendError."""
        self.work.model_calls += 1
        try:
            with torch.inference_mode():
                return run()
        except Exception as error:
            self._cache = None
            self._decoder = None  # its cache and graph may be half-written: not handed on
            self._logprobs = None
            if self._backend.device.type == "cuda":
                torch.cuda.empty_cache()
            hint = ""
            if isinstance(error, torch.OutOfMemoryError):
                hint = " (out of memory: lower engine.max_pixels or engine.max_images, or set backend.quantization)"
            self._failure = (
                f"model forward over {tokens} tokens and {images} new images failed{hint}: "
                f"{type(error).__name__}: {error}"
            )
            raise BackendError(self._failure) from error

    def generate(
        self,
        sampling: SamplingParams,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Generation:
        """Prefill the queued turns, then sample the next assistant turn token by token."""
        self._check_usable()
        if sampling.max_new_tokens < 1:
            raise BackendError(f"max_new_tokens must be at least 1, got {sampling.max_new_tokens}")
        self._queue([turn_start(ASSISTANT)])
        stream = _TextStream(self._backend.tokenizer, on_text)
        stop: int | None = None
        cancelled = cancel is not None and cancel.is_set()
        sampled = 0
        try:
            if not cancelled:
                logprobs = self._flush(reserve=sampling.max_new_tokens)
                generator = torch.Generator(device=logprobs.device)
                if sampling.seed is None:
                    generator.seed()
                else:
                    generator.manual_seed(sampling.seed)
                while True:
                    token = self._sample(logprobs, sampling, generator)
                    sampled += 1
                    self.work.decoded_tokens += 1
                    if token in (self._vocab.im_end, self._vocab.endoftext):
                        stop = token
                        break
                    self._ids.append(token)
                    self._unfed_sampled += 1
                    stream.push(token)
                    if sampled >= sampling.max_new_tokens:
                        break
                    if cancel is not None and cancel.is_set():
                        cancelled = True
                        break
                    logprobs = self._decode_step(token)
            stream.finish()
        finally:  # the turn is closed even when on_text raises
            if stop == self._vocab.im_end:
                self._ids.append(stop)  # the model's own end-of-turn token, carried as sampled
                self._unfed_sampled += 1
                self._queue([TURN_END.removeprefix(IM_END)])
            else:
                self._queue([TURN_END])
        return Generation(text=stream.text, finished=stop is not None, cancelled=cancelled, num_tokens=sampled)

    def _sample(self, logprobs: torch.Tensor, sampling: SamplingParams, generator: torch.Generator) -> int:
        scores = logprobs.clone()
        scores[[self._vocab.image_pad, self._vocab.video_pad]] = -float("inf")  # placeholders only come from images
        if sampling.temperature <= 0.0:
            return int(torch.argmax(scores))
        probs = torch.softmax(scores / sampling.temperature, dim=-1)
        if sampling.top_p < 1.0:
            sorted_probs, order = torch.sort(probs, descending=True)
            outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= sampling.top_p
            sorted_probs[outside] = 0.0
            probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
        return int(torch.multinomial(probs, 1, generator=generator))

    # -- lifecycle -----------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed or self._backend.closed:
            raise BackendError("the session (or its backend) is closed")
        if self._failure is not None:
            raise BackendError(f"the session failed earlier and cannot continue: {self._failure}")

    def close(self) -> None:
        """Drop the KV cache and any pixel values still held; a static cache goes back to the backend."""
        self._closed = True
        if self._decoder is not None:
            self._backend.return_decoder(self._decoder)
            self._decoder = None
        self._cache = None
        self._logprobs = None
        self._pixels = []
