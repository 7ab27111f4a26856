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
import math
import os
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rclpy
from lifecycle_msgs.srv import GetState
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from vilasr_ros import demo_scene as scene
from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.query import AnswerType
from vilasr_ros.reasoning.images import smart_resize
from vilasr_ros.ros.client import build_request, call_query

NAMESPACE = "demo"
KEYFRAMES = 1  # the robot stands still: one view suffices, and the scripted trace's image indices assume it
NODE = f"/{NAMESPACE}/vilasr"
CHAIR, TABLE, DOOR = scene.OBJECTS
QUESTIONS = [
    ("How far is the red chair from the blue door?", [], "numeric"),
    ("Is the green table to the left or to the right of the red chair?", ["left", "right"], "multiple_choice"),
    ("Which object is closest to the robot?", ["red chair", "green table", "blue door"], "multiple_choice"),
]


def _model_box(item: scene.SceneObject) -> list[int]:
    """The object's box in the resized image the model sees (what a model would write)."""
    height, width = smart_resize(scene.HEIGHT, scene.WIDTH, 351232)
    x1, y1, x2, y2 = scene.box_of(item)
    sx, sy = width / scene.WIDTH, height / scene.HEIGHT
    return [round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy)]


def _boxes(*items: scene.SceneObject) -> str:
    return "```json\n" + json.dumps([{"index": 1, "bbox_2d": _model_box(i), "label": i.label} for i in items]) + "\n```"


