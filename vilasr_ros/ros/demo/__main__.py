"""`make demo`: a synthetic RGB-D room, the vilasr node, and a planner asking three questions.

    python -m vilasr_ros.ros.demo [--out demo_out] [--model ID_OR_PATH | --backend openai --url URL]

Without model weights (the default here) the node replays a scripted reasoning
trace for this scene: the drawing turns and answer texts are the script's,
written from the scene's geometry, and the demo says so. Everything after the
model is real: keyframes from the camera topics, the drawing tool, the 3D
estimates from depth, intrinsics and odometry, the service, the action with
feedback, and the published images, estimates and markers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import rclpy

from vilasr_ros.config.params_file import write_params_file
from vilasr_ros.ros.demo.planner import Planner
from vilasr_ros.ros.demo.recorder import record_drive
from vilasr_ros.ros.demo.script import QUESTIONS, scripted_trace
from vilasr_ros.ros.demo.summary import print_result, summary_image
from vilasr_ros.ros.demo.world import World
from vilasr_ros.ros.harness import NodeProcess, wait_until_active
from vilasr_ros.sim import room as scene

NAMESPACE = "demo"
KEYFRAMES = 1  # the newest keyframe (where the robot stopped): the scripted trace's drawings are for that view


def demo_parameters(out: Path, backend: str, model: str, url: str) -> Path:
    """Write the demo's parameter file (the node's and `vilasr-ros ingest`'s) and return its path."""
    if backend == "replay":
        script = out / "scripted_trace.json"
        script.write_text(json.dumps(scripted_trace(), indent=2))
        backend_parameters = {"kind": "replay", "transcript": str(script.resolve())}
    else:
        backend_parameters = {"kind": backend, "model": model, "url": url}
    return write_params_file(
        out / "demo_params.yaml",
        {
            "backend": backend_parameters,
            "cameras": {
                "names": ["front"],
                "front": {
                    "image_topic": f"/{NAMESPACE}/front/image_raw",
                    "depth_topic": f"/{NAMESPACE}/front/depth/compressedDepth",
                    "depth_transport": "compressedDepth",
                    "camera_info_topic": f"/{NAMESPACE}/front/camera_info",
                    "extrinsic": scene.EXTRINSIC,
                },
            },
            "pose": {"source": "odometry", "topic": f"/{NAMESPACE}/odom"},
            "frames": {"target_frame": "odom"},
            "keyframes": {"min_translation": 0.3, "max_interval": 1.0, "min_interval": 0.2},
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out")
    parser.add_argument(
        "--backend", default=os.environ.get("BACKEND", "replay"), choices=["replay", "transformers", "openai"]
    )
    parser.add_argument("--model", default=os.environ.get("MODEL", "AntResearchNLP/ViLaSR"))
    parser.add_argument("--url", default=os.environ.get("URL", "http://localhost:8000/v1"))
    parser.add_argument("--record", help="also write the drive as an MCAP rosbag2 file (for `vilasr-ros ingest`)")
    args = parser.parse_args(argv)
    if os.environ.get("MODEL") and "BACKEND" not in os.environ:
        args.backend = "transformers"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    if args.backend == "replay":
        print(
            "No model weights are used: the node replays a SCRIPTED reasoning trace for this scene "
            "(its drawings and answer texts were written from the scene's geometry).\n"
            "The keyframes, drawings, 3D estimates and all ROS traffic are real. "
            "Run `make demo MODEL=AntResearchNLP/ViLaSR` (or a local path) for the real model."
        )
    else:
        print(f"Backend {args.backend}: {args.model if args.backend == 'transformers' else args.url}")
    params_file = demo_parameters(out, args.backend, args.model, args.url)
    if args.record:
        record_drive(Path(args.record), NAMESPACE)
        print(
            f"recorded the drive to {args.record}; replay it offline with\n"
            f"  vilasr-ros ingest {args.record} --params-file {params_file} --out {out}/keyframes"
        )
    process = NodeProcess(NAMESPACE, out / "node.log", params_file=params_file)
    rclpy.init()
    node = rclpy.create_node("vilasr_demo_planner")
    world = World(node, NAMESPACE)
    planner = Planner(node, process.name, out)
    placed: list = []
    status = 1
    try:
        world.thread.start()
        wait_until_active(node, process.name, timeout=600 if args.backend != "replay" else 60)
        print("node active; the robot drives into the room ...")
        if not world.arrived.wait(30):
            raise RuntimeError("the simulated drive did not finish")
        time.sleep(1.5)  # > keyframes.max_interval: the view where the robot stopped is a keyframe
        for number, (question, options, answer_type) in enumerate(QUESTIONS):
            if number < 2:
                print(f"\n[service] {question}")
                result = planner.ask_service(question, options, answer_type, KEYFRAMES)
            else:
                print(f"\n[action] {question}")
                result = planner.ask_action(question, options, KEYFRAMES)
            placed += print_result(result, question)
        planner.collect_images(2.0)
        summary_image(planner.saved, placed, out / "summary.png")
        print(f"\nwrote {len(planner.saved)} annotated images, summary.png and node.log to {out}/")
        status = 0
    except (RuntimeError, TimeoutError) as error:
        print(f"demo failed: {error} (see {out}/node.log)", file=sys.stderr)
    finally:
        world.stop.set()
        process.stop()
        node.destroy_node()
        rclpy.try_shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
