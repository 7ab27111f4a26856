"""The node's ~/query service, measured from outside: round trip with 16 keyframes, 8 concurrent clients, memory.

    python bench/service_bench.py               # run the service benchmark alone, print JSON
    python bench/service_bench.py client ...    # one concurrent client (started by the benchmark)
    python bench/service_bench.py pipeline      # the same query without ROS, in one process (JSON)
    python bench/service_bench.py transport     # raw 720p RGB-D at 30 Hz from another process: received ratio
    python bench/service_bench.py camera ...    # that camera's publisher process (started by the benchmark)

The node runs as a separate process (``vilasr-ros node``) with the replay
backend, so everything but the model is real: camera messages -> keyframes ->
selection -> the drawing loop on 16 keyframes -> 3D estimates -> published
drawings, estimates and markers -> the response. The benchmark publishes a
panning 1280x720 RGB-D camera until the node's store holds 16 keyframes
(seen in the response's ``keyframe_stamps``), stops the camera, then measures:

- sequential round trips from one persistent client (what a planner keeps),
  with the node's own time (the response's ``latency``) and, in this process,
  the same query pipeline run without ROS on 16 frames of the same camera;
- round trips through :func:`vilasr_ros.ros.client.call_query`, which creates
  a client per call (what ``vilasr-ros ask`` does);
- 8 client processes, each with its own context and node, calling at once in a
  bounded loop (``query.queue_size`` 8: nothing should be refused as busy);
- the node's peak resident memory (VmHWM) after all of it;
- large images between processes (:func:`transport`): a publisher process sends
  raw 1280x720 RGB-D (rgb8 + 16UC1 + camera_info, best effort) at 30 Hz for 10 s
  to a fresh node, once with the shipped Fast DDS profile on both sides
  (config/fastdds_large_data.xml) and once with Fast DDS's defaults; the ratio is
  the node's own count of colour frames received (diagnostics) over frames published.

All traffic stays on the loopback interface (``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST``)
in a random ROS domain; every loop is bounded; every process started here is
stopped, also on errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from scene import HEIGHT, WIDTH, Panorama, camera_matrix  # noqa: E402

QUESTION = "How far is the cabinet from the robot?"
KEYFRAMES = 16
QUEUE_SIZE = 8  # as many as there are concurrent clients: none should be refused busy
TURNS = 2  # one drawing turn and the answer
PAN_PX = 48  # per published frame: every frame differs enough to become a keyframe
CAMERA_HZ = 10.0
FILL_TIMEOUT_S = 90.0
CALL_TIMEOUT_S = 60.0
NODE_START_TIMEOUT_S = 60.0
TRANSPORT_HZ = 30.0
TRANSPORT_S = 10.0
TRANSPORT_SETTINGS = ("shipped", "default")


def isolate_ros_graph() -> int:
    """A random ROS domain on the loopback interface for this process and every process it starts."""
    domain = random.SystemRandom().randint(1, 100)
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.pop("ROS_STATIC_PEERS", None)
    return domain


def transcript() -> list[str]:
    """The replayed assistant turns: a box drawn on the first keyframe, then the answer."""
    from vilasr_ros.sim.transcripts import drawing_transcript

    return drawing_transcript(TURNS, 1, width=784, height=420)


def vm_hwm_mb(pid: int | str = "self") -> float:
    """Peak resident memory (VmHWM) of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def vm_rss_mb(pid: int | str = "self") -> float:
    """Current resident memory (VmRSS) of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def non_loopback_tx_packets() -> int:
    """Packets sent so far on every network interface but loopback (machine-wide counters)."""
    total = 0
    for interface in Path("/sys/class/net").iterdir():
        if interface.name == "lo":
            continue
        try:
            total += int((interface / "statistics" / "tx_packets").read_text())
        except (OSError, ValueError):
            continue
    return total


def _seconds(duration) -> float:
    return duration.sec + duration.nanosec * 1e-9


def _percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values) * 1e3
    return {
        "p50_ms": float(np.percentile(array, 50)),
        "p90_ms": float(np.percentile(array, 90)),
        "p99_ms": float(np.percentile(array, 99)),
        "max_ms": float(array.max()),
        "mean_ms": float(array.mean()),
    }


# --- the node process --------------------------------------------------------------------


def start_node(directory: Path, namespace: str):
    """``vilasr-ros node`` with the replay backend, its log in ``directory/node.log``."""
    from vilasr_ros.ros.harness import NodeProcess, replay_camera_parameters

    script = directory / "transcript.json"
    script.write_text(json.dumps(transcript()))
    parameters = [*replay_camera_parameters(script), f"query.queue_size:={QUEUE_SIZE}"]
    return NodeProcess(namespace, directory / "node.log", parameters=parameters)


# --- the camera ----------------------------------------------------------------------------


class MovingCamera:
    """Publishes a panning 1280x720 RGB-D camera (colour rgb8, depth 16UC1, camera_info) at a fixed rate."""

    def __init__(self, node, namespace: str, max_frames: int) -> None:
        from vilasr_ros.ros.harness import CameraPublisher

        self.panorama = Panorama(min(max_frames, 150), seed=1, pan_px=PAN_PX)  # wraps around: bounded memory
        self.max_frames = max_frames
        self.camera = CameraPublisher(node, f"/{namespace}/front", np.array(camera_matrix()))
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-camera", daemon=True)

    @property
    def published(self) -> int:
        return self.camera.published

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        try:
            period = 1.0 / CAMERA_HZ
            next_time = time.monotonic()
            while self.published < self.max_frames and not self.stop_event.is_set():
                rgb, depth = self.panorama.frame(self.published)
                self.camera.publish(rgb, depth, "front_optical")
                next_time += period
                self.stop_event.wait(max(0.0, next_time - time.monotonic()))
        except BaseException as error:
            self.error = error


# --- calling the service -------------------------------------------------------------------


class PersistentClient:
    """One service client kept for many calls; :meth:`call` returns (response, round trip seconds)."""

    def __init__(self, node, service: str) -> None:
        from rclpy.executors import SingleThreadedExecutor

        from vilasr_ros.srv import SpatialQuery

        self.node = node
        self.client = node.create_client(SpatialQuery, service)
        self.executor = SingleThreadedExecutor(context=node.context)
        self.executor.add_node(node)
        if not self.client.wait_for_service(timeout_sec=CALL_TIMEOUT_S):
            raise RuntimeError(f"service {service} did not appear within {CALL_TIMEOUT_S:.0f} s")

    def call(self, request, timeout: float = CALL_TIMEOUT_S):
        started = time.perf_counter()
        future = self.client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        elapsed = time.perf_counter() - started
        if not future.done():
            future.cancel()
            raise RuntimeError(f"no response within {timeout:.0f} s")
        return future.result(), elapsed

    def spin_for(self, seconds: float) -> None:
        """Process incoming messages (e.g. diagnostics) for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.1)

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.executor.shutdown()
        self.node.destroy_client(self.client)


