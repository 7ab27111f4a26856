"""`make bench`: measure the real code paths and write bench/results.json, results.md and results.png.

    python bench/run.py [--out bench/results.json] [--repeats N]

Top-level numeric keys (tools read them); every figure is measured here, now:
keyframe ingestion of 1280x720 RGB-D frames (bench/ingest_bench.py, in
subprocesses, also pinned to one core), the drawing loop's own overhead
(replay backend), incremental vs re-prefill work and time (tiny Qwen2.5-VL,
teacher-forced 10-turn transcript), the dynamic vs static-cache decode loops
(tiny Qwen2.5-VL, the same transcript with 32 tokens decoded per turn), and the node's ~/query service as a
separate process (bench/service_bench.py: round trip with 16 keyframes, 8
concurrent clients, peak memory). Non-numeric context sits under
``machine`` (hardware, versions, commit) and ``details`` (raw samples and
per-part breakdowns).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

from vilasr_ros.config import EngineConfig
from vilasr_ros.core.stop import StopReason
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.replay_backend import ReplayBackend
from vilasr_ros.sim.transcripts import drawing_transcript

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
import descriptions  # noqa: E402
import gpu  # noqa: E402
import plot  # noqa: E402
import service_bench  # noqa: E402

TURNS = 10
QUESTION = "Which object is closer to the door?"
OPTIONS = ("A. the chair", "B. the table")


def camera_frames(count: int, height: int = 720, width: int = 1280, seed: int = 0) -> list[np.ndarray]:
    """Textured 720p RGB frames (random noise compresses and resizes like real texture)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(count)]


def loop_overhead(repeats: int) -> dict[str, float]:
    """Everything but the model: resize, prompt, parse, merge, draw, per turn (replay backend)."""
    frames = camera_frames(4)
    transcript = drawing_transcript(TURNS, len(frames))
    engine = ReasoningEngine(ReplayBackend(transcript), EngineConfig(max_turns=TURNS))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = engine.run(frames, QUESTION)
        times.append(time.perf_counter() - started)
        assert result.stop_reason == StopReason.ANSWERED and len(result.turns) == TURNS, result.error
    return {
        "loop_overhead_ms_per_turn": 1e3 * statistics.median(times) / TURNS,
        "loop_overhead_ms_per_query_4x720p": 1e3 * statistics.median(times),
        # The first query also resizes the keyframes (later ones find them in the engine's resize cache).
        "loop_overhead_ms_per_query_4x720p_cold": 1e3 * times[0],
    }


def incremental_vs_reprefill(repeats: int) -> dict[str, float]:
    """Teacher-forced 10-turn transcript on the tiny model: work and wall time, ours vs re-prefill."""
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend
    from vilasr_ros.sim.tiny_model import build_tiny_qwen

    frames = camera_frames(2, 336, 448)  # small frames keep the tiny model's vision cost realistic in ratio
    transcript = drawing_transcript(TURNS, len(frames), width=448, height=336)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        model_dir = build_tiny_qwen(Path(directory) / "tiny")
        for label, incremental in (("incremental", True), ("reprefill", False)):
            backend = TransformersBackend(str(model_dir), device="cpu", incremental=incremental)
            engine = ReasoningEngine(backend, EngineConfig(max_turns=TURNS))
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                result = engine.run(frames, QUESTION, forced_turns=transcript)
                times.append(time.perf_counter() - started)
                assert result.stop_reason == StopReason.ANSWERED, result.error
            backend.close()
            work = result.work
            figures[f"{label}_s_per_query"] = statistics.median(times)
            figures[f"{label}_prefill_tokens"] = work["prefill_tokens"]
            figures[f"{label}_vision_patches"] = work["vision_patches"]
            if incremental:
                figures["prefill_work_ratio"] = work["prefill_tokens"] / work["min_prefill_tokens"]
                figures["vision_encode_ratio"] = work["vision_patches"] / work["min_vision_patches"]
                figures["min_prefill_tokens"] = work["min_prefill_tokens"]
            else:
                figures["reprefill_prefill_work_ratio"] = work["prefill_tokens"] / work["min_prefill_tokens"]
                figures["reprefill_vision_encode_ratio"] = work["vision_patches"] / work["min_vision_patches"]
    figures["incremental_speedup_vs_reprefill"] = figures["reprefill_s_per_query"] / figures["incremental_s_per_query"]
    return figures


DECODE_TOKENS = 32


