"""``vilasr-ros eval``: answer a benchmark through the query path, score it, write the tables (:mod:`runner`)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from vilasr_ros.config import BACKEND_KINDS, BackendConfig, EngineConfig
from vilasr_ros.evaluation import tables
from vilasr_ros.evaluation.authors import DATASETS, DEFAULT_MAX_FRAMES, RepeatedIdsWarning
from vilasr_ros.evaluation.items import ItemError
from vilasr_ros.evaluation.load import load_items
from vilasr_ros.evaluation.runner import TABLE_JSON, TABLE_MD, TRACES, EvalError, EvalSettings, run_evaluation


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``vilasr-ros eval``."""
    parser.add_argument(
        "bench", help="a generated benchmark folder, or an authors' file (vsi_bench.json, maze.json, ...)"
    )
    parser.add_argument(
        "--out", required=True, help="output folder: records.jsonl, table.json, table.md; rerun to resume"
    )
    parser.add_argument("--backend", choices=BACKEND_KINDS, default="transformers")
    parser.add_argument(
        "--model", default=BackendConfig.model, help="Hugging Face id or local directory; served name (openai)"
    )
    parser.add_argument("--url", default=BackendConfig.url, help="OpenAI-compatible server (--backend openai)")
    parser.add_argument("--device", default=BackendConfig.device)
    parser.add_argument("--dtype", default=BackendConfig.dtype)
    parser.add_argument(
        "--trace", choices=TRACES, help="replay: each item's turns built from its ground truth, or at random"
    )
    parser.add_argument(
        "--transcript", help='replay: a JSON file of turns ({"by_id": {item id: [turns]}}, or as `reason` reads)'
    )
    parser.add_argument("--no-tools", action="store_true", help="ablation: answer in one model call without drawing")
    parser.add_argument("--limit", type=int, help="only the first N items of the benchmark")
    parser.add_argument("--workers", type=int, default=1, help="items in parallel (openai and replay backends)")
    parser.add_argument(
        "--retry-errors", action="store_true", help="answer again the items recorded with a backend error or timeout"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampling and random traces, per item (default 0)")
    parser.add_argument("--temperature", type=float, default=EngineConfig.temperature)
    parser.add_argument("--max-new-tokens", type=int, default=EngineConfig.max_new_tokens)
    parser.add_argument("--max-pixels", type=int, default=EngineConfig.max_pixels)
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds per item; 0: no limit")
    parser.add_argument("--dataset", choices=DATASETS, help="authors' file: which benchmark (default: the file's name)")
    parser.add_argument(
        "--image-folder", help="authors' file: the root of its image paths (default: the file's folder)"
    )
    parser.add_argument(
        "--max-frames", type=int, default=DEFAULT_MAX_FRAMES, help="authors' VSI-Bench: frames announced"
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        help="another eval output folder: write comparison.md next to this run's",
    )


def run_eval(args: argparse.Namespace) -> int:
    """Evaluate; print the table; 0 when done, 2 on bad input, 130 when interrupted (rerun to resume)."""

    def fail(message: str) -> int:
        print(f"vilasr-ros eval: {message}", file=sys.stderr)
        return 2

    settings = EvalSettings(
        backend=args.backend,
        model=args.model,
        url=args.url,
        device=args.device,
        dtype=args.dtype,
        transcript=str(Path(args.transcript).resolve()) if args.transcript else "",
        trace=args.trace or "",
        no_tools=args.no_tools,
        seed=args.seed,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        max_pixels=args.max_pixels,
        timeout=args.timeout,
    )
    bench = Path(args.bench).resolve()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RepeatedIdsWarning)
            items = load_items(bench, args.dataset, args.image_folder, args.max_frames)
        for warning in caught:
            print(f"vilasr-ros eval: warning: {warning.message}", file=sys.stderr)
        summary = run_evaluation(
            items,
            args.out,
            settings,
            source=str(bench),
            root=bench if bench.is_dir() else None,
            limit=args.limit,
            workers=args.workers,
            retry_errors=args.retry_errors,
            progress=sys.stderr,
        )
    except (ItemError, EvalError) as error:
        return fail(str(error))
    except KeyboardInterrupt:
        print(
            f"vilasr-ros eval: interrupted; the records so far are in {args.out}: run the same command to resume",
            file=sys.stderr,
        )
        return 130
    print((Path(args.out) / TABLE_MD).read_text(encoding="utf-8"), end="")
    print(
        f"{summary.ran} item(s) answered now, {summary.resumed} recorded before, of {summary.selected}; "
        f"wrote {Path(args.out) / TABLE_JSON}"
    )
    if args.compare:
        runs = {Path(args.out).name: summary.table}
        for other in args.compare:
            try:
                runs[Path(other).name] = json.loads((Path(other) / TABLE_JSON).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                return fail(f"--compare {other}: cannot read its {TABLE_JSON} ({error})")
        text = tables.side_by_side(runs)
        (Path(args.out) / "comparison.md").write_text(text, encoding="utf-8")
        print(text, end="")
    return 130 if summary.interrupted else 0
