"""``vilasr-ros train``: the three stages, their data, and the trainable tiny model.

    vilasr-ros train data  --bench DIR --out data.jsonl [--reflect-share 0.3] [--families a,b]
    vilasr-ros train sft   --model DIR --data data.jsonl --out DIR [--steps N] [--lr X] ...
    vilasr-ros train rrs   --model DIR --bench DIR --out DIR [--k 4] [--keep 2] [--min-score 1.0] ...
    vilasr-ros train grpo  --model DIR --bench DIR --out DIR [--group 4] [--beta 0.01] ...
    vilasr-ros train init-tiny --out DIR [--seed S] [--hidden-size N] [--layers N] [--vision-hidden-size N] ...

Each training command resumes from ``--out`` when a checkpoint of its stage is
there; ``--out`` is then a model folder the node loads (``backend.model``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from vilasr_ros.config import EngineConfig

TINY = {
    "hidden_size": 128,
    "layers": 4,
    "heads": 4,
    "vision_hidden_size": 64,
    "vision_layers": 2,
    "rope_theta": 100.0,
    "split_digits": True,
    "vocab_size": 1000,
}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The sub-commands of ``vilasr-ros train``."""
    stages = parser.add_subparsers(dest="stage", required=True)
    data = stages.add_parser("data", help="stage-1 SFT data: drawing traces from a generated benchmark's ground truth")
    data.add_argument("--bench", required=True, help="a generated benchmark folder (vilasr-ros bench-gen)")
    data.add_argument("--out", required=True, help="the JSON-lines file to write")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("--reflect-share", type=float, default=0.3, help="share of reflective traces (default 0.3)")
    data.add_argument("--families", default="", help="comma-separated families to keep (default: all)")

    sft = stages.add_parser("sft", help="stage 1: supervised fine-tuning on SFT data (loss on assistant tokens)")
    sft.add_argument("--data", required=True, help="SFT data (JSON lines from `train data` or `train rrs`)")
    _common(sft)

    rrs = stages.add_parser("rrs", help="stage 2: reflective rejection sampling, then SFT on the kept traces")
    rrs.add_argument("--bench", required=True, help="a generated benchmark folder to sample questions from")
    rrs.add_argument("--k", type=int, default=4, help="traces sampled per question (default 4)")
    rrs.add_argument("--keep", type=int, default=2, help="correct traces kept per question, reflective first")
    rrs.add_argument("--min-score", type=float, default=1.0, help="a trace is correct at this score (default 1.0)")
    rrs.add_argument("--limit", type=int, help="only the first N questions")
    rrs.add_argument("--temperature", type=float, default=1.0)
    rrs.add_argument("--max-new-tokens", type=int, default=256)
    _common(rrs)

    grpo = stages.add_parser("grpo", help="stage 3: GRPO with rollouts through the engine")
    grpo.add_argument("--bench", required=True, help="a generated benchmark folder to draw questions from")
    grpo.add_argument("--group", type=int, default=4, help="rollouts per question (default 4)")
    grpo.add_argument("--beta", type=float, default=0.01, help="KL coefficient, k3 estimator (default 0.01)")
    grpo.add_argument("--format-weight", type=float, default=0.5, help="format reward, counted when the outcome > 0")
    grpo.add_argument("--temperature", type=float, default=1.0)
    grpo.add_argument("--max-new-tokens", type=int, default=256)
    _common(grpo)

    tiny = stages.add_parser("init-tiny", help="build the trainable tiny Qwen2.5-VL (1 M parameters) from a seed")
    tiny.add_argument("--out", required=True)
    tiny.add_argument("--seed", type=int, default=0)
    for name in ("hidden_size", "layers", "heads", "vision_hidden_size", "vision_layers"):
        flag = "--" + name.replace("_", "-")
        tiny.add_argument(flag, type=int, default=TINY[name], help=f"default {TINY[name]}")
    tiny.add_argument("--rope-theta", type=float, default=TINY["rope_theta"], help=f"default {TINY['rope_theta']}")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model folder to start from")
    parser.add_argument("--out", required=True, help="the output model folder (resumed when it holds a checkpoint)")
    parser.add_argument("--steps", type=int, default=100, help="optimiser steps (a resumed run continues to it)")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--accumulate", type=int, default=1, help="examples (sft, rrs) or questions (grpo) per step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-every", type=int, default=50)
    parser.add_argument("--lora-rank", type=int, default=0, help="train LoRA adapters of this rank (needs peft)")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (fp32 master weights)")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="recompute activations (saves memory)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (accelerate launch sets it per process)")
    parser.add_argument("--max-pixels", type=int, default=EngineConfig.max_pixels)