def decode_paths(repeats: int) -> dict[str, float]:
    """Today's dynamic decode loop vs the static-cache one (CPU: no CUDA graph), tiny model, 10 turns.

    Each turn decodes DECODE_TOKENS tokens greedily in place of the recorded one (bench/gpu.py's TimedBackend),
    then the engine goes on with the recorded tool call; the same query, repeated, per path.
    """
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend
    from vilasr_ros.sim.tiny_model import build_tiny_qwen

    frames = camera_frames(2, 336, 448)
    transcript = drawing_transcript(TURNS, len(frames), width=448, height=336)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        model_dir = build_tiny_qwen(Path(directory) / "tiny")
        for path in ("dynamic", "static"):
            backend = TransformersBackend(str(model_dir), device="cpu", decode=path)
            timed = gpu.TimedBackend(backend, DECODE_TOKENS)
            engine = ReasoningEngine(timed, EngineConfig(max_turns=TURNS))  # type: ignore[arg-type]
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                result = engine.run(frames, QUESTION, forced_turns=transcript)
                times.append(time.perf_counter() - started)
                assert result.stop_reason == StopReason.ANSWERED, result.error
            backend.close()
            record = timed.records[-1]
            figures[f"decode_{path}_s_per_query"] = statistics.median(times)
            figures[f"decode_{path}_tokens_per_s"] = sum(record["decode_tokens"]) / sum(record["decode_s"])
    figures["decode_static_speedup_vs_dynamic"] = (
        figures["decode_dynamic_s_per_query"] / figures["decode_static_s_per_query"]
    )
    return figures


def object_boxes(repeats: int) -> dict[str, float]:
    """3D boxes of a 16-keyframe query: three objects drawn on every keyframe of a camera circling them
    (640x480 depth with 1 % range noise and 5 % holes), through estimate_drawings; ms per object."""
    from vilasr_ros.core.camera import CameraIntrinsics, Frame
    from vilasr_ros.core.conversation import Box, ConversationImage, ResizeMapping
    from vilasr_ros.core.poses import Pose
    from vilasr_ros.geometry import estimate_drawings, pipeline
    from vilasr_ros.sim.box_scene import Camera, Cuboid, Room, drawn_box

    room = Room(
        (
            Cuboid.on_floor("chair", (0.4, 0.5, 0.0), (0.5, 0.5, 0.9), 20.0),
            Cuboid.on_floor("table", (-0.6, -0.4, 0.0), (1.2, 0.8, 0.75), -10.0),
            Cuboid.on_floor("shelf", (0.9, -0.8, 0.0), (0.9, 0.4, 1.6), 45.0),
        )
    )
    frames, images = [], []
    for index in range(KEYFRAMES_PER_QUERY):
        angle = 2 * math.pi * index / KEYFRAMES_PER_QUERY
        camera = Camera.looking_at((3.0 * math.cos(angle), 3.0 * math.sin(angle), 1.2), (0.0, 0.0, 0.5))
        depth = room.noisy_depth(camera, range_noise=0.01, hole_fraction=0.05, seed=index).astype(np.float32)
        frames.append(
            Frame(
                "front",
                index,
                "front_optical",
                np.zeros((camera.height, camera.width, 3), np.uint8),
                depth,
                intrinsics=CameraIntrinsics(camera.k, camera.width, camera.height),
                pose=Pose.from_matrix(_matrix(camera.rotation, camera.position), "map"),
            )
        )
        mapping = ResizeMapping(camera.width, camera.height, camera.width, camera.height)
        boxes = [Box(c.label, drawn_box(camera, c)) for c in room.cuboids]
        images.append(
            ConversationImage(KEYFRAMES_PER_QUERY + index + 1, index + 1, index + 1, frames[-1].rgb, mapping, boxes)
        )
    box_stage: list[float] = []  # the real pipeline's box stage, timed in place
    stage = pipeline.object_boxes

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return stage(*args, **kwargs)
        finally:
            box_stage.append(time.perf_counter() - started)

    times = []
    pipeline.object_boxes = timed
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            result = estimate_drawings(images, frames, "map")
            times.append(time.perf_counter() - started)
    finally:
        pipeline.object_boxes = stage
    boxed = sum(e.has_box for e in result.estimates)
    assert boxed == len(room.cuboids), [e.note for e in result.estimates]
    return {
        "object_boxes_ms_per_object_16_keyframes": 1e3 * statistics.median(box_stage) / boxed,
        "estimate_drawings_ms_16_keyframes_3_objects": 1e3 * statistics.median(times),
    }


KEYFRAMES_PER_QUERY = 16


