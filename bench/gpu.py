"""`make bench-gpu`: decode speed of the in-process backend at Qwen2.5-VL-7B scale, on a GPU.

    python bench/gpu.py [--out bench/results-gpu.json] [--config 7b|tiny] [--turns 10] [--decode-tokens 256]

Builds Qwen2.5-VL at the real 7B configuration (the values of
Qwen2.5-VL-7B-Instruct's config.json, written out below) with random weights,
directly on the GPU in bfloat16 (no download: a forward pass costs the same
whatever the weights' values), with the project's tiny tokenizer and processor
(ids past the tokenizer's vocabulary are fine: nothing is re-tokenized). Then it
runs a ViLaSR-style query through the real engine: 4 keyframes of 1280x720 and a
10-turn drawing transcript, teacher-forced -- except that at every turn the
model first decodes ``--decode-tokens`` tokens greedily in place of the recorded
turn (the engine goes on with the recorded turn's tool call, so every turn adds
a drawing). The output head's rows of the two end-of-turn tokens are zeroed so
that random weights never stop a turn early.

Measured for each decode path of the backend -- ``graph`` (static cache, CUDA
graph), ``dynamic`` (today's loop), ``static`` (static cache, no graph) -- and
for transformers' ``generate()`` on the same token ids and images (the whole
conversation re-run every turn, as generate() must): prefill time per turn,
decode tokens/s at batch 1, time per query, peak GPU memory, and decode tokens/s
as a fraction of the bandwidth ceiling: the device's memory bandwidth (measured
here with a large device-to-device copy, bytes read plus bytes written) over the
weight bytes one decode step must read (the language model's layers, final norm
and output head; ``*_all_weights`` figures divide by every weight byte instead).

First, one short turn (32 greedy tokens) is decoded on each path and the tokens compared
(``same_tokens_check``): the graph must give exactly the eager static step's tokens.

Exits with one line and status 2 on a machine without a CUDA GPU, unless
``--config tiny`` (a miniature model, to check this script on a CPU).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

# Qwen2.5-VL-7B-Instruct's config.json (and ViLaSR-7B's, a fine-tune of it).
QWEN2_5_VL_7B_TEXT = {
    "vocab_size": 152064,
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "hidden_act": "silu",
    "max_position_embeddings": 128000,
    "max_window_layers": 28,
    "rms_norm_eps": 1e-06,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    "sliding_window": 32768,
    "use_sliding_window": False,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "tie_word_embeddings": False,
}
QWEN2_5_VL_7B_VISION = {
    "depth": 32,
    "hidden_size": 1280,
    "intermediate_size": 3420,
    "num_heads": 16,
    "in_chans": 3,
    "out_hidden_size": 3584,
    "hidden_act": "silu",
    "patch_size": 14,
    "spatial_merge_size": 2,
    "temporal_patch_size": 2,
    "window_size": 112,
    "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2,
    "initializer_range": 0.02,
}
# A miniature of the same architecture, to check this script on a CPU in seconds.
TINY_TEXT = {
    **QWEN2_5_VL_7B_TEXT,
    "vocab_size": 4096,
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]},
}
TINY_VISION = {
    **QWEN2_5_VL_7B_VISION,
    "depth": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_heads": 2,
    "out_hidden_size": 64,
    "fullatt_block_indexes": [1],
}
CONFIGS = {"7b": (QWEN2_5_VL_7B_TEXT, QWEN2_5_VL_7B_VISION), "tiny": (TINY_TEXT, TINY_VISION)}

KEYFRAMES = 4
FRAME_HEIGHT, FRAME_WIDTH = 720, 1280
QUESTION = "Which object is closer to the door?"
NO_GPU = (
    "bench/gpu.py: no CUDA GPU here (torch.cuda.is_available() is False); run `make bench-gpu` on a machine "
    "with an NVIDIA GPU (or `python bench/gpu.py --config tiny` to check the script on the CPU)"
)


def build_model(config_name: str, processor: Any, device: Any, dtype: Any) -> Any:
    """Qwen2.5-VL of the named configuration with random weights, built directly on ``device``."""
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tokenizer = processor.tokenizer
    ids = {
        name: tokenizer.convert_tokens_to_ids(f"<|{name}|>")
        for name in ("endoftext", "im_end", "image_pad", "video_pad", "vision_start", "vision_end")
    }
    text, vision = CONFIGS[config_name]
    config = Qwen2_5_VLConfig(
        text_config={
            **text,
            "bos_token_id": ids["endoftext"],
            "eos_token_id": ids["im_end"],
            "pad_token_id": ids["endoftext"],
        },
        vision_config=vision,
        image_token_id=ids["image_pad"],
        video_token_id=ids["video_pad"],
        vision_start_token_id=ids["vision_start"],
        vision_end_token_id=ids["vision_end"],
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(config, dtype=dtype, attn_implementation="sdpa")
    model.eval()
    with torch.no_grad():  # random weights must not end a turn early
        model.lm_head.weight[[ids["im_end"], ids["endoftext"]]] = 0.0
    model.generation_config.eos_token_id = [ids["im_end"], ids["endoftext"]]
    model.generation_config.pad_token_id = ids["endoftext"]
    return model


def measure_bandwidth(device: Any, megabytes: int) -> float:
    """Device memory bandwidth in bytes/s: a large copy, bytes read plus bytes written, median of 10."""
    import torch

    source = torch.empty(megabytes * 2**20, dtype=torch.uint8, device=device).fill_(1)
    target = torch.empty_like(source)
    times = []
    for _ in range(12):
        synchronize(device)
        started = time.perf_counter()
        target.copy_(source)
        synchronize(device)
        times.append(time.perf_counter() - started)
    del source, target
    return 2 * megabytes * 2**20 / statistics.median(times[2:])


def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def weight_bytes(model: Any) -> tuple[int, int]:
    """(bytes every decode step reads: language-model layers, final norm, output head; all weight bytes)."""

    def size(parameters) -> int:
        return sum(p.numel() * p.element_size() for p in parameters)

    language = model.model.language_model
    step = size(language.layers.parameters()) + size(language.norm.parameters()) + size(model.lm_head.parameters())
    return step, size(model.parameters())


class TimedSession:
    """Forwards to a backend session; times each turn's prefill and decodes in place of each forced turn.

    The engine, teacher-forcing, calls ``flush()`` (the turn's context) then ``add_assistant(text)``; here
    ``add_assistant`` first lets the model decode ``decode_tokens`` tokens greedily as that turn (and records
    the prompt, for generate()), and the engine goes on with the recorded turn's tool call.
    """

    def __init__(self, inner: Any, backend: Any, decode_tokens: int, record: dict) -> None:
        self.inner, self.backend, self.decode_tokens, self.record = inner, backend, decode_tokens, record
        self.work, self.minimum = inner.work, inner.minimum
        self.images: list[Any] = []
        header = backend.encode_text("assistant\n")
        self.header = [backend.vocab.im_start, *header]

    def add_user(self, content: Sequence[Any]) -> None:
        from vilasr_ros.reasoning.backend import ChatImage

        self.images += [part for part in content if isinstance(part, ChatImage)]
        self.inner.add_user(content)

    def flush(self) -> None:
        device = self.backend.device
        before = self.inner.work.prefill_tokens
        started = time.perf_counter()
        self.inner.flush()
        synchronize(device)
        self.record["prefill_s"].append(time.perf_counter() - started)
        self.record["prefill_tokens"].append(self.inner.work.prefill_tokens - before)

    def add_assistant(self, text: str) -> None:
        from vilasr_ros.reasoning.backend import SamplingParams

        self.record["prompts"].append((self.inner.token_ids + self.header, list(self.images)))
        started = time.perf_counter()
        generation = self.inner.generate(SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=self.decode_tokens))
        synchronize(self.backend.device)
        self.record["decode_s"].append(time.perf_counter() - started)
        self.record["decode_tokens"].append(generation.num_tokens)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.generate(*args, **kwargs)

    def close(self) -> None:
        decoder = self.inner.static_decoder
        if decoder is not None:
            self.record["captures"] = decoder.captures
            self.record["graph_error"] = decoder.graph_error
            self.record["cache_capacity"] = decoder.capacity
        self.record["context_tokens"] = len(self.inner.token_ids)
        self.inner.close()


class TimedBackend:
    """Opens :class:`TimedSession` sessions on a TransformersBackend; collects one record per query."""

    def __init__(self, backend: Any, decode_tokens: int) -> None:
        self.backend, self.decode_tokens = backend, decode_tokens
        self.records: list[dict] = []

    def start(self, system_prompt: str) -> TimedSession:
        record: dict = {"prefill_s": [], "prefill_tokens": [], "decode_s": [], "decode_tokens": [], "prompts": []}
        self.records.append(record)
        return TimedSession(self.backend.start(system_prompt), self.backend, self.decode_tokens, record)


def camera_frames(count: int) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=np.uint8) for _ in range(count)]


def run_query(backend: Any, decode_tokens: int, turns: int) -> dict:
    """One engine query through the backend; the per-turn record plus wall time and peak GPU memory."""
    import torch

    from vilasr_ros.config import EngineConfig
    from vilasr_ros.core.stop import StopReason
    from vilasr_ros.reasoning.engine import ReasoningEngine
    from vilasr_ros.sim.transcripts import drawing_transcript

    timed = TimedBackend(backend, decode_tokens)
    engine = ReasoningEngine(timed, EngineConfig(max_turns=turns))  # type: ignore[arg-type]
    frames = camera_frames(KEYFRAMES)
    if backend.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(backend.device)
    started = time.perf_counter()
    result = engine.run(frames, QUESTION, forced_turns=drawing_transcript(turns, KEYFRAMES))
    synchronize(backend.device)
    wall = time.perf_counter() - started
    if result.stop_reason != StopReason.ANSWERED:
        raise RuntimeError(f"the benchmark query ended with {result.stop_reason}: {result.error}")
    record = timed.records[-1]
    record["s_per_query"] = wall
    if backend.device.type == "cuda":
        record["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(backend.device) / 1e9
    return record


class _StepTimer:
    """A generate() streamer: the time of the prompt and of every new token."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.times: list[float] = []

    def put(self, value: Any) -> None:
        synchronize(self.device)
        self.times.append(time.perf_counter())

    def end(self) -> None:
        pass


def run_generate(backend: Any, prompts: list, decode_tokens: int) -> dict:
    """transformers' generate() on the recorded prompts: the whole conversation each turn."""
    import torch

    model, processor, device = backend.model, backend.processor, backend.device
    record: dict = {"prefill_s": [], "prefill_tokens": [], "decode_s": [], "decode_tokens": []}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    for ids, images in prompts:
        processed = processor.image_processor(images=[image.pixels for image in images], return_tensors="pt")
        input_ids = torch.tensor([ids], device=device)
        timer = _StepTimer(device)
        turn_started = time.perf_counter()  # image preprocessing (every image, every turn) counts per query only
        with torch.inference_mode():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                pixel_values=processed["pixel_values"].to(device=device, dtype=model.dtype),
                image_grid_thw=processed["image_grid_thw"].to(device),
                mm_token_type_ids=(input_ids == model.config.image_token_id).int(),
                max_new_tokens=decode_tokens,
                min_new_tokens=decode_tokens,
                do_sample=False,
                streamer=timer,
            )
        new_tokens = output.shape[1] - input_ids.shape[1]
        # times[0]: the prompt was handed over; times[1]: the first new token (prefill done); then one per token
        record["prefill_s"].append(timer.times[1] - turn_started)
        record["prefill_tokens"].append(len(ids))
        record["decode_s"].append(timer.times[-1] - timer.times[1])
        record["decode_tokens"].append(new_tokens - 1)
    record["s_per_query"] = time.perf_counter() - started
    record["context_tokens"] = len(prompts[-1][0]) + decode_tokens
    if device.type == "cuda":
        record["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
    return record


def same_tokens(model: Any, processor: Any, paths: Sequence[str], tokens: int) -> dict:
    """Greedy tokens of one short turn (a 784x448 image and a question) on each decode path, compared.

    The graph replays exactly the kernels of the eager static step, so their tokens must be identical;
    the dynamic loop runs other attention kernels, so in bfloat16 a near-tie may part it from them.
    """
    import numpy as np

    from vilasr_ros.reasoning.backend import ChatImage, SamplingParams
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend

    pixels = np.random.default_rng(1).integers(0, 256, (448, 784, 3), dtype=np.uint8)
    decoded = {}
    for path in paths:
        session = TransformersBackend.from_loaded(model, processor, decode=path).start("You are a helpful assistant.")
        session.add_user([ChatImage(1, pixels), QUESTION])
        session.prefill()
        before = len(session.token_ids)
        session.generate(SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=tokens))
        decoded[path] = session.token_ids[before:]
        session.close()
    reference = decoded[paths[0]]
    check: dict = {"tokens": tokens, "reference": paths[0]}
    for path in paths[1:]:
        same = next((i for i, (a, b) in enumerate(zip(reference, decoded[path])) if a != b), len(reference))
        check[f"{path}_identical"] = decoded[path] == reference
        check[f"{path}_same_prefix_tokens"] = same
    return check


