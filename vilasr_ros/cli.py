"""The ``vilasr-ros`` command line.

    vilasr-ros node [--params-file F] [--namespace NS] [--model M] [--use-sim-time] [--ros-args ...]
    vilasr-ros ask "question" [--option "A. ..."]... [--service /vilasr/query]
    vilasr-ros reason --image A.png [--image B.png]... --question "..." --out DIR [--backend ...]
    vilasr-ros ingest SOURCE [--params-file F] --out DIR [--camera NAME] [--max-keyframes N]
    vilasr-ros bench-gen --out DIR [--seed S] [--items N] [--keyframes FOLDER --objects YAML]
    vilasr-ros eval BENCH --out DIR [--backend ...] [--limit N] [--workers K] [--no-tools] [--trace ideal|random]
    vilasr-ros train data|sft|rrs|grpo|init-tiny ...

ROS imports happen inside the sub-commands that need them, so ``--help``
works, and a missing ROS install gets a clear message.
"""

from __future__ import annotations

import argparse
import sys

from vilasr_ros.config import BACKEND_KINDS, BackendConfig, ConfigError, EngineConfig, QueryConfig
from vilasr_ros.core.question import AnswerType

MAX_PROBLEMS_SHOWN = 20

ROS_MISSING = (
    "vilasr-ros: {what} needs ROS 2 (rclpy) and the vilasr_ros interfaces, which are not importable here "
    "({error}).\nRun `make setup` in the repository and use .venv/bin/vilasr-ros, or source a ROS 2 "
    "workspace in which vilasr_ros was built with colcon."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vilasr-ros", description="Spatial reasoning by drawing, for ROS 2.")
    commands = parser.add_subparsers(dest="command", required=True)

    node = commands.add_parser("node", help="run the vilasr node")
    node.add_argument("--params-file", help="YAML parameter file (e.g. config/vilasr.yaml)")
    node.add_argument("--namespace", default="", help="namespace to run the node in")
    node.add_argument("--model", default="", help="override backend.model (Hugging Face id or local path)")
    node.add_argument("--use-sim-time", action="store_true", help="use /clock (simulation or bag replay)")

    ask = commands.add_parser("ask", help="ask the running node one question and print the answer")
    ask.add_argument("question")
    ask.add_argument("--option", action="append", default=[], help="a multiple-choice option (repeat)")
    ask.add_argument("--answer-type", choices=[t.value for t in AnswerType], default=AnswerType.AUTO.value)
    ask.add_argument("--camera", action="append", default=[], help="restrict to this camera (repeat)")
    ask.add_argument("--max-keyframes", type=int, default=0, help="0: the node's default")
    ask.add_argument("--timeout", type=float, default=0.0, help="query timeout in seconds; 0: the node's default")
    ask.add_argument("--service", default="/vilasr/query", help="service name (default: /vilasr/query)")
    ask.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the service and the answer")

    reason = commands.add_parser("reason", help="run the drawing-reasoning loop on image files (no ROS)")
    sources = reason.add_mutually_exclusive_group(required=True)
    sources.add_argument("--image", action="append", help="an image file, in conversation order (repeat)")
    sources.add_argument(
        "--keyframes", help="a keyframe folder written by `vilasr-ros ingest` (images with depth, calibration, poses)"
    )
    reason.add_argument("--question", required=True)
    reason.add_argument("--option", action="append", default=[], help="a multiple-choice option (repeat)")
    reason.add_argument("--answer-type", choices=[t.value for t in AnswerType], default=AnswerType.AUTO.value)
    reason.add_argument("--backend", choices=BACKEND_KINDS, default="transformers")
    reason.add_argument("--model", default=BackendConfig.model, help="Hugging Face id or local directory")
    reason.add_argument(
        "--transcript",
        help="JSON list of assistant turns: replayed (--backend replay) or teacher-forced (other backends)",
    )
    reason.add_argument("--url", default=BackendConfig.url, help="OpenAI-compatible server (--backend openai)")
    reason.add_argument("--device", default=BackendConfig.device)
    reason.add_argument("--dtype", default=BackendConfig.dtype)
    reason.add_argument("--max-turns", type=int, default=EngineConfig.max_turns)
    reason.add_argument("--max-pixels", type=int, default=EngineConfig.max_pixels)
    reason.add_argument("--max-new-tokens", type=int, default=EngineConfig.max_new_tokens)
    reason.add_argument("--temperature", type=float, default=EngineConfig.temperature)
    reason.add_argument("--seed", type=int, default=EngineConfig.seed)
    reason.add_argument("--video", action="store_true", help="announce the images as video frames (VSI-Bench style)")
    reason.add_argument(
        "--depth",
        action="append",
        default=[],
        help="depth of the matching --image: 16-bit PNG (millimetres) or .npy (float32 metres); 'none' to skip one",
    )
    reason.add_argument(
        "--camera-info",
        action="append",
        default=[],
        help="ROS camera_calibration YAML of the matching --image (one for all images when given once)",
    )
    reason.add_argument(
        "--pose",
        action="append",
        default=[],
        help="'x y z qx qy qz qw': the matching image's camera optical frame in --target-frame; 'none' to skip one",
    )
    reason.add_argument("--target-frame", default="map", help="frame of the 3D estimates (default: map)")
    reason.add_argument("--depth-scale", type=float, default=0.001, help="metres per unit of 16-bit depth")
    reason.add_argument("--out", required=True, help="directory for result.json and the drawn images")

    ingest = commands.add_parser(
        "ingest",
        help="read a recorded run (MCAP rosbag2) or a folder of RGB(-D) frames into a keyframe folder (no ROS)",
    )
    ingest.add_argument(
        "source",
        help="an .mcap file or rosbag2 directory, a keyframe folder, or a folder of *.png / *.jpg images",
    )
    ingest.add_argument("--params-file", help="the node's YAML parameter file (default: the parameter defaults)")
    ingest.add_argument("--out", required=True, help="directory to write the keyframe folder to")
    ingest.add_argument(
        "--camera", help="recordings: only this camera; image folders: the camera they show (default: the first)"
    )
    ingest.add_argument("--max-keyframes", type=int, help="write only this many, spread over time and viewpoint")

    from vilasr_ros.evaluation.cli import add_bench_gen_arguments
    from vilasr_ros.evaluation.eval_command import add_eval_arguments

    add_bench_gen_arguments(
        commands.add_parser("bench-gen", help="generate a spatial-question benchmark folder (no ROS)")
    )
    add_eval_arguments(
        commands.add_parser("eval", help="answer a benchmark through the query path and score it (no ROS)")
    )
    from vilasr_ros.training.cli import add_train_arguments

    add_train_arguments(commands.add_parser("train", help="train ViLaSR's three stages (sft, rrs, grpo), their data"))
    return parser


def node_ros_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The rclpy argv for `vilasr-ros node`: launch-style options become --ros-args."""
    ros_args = ["--ros-args"]
    if args.params_file:
        ros_args += ["--params-file", args.params_file]
    if args.namespace:
        ros_args += ["-r", f"__ns:={args.namespace if args.namespace.startswith('/') else '/' + args.namespace}"]
    if args.model:
        ros_args += ["-p", f"backend.model:={args.model}"]
    if args.use_sim_time:
        ros_args += ["-p", "use_sim_time:=true"]
    if extra[:1] == ["--ros-args"]:
        extra = extra[1:]
    return ["vilasr-ros", *ros_args, *extra]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--ros-args" in argv:
        cut = argv.index("--ros-args")
        argv, extra = argv[:cut], argv[cut:]
    args = build_parser().parse_args(argv)

    if args.command == "reason":
        return reason_command(args)
    if args.command == "ingest":
        return ingest_command(args)
    if args.command == "bench-gen":
        from vilasr_ros.evaluation.cli import run_bench_gen

        return run_bench_gen(args)
    if args.command == "eval":
        from vilasr_ros.evaluation.eval_command import run_eval

        return run_eval(args)
    if args.command == "train":
        from vilasr_ros.training.cli import run_train

        return run_train(args)
    if args.command == "node":
        try:
            from vilasr_ros.ros.node import main as node_main
        except ImportError as error:
            print(ROS_MISSING.format(what="the node", error=error), file=sys.stderr)
            return 3
        return node_main(node_ros_args(args, extra))

    try:
        from vilasr_ros.ros.client import QueryClientError, ask, build_request, format_response
    except ImportError as error:
        print(ROS_MISSING.format(what="ask", error=error), file=sys.stderr)
        return 3
    request = build_request(
        args.question, args.option, AnswerType(args.answer_type), args.camera, args.max_keyframes, args.timeout
    )
    try:
        response = ask(args.service, request, args.wait, ["vilasr-ros", *extra] if extra else None)
    except QueryClientError as error:
        print(f"vilasr-ros ask: {error}", file=sys.stderr)
        return 1
    print(format_response(response))
    return 0 if response.success else 1


def reason_command(args: argparse.Namespace) -> int:
    """`vilasr-ros reason`: one query on image files or a keyframe folder; writes result.json and the drawings."""
    from vilasr_ros.core.errors import DataError
    from vilasr_ros.io.frame_files import FrameFiles, read_frames
    from vilasr_ros.io.keyframe_folder import read_keyframes
    from vilasr_ros.query import answer_frames
    from vilasr_ros.query.request import QueryError, QueryRequest, resolve_request
    from vilasr_ros.query.results import write_result
    from vilasr_ros.reasoning.backend import BackendError
    from vilasr_ros.reasoning.factory import create_backend
    from vilasr_ros.reasoning.replay_backend import load_transcript

    def fail(message: str) -> int:
        print(f"vilasr-ros reason: {message}", file=sys.stderr)
        return 2

    try:
        if args.keyframes:
            frames = read_keyframes(args.keyframes)
        else:
            files = FrameFiles(args.image, args.depth, args.camera_info, args.pose, args.target_frame, args.depth_scale)
            frames = read_frames(files)
    except DataError as error:
        return fail(str(error))
    replay = args.backend == "replay"
    if replay and not args.transcript:
        return fail("--backend replay needs --transcript")
    try:
        query = resolve_request(
            QueryRequest(question=args.question, options=tuple(args.option), answer_type=AnswerType(args.answer_type)),
            defaults=QueryConfig(),
        )
        engine_config = EngineConfig(
            max_turns=args.max_turns,
            max_pixels=args.max_pixels,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            seed=args.seed,
        )
        backend_config = BackendConfig(
            kind=args.backend,
            model=args.model,
            url=args.url,
            device=args.device,
            dtype=args.dtype,
            transcript=args.transcript or "",
        )
        forced = None if replay or not args.transcript else load_transcript(args.transcript)
        backend = create_backend(backend_config)
    except (ConfigError, QueryError, BackendError) as error:
        return fail(str(error))
    try:
        outcome = answer_frames(
            query, frames, backend, engine_config, video=args.video, target_frame=args.target_frame, forced_turns=forced
        )
    finally:
        backend.close()
    result = outcome.result
    if result is None:
        return fail(outcome.error)
    path = write_result(result, query.question, args.out, outcome.estimates)
    print(f"{result.stop_reason}: {result.answer if result.answer is not None else result.error}")
    print(f"wrote {path} and {sum(image.base_index is not None for image in result.images)} drawn image(s)")
    return 0 if outcome.success else 1


def ingest_command(args: argparse.Namespace) -> int:
    """`vilasr-ros ingest`: 0 on success, 2 with a one-line reason on bad input."""
    from vilasr_ros.io.ingest import IngestError, ingest

    try:
        result = ingest(args.source, args.params_file, args.out, args.camera, args.max_keyframes)
    except (IngestError, ConfigError) as error:
        print(f"vilasr-ros ingest: {error}", file=sys.stderr)
        return 2
    print(f"read {result.frames_read} frame(s) from {result.source} ({result.kind})")
    for name, stats in result.stats.cameras.items():
        rejected = ", ".join(f"{reason} {count}" for reason, count in sorted(stats.rejected.items())) or "none"
        print(
            f"camera {name}: {stats.offered} offered, {stats.admitted} admitted, {stats.evicted} evicted, "
            f"rejected: {rejected}"
        )
    print(f"wrote {result.written} keyframe(s) to {result.index}")
    shown = sorted(result.problems.items(), key=lambda item: -item[1])
    for message, count in shown[:MAX_PROBLEMS_SHOWN]:
        print(f"vilasr-ros ingest: {message}" + (f" ({count} times)" if count > 1 else ""), file=sys.stderr)
    if len(shown) > MAX_PROBLEMS_SHOWN:
        print(f"vilasr-ros ingest: ... and {len(shown) - MAX_PROBLEMS_SHOWN} other problem(s)", file=sys.stderr)
    return 0