def _matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3], matrix[:3, 3] = rotation, translation
    return matrix


def ingest(frames: int) -> tuple[dict[str, float], dict]:
    """bench/ingest_bench.py in subprocesses: default threads, then one core with one thread everywhere."""
    runs = {}
    for label, extra in (("default_threads", []), ("one_core", ["--one-core"])):
        environment = dict(os.environ)
        if extra:
            environment.update(
                {variable: "1" for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
            )
        completed = subprocess.run(
            [sys.executable, str(BENCH_DIR / "ingest_bench.py"), "--frames", str(frames), *extra],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"ingest_bench.py {' '.join(extra)} failed:\n{completed.stderr[-2000:]}")
        runs[label] = json.loads(completed.stdout.strip().splitlines()[-1])
    both, one = runs["default_threads"], runs["one_core"]
    cameras_hz = 4 * 30  # four 30 Hz cameras
    per_frame_ms = one["default"]["mean_ms"] + one["deserialization"]["mean_ms"]  # every message is deserialized
    figures = {
        "ingest_ms_per_720p_frame": both["scored"]["median_ms"],
        "ingest_offer_ms_per_720p_frame": both["scored"]["offer_median_ms"],
        "ingest_conversion_ms_per_720p_frame": both["scored"]["conversion_median_ms"],
        "ingest_ms_per_720p_frame_default_config": both["default"]["median_ms"],
        "ingest_ms_per_720p_frame_one_core": one["scored"]["median_ms"],
        "ingest_fps_one_core": one["scored"]["fps"],
        "ingest_fps_one_core_default_config": one["default"]["fps"],
        "ingest_deserialize_ms_per_720p_frame": one["deserialization"]["median_ms"],
        "ingest_core_share_4_cameras_30hz": cameras_hz * per_frame_ms / 1e3,
    }
    return figures, runs


def service(calls: int, clients: int, calls_per_client: int) -> tuple[dict[str, float], dict]:
    """The node as a separate process (replay backend, 16 keyframes): round trips, 8 clients, memory."""
    measured = service_bench.run(sequential_calls=calls, clients=clients, calls_per_client=calls_per_client)
    sequential, concurrent = measured["sequential"], measured["concurrent"]
    figures = {
        "service_overhead_ms": sequential["round_trip_median_ms"],
        "service_node_latency_ms": sequential["node_latency_median_ms"],
        "service_transport_ms": sequential["transport_median_ms"],
        "service_pipeline_ms": measured["pipeline_in_process"]["median_ms"],
        "service_call_query_ms": measured["fresh_client"]["median_ms"],
        "latency_p50_ms_8_clients": concurrent["round_trip"]["p50_ms"],
        "latency_p90_ms_8_clients": concurrent["round_trip"]["p90_ms"],
        "latency_p99_ms_8_clients": concurrent["round_trip"]["p99_ms"],
        "latency_max_ms_8_clients": concurrent["round_trip"]["max_ms"],
        "node_latency_p50_ms_8_clients": concurrent["node_latency_p50_ms"],
        "queries_per_s_8_clients": concurrent["queries_per_s"],
        "calls_8_clients": concurrent["calls"],
        "busy_8_clients": concurrent["busy"],
        "failed_8_clients": concurrent["failed"],
        "peak_rss_mb": measured["node_peak_rss_mb"],
        "peak_rss_mb_client": concurrent["client_peak_rss_mb_max"],
        "service_non_loopback_tx_packets": measured["non_loopback_tx_packets"],
    }
    buffer_mb = measured["fill_buffer_mb"]
    if buffer_mb == buffer_mb and buffer_mb > 0:  # not NaN: the node's diagnostics arrived
        figures["node_rss_mb_per_buffer_mb"] = (measured["fill_node_rss_mb"] - measured["idle_node_rss_mb"]) / buffer_mb
    received = measured["fill_camera_frames_received"]
    if received == received:  # not NaN: the node's diagnostics arrived
        figures["fill_camera_frames_received_ratio"] = received / measured["fill_frames_published"]
    for settings in service_bench.TRANSPORT_SETTINGS:  # raw 720p RGB-D at 30 Hz from a camera process
        transport = measured[f"transport_{settings}"] = service_bench.transport(settings)
        suffix = "" if settings == "shipped" else f"_{settings}"
        figures[f"camera_frames_received_ratio{suffix}"] = transport["received_ratio"]
        figures[f"camera_frames_with_depth_ratio{suffix}"] = transport["with_depth_ratio"]
        figures[f"camera_depth_received_ratio{suffix}"] = transport["depth_received_ratio"]
    return figures, measured


def commit() -> str:
    """The checked-out commit, read from .git (no git command is run)."""
    git = REPO / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = Path(git.read_text().split(":", 1)[1].strip())
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head[:12]
        ref = head.split(":", 1)[1].strip()
        if (git / ref).is_file():
            return (git / ref).read_text().strip()[:12]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except (OSError, IndexError):
        pass
    return "unknown"


def _load_average() -> str:
    """1, 5 and 15 minute load averages: other work on the machine skews every timing."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


LOAD_AT_START = _load_average()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    import cv2
    import torch

    cpu = "unknown"
    memory = "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    try:
        from rclpy.utilities import get_rmw_implementation_identifier

        rmw = get_rmw_implementation_identifier()
    except Exception:
        rmw = "unknown"
    return {
        "commit": commit(),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": cpu,
        "cpu_count": str(os.cpu_count()),
        "memory": memory,
        "gpu": "none" if not torch.cuda.is_available() else torch.cuda.get_device_name(0),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": str(torch.get_num_threads()),
        "transformers": _version("transformers"),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "rclpy": _version("rclpy"),
        "ros_distro": os.environ.get("ROS_DISTRO", "kilted (PyPI wheels)"),
        "rmw": rmw,
        "load_average_at_start": LOAD_AT_START,
        "load_average_at_end": _load_average(),
    }


def _load_warning(machine: dict) -> list[str]:
    """A note when other work ran on the machine during the benchmark (timings are then noisy)."""
    try:
        busiest = max(float(machine[key].split()[0]) for key in ("load_average_at_start", "load_average_at_end"))
    except (KeyError, ValueError, IndexError):
        return []
    cores = int(machine.get("cpu_count", "1") or 1)
    # the benchmark itself keeps about one core busy; more than that is other work
    if busiest <= cores:
        return []
    return [
        f"> Load average reached {busiest:.1f} on {cores} cores: other work shared the CPU during this run, "
        "so timings (especially the tiny model's and the 8-client tail) are noisier than on an idle machine.",
        "",
    ]


def write_markdown(results: dict, path: Path) -> None:
    lines = [
        "# `make bench` results",
        "",
        f"Commit `{results['machine']['commit']}` (HEAD; uncommitted changes are not identified), "
        f"{results['machine']['date_utc']} UTC, {results['bench_wall_s']:.0f} s wall time. Every figure was "
        "measured by `bench/run.py` on the machine below; `details` in results.json holds the raw samples.",
        "",
        *_load_warning(results["machine"]),
        "| metric | value | meaning |",
        "|---|---|---|",
    ]
    for key, value in results.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = f"{value:d}" if isinstance(value, int) else f"{value:.4g}"
            lines.append(f"| `{key}` | {shown} | {descriptions.describe(key)} |")
    lines += ["", "Machine:", ""]
    lines += [f"- {key}: {value}" for key, value in results["machine"].items()]
    lines += ["", "![bench/results.png](results.png)", ""]
    path.write_text("\n".join(lines))


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every finally: processes are stopped


def peak_rss_mb_self() -> float:
    return service_bench.vm_hwm_mb()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(BENCH_DIR / "results.json"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ingest-frames", type=int, default=300, help="frames per ingestion configuration")
    parser.add_argument("--service-calls", type=int, default=30, help="sequential service calls")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls-per-client", type=int, default=10)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()

    results: dict = {}
    details: dict = {}
    figures, details["ingest"] = ingest(args.ingest_frames)
    results.update(figures)
    results.update(loop_overhead(args.repeats))
    results.update(object_boxes(args.repeats))
    results.update(incremental_vs_reprefill(max(1, args.repeats)))
    results.update(decode_paths(min(3, max(1, args.repeats))))  # two paths x 10 turns x 32 tokens: slow on CPU
    figures, details["service"] = service(args.service_calls, args.clients, args.calls_per_client)
    results.update(figures)
    results["peak_rss_mb_bench"] = peak_rss_mb_self()
    results["bench_wall_s"] = time.monotonic() - started
    results["machine"] = machine()
    results["details"] = details
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2) + "\n")
    write_markdown(results, out.with_suffix(".md"))
    plot.draw(results, out.with_suffix(".png"))
    printed = {key: value for key, value in results.items() if key != "details"}
    print(json.dumps(printed, indent=2))
    print(f"wrote {out}, {out.with_suffix('.md')}, {out.with_suffix('.png')} in {results['bench_wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