def _settings(args: argparse.Namespace):
    from vilasr_ros.training.trainer import TrainSettings

    return TrainSettings(
        steps=args.steps,
        lr=args.lr,
        warmup=args.warmup,
        accumulate=args.accumulate,
        seed=args.seed,
        save_every=args.save_every,
        lora_rank=args.lora_rank,
        bf16=args.bf16,
        device=args.device,
        gradient_checkpointing=args.gradient_checkpointing,
    )


def run_train(args: argparse.Namespace) -> int:
    """Run a ``train`` sub-command; 0 on success, 1 when a stage had nothing to learn from, 2 on bad input."""
    from vilasr_ros.evaluation.items import ItemError
    from vilasr_ros.reasoning.backend import BackendError
    from vilasr_ros.training.data import DataError
    from vilasr_ros.training.trainer import TrainError

    started = time.monotonic()
    try:
        code = _run(args)
    except (TrainError, DataError, ItemError, BackendError, ValueError, OSError) as error:
        print(f"vilasr-ros train {args.stage}: {error}", file=sys.stderr)
        return 2
    print(f"train {args.stage}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    if args.stage == "data":
        from vilasr_ros.training.data import write_sft_data

        families = [name.strip() for name in args.families.split(",") if name.strip()]
        count = write_sft_data(args.bench, args.out, args.seed, args.reflect_share, families)
        print(f"wrote {count} traces to {args.out}")
        return 0 if count else 1
    if args.stage == "init-tiny":
        from vilasr_ros.sim.tiny_model import build_tiny_qwen

        sizes = {name: getattr(args, name) for name in TINY if hasattr(args, name)}
        model = build_tiny_qwen(args.out, seed=args.seed, **{**TINY, **sizes})
        count = json.loads((model / "TINY_RANDOM_MODEL.json").read_text())["parameters"]
        print(f"built the tiny model in {model} ({count / 1e6:.2f} M parameters)")
        return 0
    if args.stage == "sft":
        from vilasr_ros.training.sft import train_sft

        summary = train_sft(args.model, args.data, args.out, _settings(args), max_pixels=args.max_pixels)
        print(
            f"sft: {summary.steps} steps on {summary.records} traces; loss {summary.first_loss} -> {summary.last_loss}"
        )
        return 0
    if args.stage == "rrs":
        from pathlib import Path

        from vilasr_ros.reasoning.transformers_backend import TransformersBackend
        from vilasr_ros.training.rrs import sample_traces
        from vilasr_ros.training.sft import train_sft

        backend = TransformersBackend(args.model, device=args.device, decode="dynamic")
        data = Path(args.out) / "rrs_traces.jsonl"
        config = EngineConfig(
            max_pixels=args.max_pixels, temperature=args.temperature, top_p=1.0, max_new_tokens=args.max_new_tokens
        )
        sampled = sample_traces(
            args.bench,
            backend,
            data,
            k=args.k,
            keep=args.keep,
            min_score=args.min_score,
            engine_config=config,
            seed=args.seed,
            limit=args.limit,
        )
        backend.close()
        print(
            f"rrs: {sampled.kept} traces kept ({sampled.reflective} reflective) of {sampled.correct} correct "
            f"among {sampled.sampled} sampled over {sampled.questions} questions -> {data}"
        )
        if not sampled.kept:
            print("rrs: no correct trace to fine-tune on; the model needs more stage-1 training", file=sys.stderr)
            return 1
        summary = train_sft(args.model, data, args.out, _settings(args), max_pixels=args.max_pixels, stage="rrs")
        print(f"rrs sft: {summary.steps} steps; loss {summary.first_loss} -> {summary.last_loss}")
        return 0
    from vilasr_ros.training.grpo import GRPOSettings, train_grpo

    grpo = GRPOSettings(
        group=args.group,
        beta=args.beta,
        format_weight=args.format_weight,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
    )
    summary = train_grpo(args.model, args.bench, args.out, _settings(args), grpo, max_pixels=args.max_pixels)
    print(
        f"grpo: {summary.steps} steps; mean reward {summary.mean_reward:.3f}; "
        f"largest weight change {summary.changed:.3g}"
    )
    return 0