def summarize(record: dict, ceiling: float, ceiling_all: float) -> dict:
    """The per-path figures written to the JSON."""
    tokens, seconds = sum(record["decode_tokens"]), sum(record["decode_s"])
    rate = tokens / seconds
    figures = {key: value for key, value in record.items() if key != "prompts"}
    figures.update(
        {
            "prefill_s_total": sum(record["prefill_s"]),
            "decode_tokens_total": tokens,
            "decode_s_total": seconds,
            "decode_tokens_per_s": rate,
            "fraction_of_ceiling": rate / ceiling,
            "fraction_of_ceiling_all_weights": rate / ceiling_all,
        }
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(BENCH_DIR / "results-gpu.json"))
    parser.add_argument("--config", choices=sorted(CONFIGS), default="7b")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--decode-tokens", type=int, default=256, help="tokens decoded per turn")
    parser.add_argument(
        "--time-limit",
        type=float,
        default=270.0,
        help="seconds; a path whose expected time would pass it is skipped (and says so)",
    )
    args = parser.parse_args(argv)

    import torch

    if args.config == "7b" and not torch.cuda.is_available():
        print(NO_GPU, file=sys.stderr)
        return 2
    started = time.perf_counter()
    import transformers
    from transformers import AutoProcessor

    from vilasr_ros.reasoning.transformers_backend import TransformersBackend
    from vilasr_ros.sim.tiny_model import build_tiny_qwen

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)

    with tempfile.TemporaryDirectory() as directory:
        processor = AutoProcessor.from_pretrained(build_tiny_qwen(Path(directory) / "tiny"))
    model = build_model(args.config, processor, device, dtype)
    synchronize(device)
    log(f"built Qwen2.5-VL ({args.config}) on {device}")
    bandwidth = measure_bandwidth(device, 2048 if device.type == "cuda" else 256)
    step_bytes, all_bytes = weight_bytes(model)
    ceiling, ceiling_all = bandwidth / step_bytes, bandwidth / all_bytes
    log(
        f"bandwidth {bandwidth / 1e9:.0f} GB/s, decode step reads {step_bytes / 1e9:.2f} GB: "
        f"ceiling {ceiling:.1f} tokens/s"
    )

    results: dict = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({platform.processor()})",
        "config": args.config,
        "dtype": str(dtype).replace("torch.", ""),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "keyframes": f"{KEYFRAMES}x{FRAME_WIDTH}x{FRAME_HEIGHT}",
        "turns": args.turns,
        "decode_tokens_per_turn": args.decode_tokens,
        "bandwidth_gb_per_s": bandwidth / 1e9,
        "decode_step_weight_gb": step_bytes / 1e9,
        "weight_gb": all_bytes / 1e9,
        "ceiling_tokens_per_s": ceiling,
        "ceiling_tokens_per_s_all_weights": ceiling_all,
        "paths": {},
    }
    compared = ["static", "graph", "dynamic"] if device.type == "cuda" else ["static", "dynamic"]
    results["same_tokens_check"] = same_tokens(model, processor, compared, 32)
    log(f"same greedy tokens: {results['same_tokens_check']}")
    paths = results["paths"]
    expected_s = 0.0  # the slowest path so far: what a later path is expected to take

    def fits(name: str) -> bool:
        elapsed = time.perf_counter() - started
        if elapsed + expected_s <= args.time_limit:
            return True
        paths[name] = {"skipped": f"after {elapsed:.0f} s, another {expected_s:.0f} s would pass --time-limit"}
        log(f"{name}: skipped ({paths[name]['skipped']})")
        return False

    prompts: list = []
    backend = None  # the last path's backend: generate() runs on its model with its prompts
    for name in ("graph", "dynamic", "generate", "static"):
        if name == "graph" and device.type != "cuda":
            paths[name] = {"skipped": "CUDA graphs need a CUDA device"}
            continue
        if not fits(name):
            continue
        if name == "generate":
            if backend is None:
                paths[name] = {"skipped": "no earlier path recorded the prompts"}
                continue
            record = run_generate(backend, prompts, args.decode_tokens)
        else:
            backend = TransformersBackend.from_loaded(model, processor, decode=name)
            record = run_query(backend, args.decode_tokens, args.turns)
            if name == "graph":  # again, as a long-lived node would: the cache and graph from query 1 reused
                cold = record
                record = run_query(backend, args.decode_tokens, args.turns)
                record["s_per_query_cold"] = cold["s_per_query"]
                record["captures_cold"] = cold.get("captures", 0)
            prompts = record["prompts"]
        paths[name] = summarize(record, ceiling, ceiling_all)
        expected_s = max(expected_s, record["s_per_query"])
        log(
            f"{name}: {paths[name]['decode_tokens_per_s']:.1f} tokens/s "
            f"({paths[name]['fraction_of_ceiling']:.0%} of ceiling), {record['s_per_query']:.1f} s per query"
        )

    rates = {name: figures["decode_tokens_per_s"] for name, figures in paths.items() if "skipped" not in figures}
    for fast in ("graph", "static"):
        for slow in ("dynamic", "generate"):
            if fast in rates and slow in rates:
                results[f"decode_speedup_{fast}_vs_{slow}"] = rates[fast] / rates[slow]
    results["wall_s"] = time.perf_counter() - started
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2) + "\n")

    print(
        f"\n{results['device']}, {args.config}, bandwidth {bandwidth / 1e9:.0f} GB/s, "
        f"ceiling {ceiling:.1f} tokens/s ({step_bytes / 1e9:.2f} GB per step)"
    )
    print(f"{'path':10} {'decode tok/s':>12} {'of ceiling':>10} {'prefill s':>10} {'s/query':>8} {'peak GB':>8}")
    for name, figures in paths.items():
        if "skipped" in figures:
            print(f"{name:10} skipped: {figures['skipped']}")
            continue
        peak = figures.get("peak_gpu_memory_gb")
        print(
            f"{name:10} {figures['decode_tokens_per_s']:12.1f} {figures['fraction_of_ceiling']:10.1%} "
            f"{figures['prefill_s_total']:10.2f} {figures['s_per_query']:8.1f} "
            f"{'-' if peak is None else f'{peak:.1f}':>8}"
        )
    print(f"wrote {out} in {results['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