def scripted_trace() -> dict:
    """Reasoning traces for this scene, one per question (a replay script, not model output)."""
    chair, door = _model_box(CHAIR), _model_box(DOOR)
    line = [{"index": 2, "start_point_2d": [(chair[0] + chair[2]) // 2, (chair[1] + chair[3]) // 2],
             "end_point_2d": [(door[0] + door[2]) // 2, (door[1] + door[3]) // 2], "label": "chair to door"}]
    return {
        "by_question": {
            QUESTIONS[0][0]: [
                "<think> I need the chair and the door. </think> Action: Object Mapper\n" + _boxes(CHAIR, DOOR),
                "<think> The chair is near, the door is at the far wall; trace between them. </think> "
                "Action: Path Tracer\n```json\n" + json.dumps(line) + "\n```",
                f"<think> The line spans the room. </think> Action: Answer\n<answer> "
                f"{scene.distance_between(CHAIR, DOOR):.1f} m </answer>",
            ],
            QUESTIONS[1][0]: [
                "<think> Locate both. </think> Action: Object Mapper\n" + _boxes(CHAIR, TABLE),
                "<think> The table's box is right of the chair's. </think> Action: Answer\n<answer> B </answer>",
            ],
            QUESTIONS[2][0]: [
                "<think> Locate all three. </think> Action: Object Mapper\n" + _boxes(CHAIR, TABLE, DOOR),
                "<think> The chair's box is lowest and largest: nearest. </think> Action: Answer\n<answer> A </answer>",
            ],
        }
    }


class World:
    """Publishes the room as a robot's camera and odometry see it (static robot at the odom origin)."""

    def __init__(self, node) -> None:
        self.node = node
        self.rgb, self.depth = scene.render()
        prefix = f"/{NAMESPACE}/front"
        self.image_pub = node.create_publisher(Image, f"{prefix}/image_raw", qos_profile_sensor_data)
        self.depth_pub = node.create_publisher(CompressedImage, f"{prefix}/depth/compressedDepth", qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, f"{prefix}/camera_info", qos_profile_sensor_data)
        self.odom_pub = node.create_publisher(Odometry, f"/{NAMESPACE}/odom", qos_profile_sensor_data)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        rgb = self.rgb.tobytes()
        ok, png = cv2.imencode(".png", self.depth)  # compressed_depth_image_transport: a 12-byte header + 16-bit PNG
        depth = struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes()
        k = scene.camera_matrix().ravel().tolist()
        while not self.stop.wait(0.1):
            stamp = self.node.get_clock().now().to_msg()
            odom = Odometry(header=Header(stamp=stamp, frame_id="odom"), child_frame_id="base_link")
            odom.pose.pose.orientation.w = 1.0
            self.odom_pub.publish(odom)
            header = Header(stamp=stamp, frame_id="front_optical")
            self.image_pub.publish(Image(header=header, height=scene.HEIGHT, width=scene.WIDTH, encoding="rgb8",
                                         step=scene.WIDTH * 3, data=rgb))
            self.depth_pub.publish(CompressedImage(header=header, format="16UC1; compressedDepth png", data=depth))
            self.info_pub.publish(CameraInfo(header=header, height=scene.HEIGHT, width=scene.WIDTH, k=k,
                                             d=[0.0] * 5, distortion_model="plumb_bob"))


def start_node(out: Path, args: argparse.Namespace) -> subprocess.Popen:
    parameters = [
        "cameras.names:=[front]",
        "cameras.front.image_topic:=front/image_raw",
        "cameras.front.depth_topic:=front/depth/compressedDepth",
        "cameras.front.depth_transport:=compressedDepth",
        "cameras.front.camera_info_topic:=front/camera_info",
        f"cameras.front.extrinsic:={scene.EXTRINSIC}",
        "pose.source:=odometry",
        f"pose.topic:=/{NAMESPACE}/odom",
        "frames.target_frame:=odom",
        "keyframes.max_interval:=0.5",
        "keyframes.min_interval:=0.2",
    ]
    if args.backend == "replay":
        script = out / "scripted_trace.json"
        script.write_text(json.dumps(scripted_trace(), indent=2))
        parameters += ["backend.kind:=replay", f"backend.transcript:={script}"]
    else:
        parameters += [f"backend.kind:={args.backend}", f"backend.model:={args.model}", f"backend.url:={args.url}"]
    command = [str(Path(sys.executable).with_name("vilasr-ros")), "node", "--namespace", NAMESPACE, "--ros-args"]
    for parameter in parameters:
        command += ["-p", parameter]
    log = open(out / "node.log", "w")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)


def wait_active(node, timeout: float) -> None:
    client = node.create_client(GetState, f"{NODE}/get_state")
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if client.wait_for_service(timeout_sec=1.0):
                future = client.call_async(GetState.Request())
                executor.spin_until_future_complete(future, timeout_sec=5)
                if future.done() and future.result().current_state.label == "active":
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the node did not become active within {timeout:.0f} s (see demo_out/node.log)")
    finally:
        executor.remove_node(node)
        node.destroy_client(client)


def ask_with_action(node, question: str, options: list[str]) -> SpatialQueryAction.Result:
    client = ActionClient(node, SpatialQueryAction, f"{NODE}/query")
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        if not client.wait_for_server(timeout_sec=30):
            raise RuntimeError("the query action server is not available")

        def feedback(message) -> None:
            f = message.feedback
            detail = f" {f.last_turn.action}" if f.last_turn.action and f.phase in ("reasoning", "drawing") else ""
            print(f"    feedback: turn {f.turn} {f.phase}{detail}")

        goal = SpatialQueryAction.Goal(question=question, options=options, max_keyframes=KEYFRAMES)
        sent = client.send_goal_async(goal, feedback_callback=feedback)
        executor.spin_until_future_complete(sent, timeout_sec=60)
        result = sent.result().get_result_async()
        executor.spin_until_future_complete(result, timeout_sec=300)
        return result.result().result
    finally:
        executor.remove_node(node)
        client.destroy()


def print_result(result, question: str) -> None:
    print(f"\nQ: {question}")
    if not result.success:
        print(f"   failed ({result.stop_reason}): {result.error}")
        return
    value = f" = {result.numeric_value:.2f} {result.numeric_unit}" if result.has_numeric_value else ""
    choice = f" (option {result.choice})" if result.choice else ""
    print(f"A: {result.answer}{choice}{value}   [{result.turns_used} turns, {result.latency.sec + result.latency.nanosec / 1e9:.2f} s]")
    truth = {item.label: (item.near_face_x, item.centre[1], item.centre[2]) for item in scene.OBJECTS}
    print(f"   {'estimate':<14}{'position (odom, m)':<24}{'ground truth':<24}{'error':>8}")
    for estimate in result.estimates.estimates:
        p = estimate.position
        if not estimate.valid_3d:
            print(f"   {estimate.label:<14}(no 3D: {estimate.note})")
            continue
        position = f"({p.x:5.2f}, {p.y:5.2f}, {p.z:5.2f})"
        if estimate.label in truth:
            t = truth[estimate.label]
            error = math.dist((p.x, p.y, p.z), t)
            print(f"   {estimate.label:<14}{position:<24}({t[0]:5.2f}, {t[1]:5.2f}, {t[2]:5.2f})  {error:6.2f} m")
        else:
            end = estimate.end_position
            print(f"   {estimate.label:<14}{position:<24}path to ({end.x:.2f}, {end.y:.2f}, {end.z:.2f}), {estimate.length:.2f} m")
    for distance in result.estimates.distances:
        print(f"   distance {distance.label_a} - {distance.label_b}: {distance.distance:.2f} m (+- {distance.stddev:.2f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--backend", default=os.environ.get("BACKEND", "replay"), choices=["replay", "transformers", "openai"])
    parser.add_argument("--model", default=os.environ.get("MODEL", "AntResearchNLP/ViLaSR"))
    parser.add_argument("--url", default=os.environ.get("URL", "http://localhost:8000/v1"))
    args = parser.parse_args(argv)
    if os.environ.get("MODEL") and "BACKEND" not in os.environ:
        args.backend = "transformers"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    if args.backend == "replay":
        print("No model weights are used: the node replays a SCRIPTED reasoning trace for this scene "
              "(its drawings and answer texts were written from the scene's geometry).\n"
              "The keyframes, drawings, 3D estimates and all ROS traffic are real. "
              "Run `make demo MODEL=AntResearchNLP/ViLaSR` (or a local path) for the real model.")
    else:
        print(f"Backend {args.backend}: {args.model if args.backend == 'transformers' else args.url}")
    process = start_node(out, args)
    rclpy.init()
    node = rclpy.create_node("vilasr_demo_planner")
    world = World(node)
    saved: list[str] = []

    def save_image(message: Image) -> None:
        pixels = np.frombuffer(message.data, np.uint8).reshape(message.height, message.width, 3)
        path = out / f"annotated_{len(saved) + 1:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        saved.append(str(path))

    node.create_subscription(Image, f"{NODE}/annotated_image", save_image, 20)
    status = 1
    try:
        world.thread.start()
        wait_active(node, timeout=600 if args.backend != "replay" else 60)
        print("node active; letting the keyframe buffer fill for 2 s ...")
        time.sleep(2.0)
        for number, (question, options, answer_type) in enumerate(QUESTIONS):
            if number < 2:
                print(f"\n[service] {question}")
                request = build_request(question, options, AnswerType(answer_type), max_keyframes=KEYFRAMES)
                result = call_query(node, f"{NODE}/query", request, 300)
            else:
                print(f"\n[action] {question}")
                result = ask_with_action(node, question, options)
            print_result(result, question)
        executor = SingleThreadedExecutor(context=node.context)
        executor.add_node(node)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(node)
        print(f"\nwrote {len(saved)} annotated images and node.log to {out}/")
        status = 0
    except (RuntimeError, TimeoutError) as error:
        print(f"demo failed: {error}", file=sys.stderr)
    finally:
        world.stop.set()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        node.destroy_node()
        rclpy.try_shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