class CameraDiagnostics:
    """The latest /diagnostics values the node published for its camera (frames received, offered, admitted, ...)."""

    def __init__(self, node, node_name: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        self.latest: dict[str, float] = {}
        prefix = node_name.lstrip("/").replace("/", ".")
        self._subscription = node.create_subscription(DiagnosticArray, "/diagnostics", self._on_message, 10)
        self._prefixes = (node_name, prefix)

    def _on_message(self, message) -> None:
        for status in message.status:
            if status.hardware_id == "front" and any(prefix in status.name for prefix in self._prefixes):
                values = {}
                for item in status.values:
                    try:
                        values[item.key] = float(item.value)
                    except ValueError:
                        continue
                self.latest = values


def request(max_keyframes: int = KEYFRAMES):
    from vilasr_ros.ros.client import build_request

    return build_request(QUESTION, max_keyframes=max_keyframes)


def fill_store(client: PersistentClient, camera: MovingCamera, node) -> tuple[int, float]:
    """Publish until a query gets 16 keyframes; returns (frames published, seconds)."""
    started = time.monotonic()
    camera.start()
    try:
        while time.monotonic() - started < FILL_TIMEOUT_S:
            if camera.error is not None:
                raise RuntimeError(f"the camera publisher failed: {camera.error!r}")
            if not node.alive():
                raise RuntimeError("the node exited while the buffer filled")
            time.sleep(1.0)
            response, _ = client.call(request())
            if len(response.keyframe_stamps) >= KEYFRAMES:
                return camera.published, time.monotonic() - started
            if camera.published >= camera.max_frames:
                break
        raise RuntimeError(
            f"the node held {len(response.keyframe_stamps)} < {KEYFRAMES} keyframes after {camera.published} frames "
            f"in {time.monotonic() - started:.0f} s"
        )
    finally:
        camera.stop()


def sequential(client: PersistentClient, calls: int, budget_s: float) -> dict:
    """Back-to-back calls from one client: round trip and the node's own time per call."""
    round_trips, node_side = [], []
    deadline = time.monotonic() + budget_s
    for _ in range(calls):
        if time.monotonic() > deadline:
            break
        response, elapsed = client.call(request())
        if not response.success or len(response.keyframe_stamps) != KEYFRAMES or response.turns_used != TURNS:
            raise RuntimeError(
                f"unexpected response: success {response.success}, {len(response.keyframe_stamps)} keyframes, "
                f"{response.turns_used} turns, error {response.error!r}"
            )
        round_trips.append(elapsed)
        node_side.append(_seconds(response.latency))
    transport = [trip - inside for trip, inside in zip(round_trips, node_side)]
    return {
        "calls": len(round_trips),
        "round_trip_median_ms": 1e3 * statistics.median(round_trips),
        "round_trip": _percentiles(round_trips),
        "node_latency_median_ms": 1e3 * statistics.median(node_side),
        "transport_median_ms": 1e3 * statistics.median(transport),
        "round_trips_ms": [1e3 * value for value in round_trips],
    }


def fresh_client_calls(node, service: str, calls: int, budget_s: float) -> dict:
    """Round trips through call_query, which creates (and discovers) a client per call."""
    from vilasr_ros.ros.client import call_query

    times = []
    deadline = time.monotonic() + budget_s
    for _ in range(calls):
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        response = call_query(node, service, request(), CALL_TIMEOUT_S)
        times.append(time.perf_counter() - started)
        if not response.success:
            raise RuntimeError(f"call_query failed: {response.error}")
    return {"calls": len(times), "median_ms": 1e3 * statistics.median(times)}


def pipeline_without_ros(repeats: int) -> dict:
    """The node's query pipeline (select 16 of the camera's keyframes, 2-turn replay, 3D estimates), in this process."""
    from vilasr_ros.config import EngineConfig, KeyframeConfig, QueryConfig
    from vilasr_ros.core.camera import CameraIntrinsics, Frame
    from vilasr_ros.keyframes.store import KeyframeStore
    from vilasr_ros.query import Estimation, answer, from_store
    from vilasr_ros.query.request import QueryRequest, resolve_request
    from vilasr_ros.reasoning.engine import ReasoningEngine
    from vilasr_ros.reasoning.replay_backend import ReplayBackend

    panorama = Panorama(KEYFRAMES, seed=1, pan_px=PAN_PX)
    store = KeyframeStore(KeyframeConfig(min_interval=0.05, min_novelty=0.05), cameras=["front"])
    intrinsics = CameraIntrinsics(np.array(camera_matrix()).reshape(3, 3), WIDTH, HEIGHT, (0.0,) * 5)
    for number in range(KEYFRAMES):
        rgb, depth = panorama.frame(number)
        store.offer(Frame("front", (number + 1) * 100_000_000, "front_optical", rgb, depth, intrinsics=intrinsics))
    engine = ReasoningEngine(ReplayBackend(transcript()), EngineConfig())
    query = resolve_request(QueryRequest(QUESTION, max_keyframes=KEYFRAMES), QueryConfig(lookback=0.0))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        outcome = answer(query, from_store(store), engine, Estimation(), deadline=time.monotonic() + CALL_TIMEOUT_S)
        times.append(time.perf_counter() - started)
        if not outcome.success or len(outcome.frames) != KEYFRAMES:
            raise RuntimeError(f"the in-process pipeline failed: {outcome.stop_reason} {outcome.error}")
    return {"calls": len(times), "median_ms": 1e3 * statistics.median(times)}


def pipeline_in_subprocess(repeats: int) -> dict:
    """:func:`pipeline_without_ros` in a fresh process (this one holds other benchmarks' memory and threads)."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "pipeline", "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the in-process pipeline benchmark failed:\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def concurrent_clients(service: str, clients: int, calls: int, budget_s: float) -> dict:
    """``clients`` processes, released together, each calling ``calls`` times back to back."""
    command = [sys.executable, str(Path(__file__).resolve()), "client", "--service", service, "--calls", str(calls)]
    processes: list[subprocess.Popen] = []
    try:
        for index in range(clients):
            processes.append(
                subprocess.Popen(
                    [*command, "--index", str(index)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        deadline = time.monotonic() + 90.0
        for process in processes:  # each prints "ready" once its client sees the service
            line = _read_line(process, deadline)
            if line != "ready":
                raise RuntimeError(
                    f"a client did not get ready: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
                )
        released = time.perf_counter()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            output, errors = process.communicate(timeout=max(5.0, deadline + budget_s - time.monotonic()))
            if process.returncode != 0:
                raise RuntimeError(f"a client failed (exit {process.returncode}): {errors.strip()[-500:]}")
            reports.append(json.loads(output.strip().splitlines()[-1]))
        wall = time.perf_counter() - released
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    latencies = [value for report in reports for value in report["round_trips"]]
    node_side = [value for report in reports for value in report["node_latencies"]]
    answered = sum(report["answered"] for report in reports)
    return {
        "clients": clients,
        "calls_per_client": calls,
        "calls": len(latencies),
        "answered": answered,
        "busy": sum(report["busy"] for report in reports),
        "failed": sum(report["failed"] for report in reports),
        "round_trip": _percentiles(latencies),
        "node_latency_p50_ms": 1e3 * float(np.percentile(node_side, 50)) if node_side else float("nan"),
        "wall_s": wall,
        "queries_per_s": answered / wall,
        "client_peak_rss_mb_max": max(report["peak_rss_mb"] for report in reports),
        "round_trips_ms": [1e3 * value for value in latencies],
    }


def _read_line(process: subprocess.Popen, deadline: float) -> str:
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            return process.stdout.readline().strip()
        if process.poll() is not None:
            return f"(exited with {process.returncode})"
    return "(timed out)"


def run(sequential_calls: int = 30, clients: int = 8, calls_per_client: int = 10) -> dict:
    """Start the node, fill its buffer, measure; always stops the node."""
    import rclpy

    from vilasr_ros.ros.harness import wait_until_active

    domain = isolate_ros_graph()
    namespace = f"bench_{os.getpid()}"
    results: dict = {"ros_domain_id": domain}
    sent_before = non_loopback_tx_packets()
    directory = tempfile.TemporaryDirectory(prefix="vilasr_bench_")
    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = start_node(Path(directory.name), namespace)
    ros_node = rclpy.create_node("vilasr_bench_client", context=context)
    camera_node = rclpy.create_node("vilasr_bench_camera", context=context)
    diagnostics = CameraDiagnostics(ros_node, node.name)
    client = None
    try:
        results["node_start_s"] = wait_until_active(ros_node, node.name, NODE_START_TIMEOUT_S)
        results["idle_node_rss_mb"] = vm_rss_mb(node.pid)
        service = f"{node.name}/query"
        client = PersistentClient(ros_node, service)
        camera = MovingCamera(camera_node, namespace, max_frames=int(FILL_TIMEOUT_S * CAMERA_HZ))
        results["fill_frames_published"], results["fill_s"] = fill_store(client, camera, node)
        client.spin_for(2.5)  # the node publishes diagnostics every second
        results["fill_node_camera_diagnostics"] = dict(diagnostics.latest)
        results["fill_camera_frames_received"] = diagnostics.latest.get("frames received", float("nan"))
        results["fill_node_rss_mb"] = vm_rss_mb(node.pid)
        results["fill_buffer_mb"] = diagnostics.latest.get("memory MB", float("nan")) * 1e6 / 2**20  # MB -> MiB
        results["sequential"] = sequential(client, sequential_calls, budget_s=120.0)
        results["fresh_client"] = fresh_client_calls(ros_node, service, 5, budget_s=60.0)
        results["pipeline_in_process"] = pipeline_in_subprocess(10)
        results["concurrent"] = concurrent_clients(service, clients, calls_per_client, budget_s=180.0)
        if not node.alive():
            raise RuntimeError("the node exited during the benchmark")
        results["node_peak_rss_mb"] = vm_hwm_mb(node.pid)
        results["non_loopback_tx_packets"] = non_loopback_tx_packets() - sent_before
    except BaseException:
        print(f"service benchmark failed; node log tail:\n{node.log_tail()}", file=sys.stderr)
        raise
    finally:
        if client is not None:
            client.close()
        camera_node.destroy_node()
        ros_node.destroy_node()
        rclpy.shutdown(context=context)
        results["node_exit_code"] = node.stop()
        directory.cleanup()
    return results


# --- large images between processes ---------------------------------------------------------


def transport_environment(settings: str) -> dict[str, str]:
    """The environment of the node and the camera process: the shipped profile, or Fast DDS's defaults."""
    from vilasr_ros.ros.transport import USER_CHOICES, use_shipped_transport

    environ = {name: value for name, value in os.environ.items() if name not in USER_CHOICES}
    if settings == "shipped":
        use_shipped_transport(environ)
    else:  # a user choice of Fast DDS's own builtin transports: `vilasr-ros node` leaves it alone
        environ["FASTDDS_BUILTIN_TRANSPORTS"] = "DEFAULT"
    return environ


def transport(settings: str, hz: float = TRANSPORT_HZ, seconds: float = TRANSPORT_S) -> dict:
    """Raw 720p RGB-D at ``hz`` from a publisher process to a fresh node with ``settings`` on both sides."""
    import rclpy

    from vilasr_ros.ros.harness import wait_until_active

    namespace = f"bench_transport_{settings}_{os.getpid()}"
    directory = tempfile.TemporaryDirectory(prefix="vilasr_bench_")
    saved, environment = dict(os.environ), transport_environment(settings)
    os.environ.clear()
    os.environ.update(environment)
    try:
        node = start_node(Path(directory.name), namespace)  # inherits the environment
    finally:
        os.environ.clear()
        os.environ.update(saved)
    context = rclpy.context.Context()
    rclpy.init(context=context)
    ros_node = rclpy.create_node("vilasr_bench_transport", context=context)
    diagnostics = CameraDiagnostics(ros_node, node.name)
    camera = None
    try:
        wait_until_active(ros_node, node.name, NODE_START_TIMEOUT_S)
        command = [sys.executable, __file__, "camera", "--namespace", namespace]
        command += ["--hz", str(hz), "--seconds", str(seconds)]
        camera = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True)
        output, _ = camera.communicate(timeout=seconds + 90.0)
        if camera.returncode != 0:
            raise RuntimeError(f"the camera process failed ({camera.returncode})")
        published = json.loads(output.strip().splitlines()[-1])
        client_spin(ros_node, 2.5)  # the node publishes diagnostics every second
        received = diagnostics.latest.get("frames received", float("nan"))
        without_depth = diagnostics.latest.get("frames without depth", float("nan"))
        depth_received = diagnostics.latest.get("depth images received", float("nan"))
        return {
            **published,
            "frames_received": received,
            "received_ratio": received / published["published"],
            "with_depth_ratio": (received - without_depth) / published["published"],
            "depth_received_ratio": depth_received / published["published"],
            "node_alive": node.alive(),
        }
    except BaseException:
        print(f"transport benchmark ({settings}) failed; node log tail:\n{node.log_tail()}", file=sys.stderr)
        raise
    finally:
        if camera is not None and camera.poll() is None:
            camera.kill()
            camera.wait()
        ros_node.destroy_node()
        rclpy.shutdown(context=context)
        node.stop()
        directory.cleanup()


