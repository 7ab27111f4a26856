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
import yaml
from lifecycle_msgs.srv import GetState
from nav_msgs.msg import Odometry
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from vilasr_ros.sim import room as scene
from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.query import AnswerType
from vilasr_ros.reasoning.images import smart_resize
from vilasr_ros.ros.client import build_request, call_query

NAMESPACE = "demo"
KEYFRAMES = 1  # the newest keyframe (where the robot stopped): the scripted trace's drawings are for that view
NODE = f"/{NAMESPACE}/vilasr"
CHAIR, TABLE, DOOR = scene.OBJECTS
QUESTIONS = [
    ("How far is the red chair from the blue door?", [], "numeric"),
    ("Is the green table to the left or to the right of the red chair?", ["left", "right"], "multiple_choice"),
    ("Which way should the robot turn to face the red chair?", ["left", "right"], "multiple_choice"),
]


DRIVE = scene.trajectory(16)  # the robot's drive, then it stops at DRIVE[-1]
STOP = DRIVE[-1]


def _model_box(item: scene.SceneObject) -> list[int]:
    """The object's box, seen from where the robot stops, in the resized image the model sees."""
    height, width = smart_resize(scene.HEIGHT, scene.WIDTH, 351232)
    x1, y1, x2, y2 = scene.box_of(item, STOP)
    sx, sy = width / scene.WIDTH, height / scene.HEIGHT
    return [round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy)]


def _boxes(*items: scene.SceneObject) -> str:
    return "```json\n" + json.dumps([{"index": 1, "bbox_2d": _model_box(i), "label": i.label} for i in items]) + "\n```"


def scripted_trace() -> dict:
    """Reasoning traces for this scene, one per question (a replay script, not model output)."""
    chair, door = _model_box(CHAIR), _model_box(DOOR)
    height, width = smart_resize(scene.HEIGHT, scene.WIDTH, 351232)
    heading = [{"index": 2, "start_point_2d": [width // 2, height - 1],
                "end_point_2d": [(chair[0] + chair[2]) // 2, chair[3]], "label": "heading to chair"}]
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
                "<think> Find the chair. </think> Action: Object Mapper\n" + _boxes(CHAIR),
                "<think> From the bottom centre, where the robot is, to the chair. </think> Action: Path Tracer\n"
                "```json\n" + json.dumps(heading) + "\n```",
                "<think> The path bends to the left of straight ahead. </think> Action: Answer\n<answer> A </answer>",
            ],
        }
    }


class World:
    """Publishes the room as a robot driving through it sees it: camera, depth, camera_info, odometry at 10 Hz.

    The robot drives along ``DRIVE`` (0.2 s per pose) and then stands at ``STOP``.
    """

    def __init__(self, node) -> None:
        self.node = node
        self.views = [scene.render(pose) for pose in DRIVE]
        self.arrived = threading.Event()
        prefix = f"/{NAMESPACE}/front"
        self.image_pub = node.create_publisher(Image, f"{prefix}/image_raw", qos_profile_sensor_data)
        self.depth_pub = node.create_publisher(CompressedImage, f"{prefix}/depth/compressedDepth", qos_profile_sensor_data)
        self.info_pub = node.create_publisher(CameraInfo, f"{prefix}/camera_info", qos_profile_sensor_data)
        self.odom_pub = node.create_publisher(Odometry, f"/{NAMESPACE}/odom", qos_profile_sensor_data)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        k = scene.camera_matrix().ravel().tolist()
        encoded = []
        for rgb, depth in self.views:
            ok, png = cv2.imencode(".png", depth)  # compressed_depth_image_transport: 12-byte header + 16-bit PNG
            encoded.append((rgb.tobytes(), struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes()))
        tick = 0
        while not self.stop.wait(0.1):
            index = min(tick // 2, len(DRIVE) - 1)
            if index == len(DRIVE) - 1:
                self.arrived.set()
            pose, (rgb, depth) = DRIVE[index], encoded[index]
            tick += 1
            stamp = self.node.get_clock().now().to_msg()
            odom = Odometry(header=Header(stamp=stamp, frame_id="odom"), child_frame_id="base_link")
            odom.pose.pose.position.x, odom.pose.pose.position.y = pose.x, pose.y
            odom.pose.pose.orientation.z, odom.pose.pose.orientation.w = pose.quaternion[2], pose.quaternion[3]
            self.odom_pub.publish(odom)
            header = Header(stamp=stamp, frame_id="front_optical")
            self.image_pub.publish(Image(header=header, height=scene.HEIGHT, width=scene.WIDTH, encoding="rgb8",
                                         step=scene.WIDTH * 3, data=rgb))
            self.depth_pub.publish(CompressedImage(header=header, format="16UC1; compressedDepth png", data=depth))
            self.info_pub.publish(CameraInfo(header=header, height=scene.HEIGHT, width=scene.WIDTH, k=k,
                                             d=[0.0] * 5, distortion_model="plumb_bob"))


def demo_parameters(out: Path, backend: str, model: str, url: str) -> Path:
    """Write the demo's parameter file (the node's and `vilasr-ros ingest`'s) and return its path."""
    if backend == "replay":
        script = out / "scripted_trace.json"
        script.write_text(json.dumps(scripted_trace(), indent=2))
        backend_parameters = {"kind": "replay", "transcript": str(script.resolve())}
    else:
        backend_parameters = {"kind": backend, "model": model, "url": url}
    parameters = {
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
    }
    path = out / "demo_params.yaml"
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": parameters}}, sort_keys=False))
    return path


def start_node(params_file: Path, out: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("vilasr-ros")), "node", "--namespace", NAMESPACE,
               "--params-file", str(params_file)]
    log = open(out / "node.log", "w")  # noqa: SIM115 - closed when the process ends
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)


