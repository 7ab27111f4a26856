"""``vilasr-ros bench-gen``: write a generated benchmark folder (simulated rooms, or a recorded run)."""

from __future__ import annotations

import argparse
import sys
import time

from vilasr_ros.evaluation.benchmark import (
    MAX_PIXELS,
    BenchmarkError,
    generate_keyframe_benchmark,
    generate_sim_benchmark,
)
from vilasr_ros.evaluation.questions import FAMILIES


def add_bench_gen_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``vilasr-ros bench-gen``."""
    parser.add_argument("--out", required=True, help="directory to write (new or empty; --force replaces a benchmark)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    parser.add_argument("--items", type=int, default=400, help="number of questions (default 400)")
    parser.add_argument("--scenes", type=int, default=10, help="simulated rooms, at least (default 10)")
    parser.add_argument("--frames", type=int, default=6, help="keyframes per simulated room (default 6)")
    parser.add_argument("--width", type=int, default=320, help="simulated image width (default 320)")
    parser.add_argument("--height", type=int, default=240, help="simulated image height (default 240)")
    parser.add_argument("--max-pixels", type=int, default=MAX_PIXELS, help="model image budget for the boxes")
    parser.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help=f"comma-separated question families (default: all of {', '.join(FAMILIES)})",
    )
    parser.add_argument("--keyframes", help="a keyframe folder of a recorded run, instead of simulated rooms")
    parser.add_argument(
        "--objects", help="YAML of the run's labelled objects (label, centre, size, yaw); with --keyframes"
    )
    parser.add_argument("--force", action="store_true", help="replace a benchmark already in --out")


def run_bench_gen(args: argparse.Namespace) -> int:
    """Generate; print a summary; 0 on success, 2 on bad input."""
    families = [name.strip() for name in args.families.split(",") if name.strip()]
    started = time.monotonic()
    try:
        if bool(args.keyframes) != bool(args.objects):
            raise BenchmarkError("--keyframes and --objects go together")
        if args.keyframes:
            summary = generate_keyframe_benchmark(
                args.out, args.keyframes, args.objects, args.seed, args.items, args.max_pixels, families, args.force
            )
        else:
            summary = generate_sim_benchmark(
                args.out,
                args.seed,
                args.items,
                args.scenes,
                args.frames,
                args.width,
                args.height,
                args.max_pixels,
                families,
                args.force,
            )
    except BenchmarkError as error:
        print(f"vilasr-ros bench-gen: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{family} {count}" for family, count in summary.family_counts.items())
    print(
        f"wrote {summary.items} items over {summary.scenes} scene(s) to {summary.directory} "
        f"in {time.monotonic() - started:.1f} s ({counts})"
    )
    return 0
