"""The ``vilasr-ros`` command line.

    vilasr-ros node [--params-file F] [--namespace NS] [--model M] [--use-sim-time] [--ros-args ...]
    vilasr-ros ask "question" [--option "A. ..."]... [--service /vilasr/query]

ROS imports happen inside the sub-commands that need them, so ``--help``
works, and a missing ROS install gets a clear message.
"""

from __future__ import annotations

import argparse
import sys

from vilasr_ros.query import AnswerType

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