def record_drive(path: Path) -> None:
    """Write the drive (camera at 10 Hz, odometry at 20 Hz, then 2 s standing) as an MCAP rosbag2 file."""
    from vilasr_ros.mcap_bag import BagWriter

    bag = BagWriter(path)
    start_ns = 1_700_000_000 * 10**9
    k = scene.camera_matrix().ravel().tolist()
    views = [scene.render(pose) for pose in DRIVE]
    ticks = 2 * len(DRIVE) + 20
    for tick in range(ticks):
        index = min(tick // 2, len(DRIVE) - 1)
        pose, (rgb, depth) = DRIVE[index], views[index]
        stamp = start_ns + tick * 100_000_000
        header = {"stamp": {"sec": stamp // 10**9, "nanosec": stamp % 10**9}, "frame_id": "front_optical"}
        odom_header = {**header, "frame_id": "odom"}
        odom = {"header": odom_header, "child_frame_id": "base_link", "pose": {"pose": {
            "position": {"x": pose.x, "y": pose.y, "z": 0.0},
            "orientation": dict(zip("xyzw", pose.quaternion))}}}
        bag.write(f"/{NAMESPACE}/odom", "nav_msgs/msg/Odometry", odom, stamp)
        bag.write(f"/{NAMESPACE}/front/image_raw", "sensor_msgs/msg/Image", {
            "header": header, "height": scene.HEIGHT, "width": scene.WIDTH, "encoding": "rgb8",
            "is_bigendian": 0, "step": scene.WIDTH * 3, "data": rgb.tobytes()}, stamp + 1_000_000)
        ok, png = cv2.imencode(".png", depth)
        bag.write(f"/{NAMESPACE}/front/depth/compressedDepth", "sensor_msgs/msg/CompressedImage", {
            "header": header, "format": "16UC1; compressedDepth png",
            "data": struct.pack("<iff", 0, 0.0, 0.0) + png.tobytes()}, stamp + 2_000_000)
        bag.write(f"/{NAMESPACE}/front/camera_info", "sensor_msgs/msg/CameraInfo", {
            "header": header, "height": scene.HEIGHT, "width": scene.WIDTH, "distortion_model": "plumb_bob",
            "d": [0.0] * 5, "k": k}, stamp + 3_000_000)
    bag.close()


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


def ground_truth(label: str, estimate) -> tuple[float, float, float] | None:
    """Where the camera at STOP really sees the estimate's pixel (the rendered depth, in odom)."""
    if label not in {item.label for item in scene.OBJECTS}:
        return None
    x1, y1, x2, y2 = estimate.bbox_px
    return scene.surface_point((x1 + x2) / 2, (y1 + y2) / 2, STOP_DEPTH, STOP)


STOP_DEPTH = scene.render(STOP)[1]


def print_result(result, question: str) -> list:
    """Print the answer and the estimates next to the ground truth; return the 3D estimates."""
    print(f"\nQ: {question}")
    if not result.success:
        print(f"   failed ({result.stop_reason}): {result.error}")
        return []
    value = f" = {result.numeric_value:.2f} {result.numeric_unit}" if result.has_numeric_value else ""
    choice = f" (option {result.choice})" if result.choice else ""
    seconds = result.latency.sec + result.latency.nanosec / 1e9
    print(f"A: {result.answer}{choice}{value}   [{result.turns_used} turns, {seconds:.2f} s]")
    print(f"   {'estimate':<18}{'position (odom, m)':<24}{'true surface point':<24}{'error':>8}   bearing from robot")
    placed = []
    for estimate in result.estimates.estimates:
        p = estimate.position
        if not estimate.valid_3d:
            print(f"   {estimate.label:<18}(no 3D: {estimate.note})")
            continue
        placed.append(estimate)
        position = f"({p.x:5.2f}, {p.y:5.2f}, {p.z:5.2f})"
        truth = ground_truth(estimate.label, estimate)
        if truth is not None:
            error = math.dist((p.x, p.y, p.z), truth)
            side = "left" if estimate.bearing > 0 else "right"
            print(f"   {estimate.label:<18}{position:<24}({truth[0]:5.2f}, {truth[1]:5.2f}, {truth[2]:5.2f})  {error:6.2f} m"
                  f"   {math.degrees(estimate.bearing):+5.1f} deg ({side})")
        else:
            end = estimate.end_position
            print(f"   {estimate.label:<18}{position:<24}path to ({end.x:.2f}, {end.y:.2f}, {end.z:.2f}), {estimate.length:.2f} m")
    for distance in result.estimates.distances:
        print(f"   distance {distance.label_a} - {distance.label_b}: {distance.distance:.2f} m (+- {distance.stddev:.2f})")
    return placed


def summary_image(drawings: list[str], estimates: list, path: Path) -> None:
    """One page: the drawings the model made, and a top-down map of the estimates against the ground truth."""
    tiles = [cv2.resize(cv2.imread(p), (420, 310)) for p in drawings[:4]]
    tiles += [np.full((310, 420, 3), 255, np.uint8)] * (4 - len(tiles))
    left = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:4])])
    size, scale = left.shape[0], left.shape[0] / 8.5  # metres -> pixels; odom x from -2 to 6.5 upwards

    def to_px(x: float, y: float) -> tuple[int, int]:
        return int(size / 2 - y * scale), int(size - (x + 2.0) * scale)

    plot = np.full((size, size, 3), 255, np.uint8)
    cv2.line(plot, to_px(scene.WALL_X, 3.5), to_px(scene.WALL_X, -3.5), (60, 60, 60), 3)
    for item in scene.OBJECTS:
        (cx, cy, _), (sx, sy, _) = item.centre, item.size
        colour = tuple(int(c) for c in item.colour[::-1])
        cv2.rectangle(plot, to_px(cx + sx / 2, cy + sy / 2), to_px(cx - sx / 2, cy - sy / 2), colour, 2)
        cv2.putText(plot, item.label, to_px(cx - sx / 2 - 0.25, cy + sy / 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    cv2.polylines(plot, [np.array([to_px(p.x, p.y) for p in DRIVE])], False, (120, 120, 120), 2)
    cv2.circle(plot, to_px(STOP.x, STOP.y), 6, (0, 0, 0), -1)
    for estimate in estimates:
        centre = to_px(estimate.position.x, estimate.position.y)
        if estimate.kind == estimate.KIND_PATH:
            cv2.arrowedLine(plot, centre, to_px(estimate.end_position.x, estimate.end_position.y), (0, 0, 0), 1)
        else:
            cv2.drawMarker(plot, centre, (0, 0, 0), cv2.MARKER_TILTED_CROSS, 14, 2)
    for line, text in enumerate(["top-down, odom frame; grey: robot drive, dot: where it stopped",
                                 "rectangles: ground truth; crosses: estimates; arrow: traced path"]):
        cv2.putText(plot, text, (8, 18 + 16 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1)
    cv2.imwrite(str(path), np.hstack([left, plot]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--backend", default=os.environ.get("BACKEND", "replay"), choices=["replay", "transformers", "openai"])
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
        print("No model weights are used: the node replays a SCRIPTED reasoning trace for this scene "
              "(its drawings and answer texts were written from the scene's geometry).\n"
              "The keyframes, drawings, 3D estimates and all ROS traffic are real. "
              "Run `make demo MODEL=AntResearchNLP/ViLaSR` (or a local path) for the real model.")
    else:
        print(f"Backend {args.backend}: {args.model if args.backend == 'transformers' else args.url}")
    params_file = demo_parameters(out, args.backend, args.model, args.url)
    if args.record:
        record_drive(Path(args.record))
        print(f"recorded the drive to {args.record}; replay it offline with\n"
              f"  vilasr-ros ingest {args.record} --params-file {params_file} --out {out}/keyframes")
    process = start_node(params_file, out)
    rclpy.init()
    node = rclpy.create_node("vilasr_demo_planner")
    world = World(node)
    saved: list[str] = []
    placed: list = []

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
        print("node active; the robot drives into the room ...")
        if not world.arrived.wait(30):
            raise RuntimeError("the simulated drive did not finish")
        time.sleep(1.5)  # > keyframes.max_interval: the view where the robot stopped is a keyframe
        for number, (question, options, answer_type) in enumerate(QUESTIONS):
            if number < 2:
                print(f"\n[service] {question}")
                request = build_request(question, options, AnswerType(answer_type), max_keyframes=KEYFRAMES)
                result = call_query(node, f"{NODE}/query", request, 300)
            else:
                print(f"\n[action] {question}")
                result = ask_with_action(node, question, options)
            placed += print_result(result, question)
        executor = SingleThreadedExecutor(context=node.context)
        executor.add_node(node)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(node)
        summary_image(saved, placed, out / "summary.png")
        print(f"\nwrote {len(saved)} annotated images, summary.png and node.log to {out}/")
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