def client_spin(node, seconds: float) -> None:
    from vilasr_ros.ros.harness import spin_for

    spin_for(node, seconds)


def camera_main(args: argparse.Namespace) -> int:
    """Publish raw 720p RGB-D at ``--hz`` for ``--seconds`` once the node subscribes; print {"published": n, ...}."""
    import rclpy

    from vilasr_ros.ros.harness import CameraPublisher

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("vilasr_bench_camera", context=context)
    try:
        camera = CameraPublisher(node, f"/{args.namespace}/front", np.array(camera_matrix()))
        deadline = time.monotonic() + 60.0
        while camera.image_pub.get_subscription_count() == 0 or camera.depth_pub.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                print("the node never subscribed", file=sys.stderr)
                return 1
            time.sleep(0.05)
        time.sleep(1.0)  # let every endpoint match before the first frame
        panorama = Panorama(30, seed=1, pan_px=PAN_PX)
        frames = [panorama.frame(n) for n in range(30)]  # prepared: publishing is all the loop does
        period = 1.0 / args.hz
        started = next_time = time.monotonic()
        while time.monotonic() - started < args.seconds:
            rgb, depth = frames[camera.published % len(frames)]
            camera.publish(rgb, depth, "front_optical")
            next_time += period
            time.sleep(max(0.0, next_time - time.monotonic()))
        elapsed = time.monotonic() - started
        print(json.dumps({"published": camera.published, "publish_rate_hz": camera.published / elapsed}), flush=True)
        return 0
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


