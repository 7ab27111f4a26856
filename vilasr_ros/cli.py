"""The ``vilasr-ros`` command line.

    vilasr-ros node [--params-file F] [--namespace NS] [--model M] [--use-sim-time] [--ros-args ...]
    vilasr-ros ask "question" [--option "A. ..."]... [--service /vilasr/query]
    vilasr-ros reason --image A.png [--image B.png]... --question "..." --out DIR [--backend ...]
    vilasr-ros ingest SOURCE [--params-file F] --out DIR [--camera NAME] [--max-keyframes N]

ROS imports happen inside the sub-commands that need them, so ``--help``
works, and a missing ROS install gets a clear message.
"""

from __future__ import annotations

import argparse
import sys

from vilasr_ros.config import BACKEND_KINDS, BackendConfig, ConfigError, EngineConfig, QueryConfig
from vilasr_ros.query import AnswerType, QueryError, QueryRequest, resolve_request

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
        "--depth", action="append", default=[],
        help="depth of the matching --image: 16-bit PNG (millimetres) or .npy (float32 metres); 'none' to skip one",
    )
    reason.add_argument(
        "--camera-info", action="append", default=[],
        help="ROS camera_calibration YAML of the matching --image (one for all images when given once)",
    )
    reason.add_argument(
        "--pose", action="append", default=[],
        help="'x y z qx qy qz qw': the matching image's camera optical frame in --target-frame; 'none' to skip one",
    )
    reason.add_argument("--target-frame", default="map", help="frame of the 3D estimates (default: map)")
    reason.add_argument("--depth-scale", type=float, default=0.001, help="metres per unit of 16-bit depth")
    reason.add_argument("--out", required=True, help="directory for result.json and the drawn images")

    from vilasr_ros.ingest import add_ingest_arguments

    ingest = commands.add_parser(
        "ingest", help="read a recorded run (MCAP rosbag2) or a folder of RGB(-D) frames into a keyframe folder (no ROS)"
    )
    add_ingest_arguments(ingest)
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
        from vilasr_ros.ingest import run_ingest

        return run_ingest(args)
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
    """`vilasr-ros reason`: one query on image files; writes result.json and the drawings."""
    from vilasr_ros.geometry import estimate_drawings
    from vilasr_ros.keyframes.folder import read_keyframes
    from vilasr_ros.keyframes.frames import KeyframeError
    from vilasr_ros.reasoning.backend import BackendError
    from vilasr_ros.reasoning.engine import ReasoningEngine, ReasoningError
    from vilasr_ros.reasoning.factory import create_backend
    from vilasr_ros.reasoning.images import ImageError, load_rgb
    from vilasr_ros.reasoning.replay_backend import load_transcript
    from vilasr_ros.reasoning.report import write_result

    def fail(message: str) -> int:
        print(f"vilasr-ros reason: {message}", file=sys.stderr)
        return 2

    if args.keyframes:
        try:
            frames = read_keyframes(args.keyframes)
        except KeyframeError as error:
            return fail(str(error))
        images = [frame.rgb for frame in frames]
    else:
        try:  # as the reference reads images: Pillow, transparency composited on white
            images = [load_rgb(path) for path in args.image]
        except ImageError as error:
            return fail(str(error))
        try:
            frames = _camera_frames(args, images)
        except (KeyframeError, ValueError) as error:
            return fail(str(error))
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
        replay = args.backend == "replay"
        if replay and not args.transcript:
            return fail("--backend replay needs --transcript")
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
        engine = ReasoningEngine(backend, engine_config, video=args.video)
        result = engine.run(images, query.question, query.answer_type, query.options, forced_turns=forced)
    except ReasoningError as error:
        return fail(str(error))
    finally:
        backend.close()
    estimates = estimate_drawings(result.images, frames, args.target_frame)
    path = write_result(result, query.question, args.out, estimates)
    print(f"{result.stop_reason}: {result.answer if result.answer is not None else result.error}")
    print(f"wrote {path} and {sum(image.base_index is not None for image in result.images)} drawn image(s)")
    return 0 if result.stop_reason == "answered" else 1


def _camera_frames(args: argparse.Namespace, images: list) -> list:
    """The --image files with their --depth, --camera-info and --pose, as keyframe Frames."""
    from vilasr_ros.keyframes.files import load_camera_info, load_depth, parse_pose
    from vilasr_ros.keyframes.frames import Frame

    count = len(images)

    def per_image(values: list[str], option: str, shared: bool = False) -> list[str | None]:
        if not values:
            return [None] * count
        if shared and len(values) == 1:
            return values * count
        if len(values) != count:
            raise ValueError(f"give {option} once per --image ({count}), got {len(values)}")
        return [None if value.lower() == "none" else value for value in values]

    depths = per_image(args.depth, "--depth")
    infos = per_image(args.camera_info, "--camera-info", shared=True)
    poses = per_image(args.pose, "--pose")
    loaded_infos = {path: load_camera_info(path) for path in set(infos) if path}
    return [
        Frame(
            camera="camera",
            stamp_ns=number,
            frame_id="camera_optical_frame",
            rgb=rgb,
            depth=load_depth(depths[number]) if depths[number] else None,
            depth_scale=args.depth_scale,
            intrinsics=loaded_infos.get(infos[number]) if infos[number] else None,
            pose=parse_pose(poses[number], args.target_frame) if poses[number] else None,
        )
        for number, rgb in enumerate(images)
    ]