# --- one concurrent client (a separate process) ----------------------------------------------


def client_main(args: argparse.Namespace) -> int:
    """Wait for the service, say "ready", wait for "go" on stdin, call ``--calls`` times, print a JSON report."""
    import rclpy

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node(f"vilasr_bench_client_{args.index}", context=context)
    client = PersistentClient(node, args.service)
    try:
        time.sleep(0.5)  # let the request/response endpoints match before the first call
        print("ready", flush=True)
        ready, _, _ = select.select([sys.stdin], [], [], 120.0)
        if not ready or sys.stdin.readline().strip() != "go":
            print("no go signal", file=sys.stderr)
            return 1
        report = {"round_trips": [], "node_latencies": [], "answered": 0, "busy": 0, "failed": 0, "errors": []}
        deadline = time.monotonic() + args.budget
        for _ in range(args.calls):
            if time.monotonic() > deadline:
                break
            response, elapsed = client.call(request())
            if response.success:
                report["answered"] += 1
                report["round_trips"].append(elapsed)
                report["node_latencies"].append(_seconds(response.latency))
            elif response.error.startswith("busy"):
                report["busy"] += 1
            else:
                report["failed"] += 1
                report["errors"].append(response.error)
        report["peak_rss_mb"] = vm_hwm_mb()
        print(json.dumps(report), flush=True)
        return 0
    finally:
        client.close()
        node.destroy_node()
        rclpy.shutdown(context=context)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help="one concurrent client (internal)")
    client.add_argument("--service", required=True)
    client.add_argument("--calls", type=int, default=10)
    client.add_argument("--index", type=int, default=0)
    client.add_argument("--budget", type=float, default=180.0, help="stop calling after this many seconds")
    pipeline = commands.add_parser("pipeline", help="the query pipeline without ROS, in this process (internal)")
    pipeline.add_argument("--repeats", type=int, default=10)
    commands.add_parser("transport", help="the camera transport alone: received ratios (JSON)")
    camera = commands.add_parser("camera", help="the transport benchmark's camera process (internal)")
    camera.add_argument("--namespace", required=True)
    camera.add_argument("--hz", type=float, default=TRANSPORT_HZ)
    camera.add_argument("--seconds", type=float, default=TRANSPORT_S)
    args = parser.parse_args()
    if args.command == "camera":
        return camera_main(args)
    if args.command == "transport":
        isolate_ros_graph()
        print(json.dumps({settings: transport(settings) for settings in TRANSPORT_SETTINGS}, indent=2))
        return 0
    if args.command == "client":
        return client_main(args)
    if args.command == "pipeline":
        print(json.dumps(pipeline_without_ros(args.repeats)))
        return 0
    results = run()
    for part in ("sequential", "concurrent"):
        results[part].pop("round_trips_ms", None)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
