"""Conversions between vilasr_ros messages and the plain-Python core types."""

from __future__ import annotations

import array
import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Pose, Vector3
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.conversation import ResizeMapping
from vilasr_ros.core.poses import quaternion_from_yaw
from vilasr_ros.core.stop import StopReason
from vilasr_ros.geometry import OBJECT, SpatialEstimate
from vilasr_ros.keyframes.store import StoreStats
from vilasr_ros.msg import ObjectDistance, ReasoningTurn, SpatialEstimateArray
from vilasr_ros.msg import SpatialEstimate as SpatialEstimateMsg
from vilasr_ros.query import QueryOutcome
from vilasr_ros.query.request import QueryRequest, answer_type_from_code
from vilasr_ros.reasoning.engine import TurnRecord


def duration_to_seconds(duration: Duration) -> float:
    """A builtin_interfaces/Duration in seconds."""
    return duration.sec + duration.nanosec * 1e-9


def seconds_to_duration(seconds: float) -> Duration:
    """Seconds (>= 0) as a builtin_interfaces/Duration."""
    nanoseconds = max(0, round(seconds * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def ns_to_stamp(nanoseconds: int) -> Time:
    """Integer nanoseconds as a builtin_interfaces/Time."""
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def request_from_msg(msg) -> QueryRequest:
    """A SpatialQuery service request or action goal as a :class:`QueryRequest`.

    Raises :class:`vilasr_ros.query.request.QueryError` for an unknown answer type.
    """
    return QueryRequest(
        question=msg.question,
        options=tuple(msg.options),
        answer_type=answer_type_from_code(msg.answer_type),
        cameras=tuple(msg.cameras),
        max_keyframes=msg.max_keyframes,
        lookback=duration_to_seconds(msg.lookback),
        timeout=duration_to_seconds(msg.timeout),
    )


def rejected_result(result, query_id: str, error: str, started: float, stop_reason: StopReason = StopReason.REJECTED):
    """Fill a service response / action result for a query that did not run (or did not finish)."""
    result.success = False
    result.query_id = query_id
    result.error = error
    result.stop_reason = str(stop_reason)
    result.has_numeric_value = False
    result.numeric_value = math.nan
    result.estimates.query_id = query_id
    result.latency = seconds_to_duration(time.monotonic() - started)
    return result


def fill_result(result, outcome: QueryOutcome, target_frame: str, stamp: Time):
    """Fill a service response / action result from a query's outcome."""
    result.query_id = outcome.query.query_id
    result.success = outcome.success
    result.error = outcome.error
    result.stop_reason = str(outcome.stop_reason)
    result.keyframe_stamps = [ns_to_stamp(frame.stamp_ns) for frame in outcome.frames]
    result.keyframe_cameras = [frame.camera for frame in outcome.frames]
    result.has_numeric_value = False
    result.numeric_value = math.nan
    reasoning = outcome.result
    if reasoning is not None:
        result.answer = reasoning.answer or ""
        result.choice = reasoning.choice or ""
        if reasoning.quantity is not None:
            result.has_numeric_value = True
            result.numeric_value = float(reasoning.quantity.si_value)
            result.numeric_unit = reasoning.quantity.si_unit
        result.trace = [turn_msg(turn) for turn in reasoning.turns]
        result.turns_used = len(reasoning.turns)
    result.estimates = estimates_msg(outcome, target_frame, stamp)
    return result


def turn_msg(turn: TurnRecord) -> ReasoningTurn:
    """One reasoning turn as a ReasoningTurn message (tool items as JSON, after clamping)."""
    items = []
    for image in turn.new_images:
        base = image.base_index
        items += [{"index": base, "bbox_2d": list(box.bbox_2d), "label": box.label} for box in image.boxes]
        items += [
            {
                "index": base,
                "start_point_2d": list(line.start_point_2d),
                "end_point_2d": list(line.end_point_2d),
                "label": line.label,
            }
            for line in image.lines
        ]
    return ReasoningTurn(
        turn=turn.number,
        action=turn.action or "",
        text=turn.text,
        tool_call=json.dumps(items) if items else "",
        new_image_indices=[image.index for image in turn.new_images],
        tool_response=turn.user_text or "",
    )


def estimate_msg(estimate: SpatialEstimate) -> SpatialEstimateMsg:
    """A geometry estimate as a SpatialEstimate message (a field copy)."""
    return SpatialEstimateMsg(
        label=estimate.label,
        kind=SpatialEstimateMsg.KIND_OBJECT if estimate.kind == OBJECT else SpatialEstimateMsg.KIND_PATH,
        camera=estimate.camera,
        camera_frame_id=estimate.camera_frame_id,
        keyframe_stamp=ns_to_stamp(estimate.keyframe_stamp_ns),
        image_index=estimate.image_index,
        source_index=estimate.source_index,
        bbox_px=[float(v) for v in estimate.bbox_px],
        segment_px=[float(v) for v in estimate.segment_px],
        has_depth=estimate.has_depth,
        has_pose=estimate.has_pose,
        valid_3d=estimate.valid_3d,
        frame_id=estimate.frame_id,
        position=Point(x=estimate.position[0], y=estimate.position[1], z=estimate.position[2]),
        end_position=Point(x=estimate.end_position[0], y=estimate.end_position[1], z=estimate.end_position[2]),
        size=Vector3(x=estimate.size[0], y=estimate.size[1], z=estimate.size[2]),
        length=float(estimate.length),
        range_frame_id=estimate.range_frame_id,
        range=float(estimate.range),
        bearing=float(estimate.bearing),
        elevation=float(estimate.elevation),
        stddev=float(estimate.stddev),
        num_views=estimate.num_views,
        note=estimate.note,
        has_box=estimate.has_box,
        box_pose=_pose(estimate.box_center, estimate.box_yaw),
        box_size=Vector3(x=estimate.box_size[0], y=estimate.box_size[1], z=estimate.box_size[2]),
        box_covariance=list(estimate.box_covariance) if estimate.has_box else [math.nan] * 9,
        on_floor=estimate.on_floor,
        approach_pose=_pose(estimate.approach[:3], estimate.approach[3]),
    )


def _pose(position, yaw: float) -> Pose:
    """A pose at ``position`` turned ``yaw`` about z (NaN stays NaN: no box)."""
    pose = Pose(position=Point(x=float(position[0]), y=float(position[1]), z=float(position[2])))
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = quaternion_from_yaw(yaw)
    return pose


def estimates_msg(outcome: QueryOutcome, target_frame: str, stamp: Time) -> SpatialEstimateArray:
    """The query's estimates as a SpatialEstimateArray (header: target frame, newest keyframe's stamp)."""
    newest = max((frame.stamp_ns for frame in outcome.frames), default=None)
    array = SpatialEstimateArray(
        header=Header(frame_id=target_frame, stamp=ns_to_stamp(newest) if newest is not None else stamp),
        query_id=outcome.query.query_id,
    )
    if outcome.estimates is not None:
        array.estimates = [estimate_msg(estimate) for estimate in outcome.estimates.estimates]
        array.distances = [
            ObjectDistance(
                label_a=d.label_a,
                label_b=d.label_b,
                index_a=d.index_a,
                index_b=d.index_b,
                distance=float(d.distance),
                stddev=float(d.stddev),
                gap=float(d.gap),
                gap_stddev=float(d.gap_stddev),
            )
            for d in outcome.estimates.distances
        ]
    return array


def annotated_image_msgs(outcome: QueryOutcome) -> list[tuple[Image, CameraInfo]]:
    """Every drawn image of the query as rgb8 with its CameraInfo, both with the header (stamp, frame) of
    the source keyframe; the CameraInfo is the keyframe's calibration scaled to the drawn image's size
    (:func:`scaled_camera_info`), so the pair overlays in an RViz Camera display."""
    messages = []
    if outcome.result is None:
        return messages
    for image in outcome.result.images:
        if image.base_index is None or image.source_index > len(outcome.frames):
            continue
        source = outcome.frames[image.source_index - 1]
        height, width = image.pixels.shape[:2]
        header = Header(stamp=ns_to_stamp(source.stamp_ns), frame_id=source.frame_id)
        picture = Image(
            header=header,
            height=height,
            width=width,
            encoding="rgb8",
            is_bigendian=0,
            step=width * 3,
            data=array.array("B", image.pixels.tobytes()),  # ~10x faster for rclpy than bytes
        )
        messages.append((picture, scaled_camera_info(source.intrinsics, image.mapping, header)))
    return messages


def scaled_camera_info(intrinsics: CameraIntrinsics | None, mapping: ResizeMapping, header: Header) -> CameraInfo:
    """The CameraInfo of an image resized by ``mapping`` from one calibrated by ``intrinsics``.

    The resize is a pure scale (``ResizeMapping.to_source``: ``x_source = x * source_width / width``),
    so K's first row is multiplied by ``width / source_width`` and its second by ``height / source_height``;
    P is ``[K' | 0]`` (a monocular camera, rectification identity), D and the distortion model are
    unchanged (distortion is a function of normalised coordinates, which a scale leaves alone).
    Without a calibration K, R and P stay zero: "uncalibrated" by the CameraInfo convention.
    """
    info = CameraInfo(header=header, width=mapping.width, height=mapping.height)
    if intrinsics is None:
        return info
    scale = np.diag([mapping.width / mapping.source_width, mapping.height / mapping.source_height, 1.0])
    k = scale @ np.asarray(intrinsics.k, dtype=np.float64)
    info.distortion_model = intrinsics.distortion_model
    info.d = [float(value) for value in intrinsics.distortion]
    info.k = [float(value) for value in k.ravel()]
    info.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    info.p = [float(value) for value in np.hstack([k, np.zeros((3, 1))]).ravel()]
    return info


_PALETTE = [(1.0, 0.0, 0.0), (0.0, 0.5, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.65, 0.0), (1.0, 0.75, 0.8)]


def markers_msg(outcome: QueryOutcome, target_frame: str, stamp: Time) -> MarkerArray:
    """RViz markers for the query's 3D estimates: per object a cube of its box's size and yaw (a sphere at
    the visible surface when it has no box) and a label; a line strip per path.

    Namespaced by query id; a DELETEALL first replaces the previous query's markers.
    """
    markers = [Marker(action=Marker.DELETEALL)]
    estimates = outcome.estimates.estimates if outcome.estimates is not None else []
    namespace = f"vilasr/{outcome.query.query_id}"
    for number, estimate in enumerate(e for e in estimates if e.valid_3d):
        r, g, b = _PALETTE[number % len(_PALETTE)]
        colour = ColorRGBA(r=r, g=g, b=b, a=0.9)
        header = Header(frame_id=estimate.frame_id or target_frame, stamp=stamp)
        start = Point(x=estimate.position[0], y=estimate.position[1], z=estimate.position[2])
        if estimate.kind == OBJECT and estimate.has_box:
            cube = Marker(header=header, ns=namespace, id=2 * number, type=Marker.CUBE, action=Marker.ADD)
            cube.color = ColorRGBA(r=r, g=g, b=b, a=0.5)
            cube.pose = _pose(estimate.box_center, estimate.box_yaw)
            cube.scale = Vector3(x=estimate.box_size[0], y=estimate.box_size[1], z=estimate.box_size[2])
            markers.append(cube)
            start = Point(
                x=estimate.box_center[0], y=estimate.box_center[1], z=estimate.box_center[2] + estimate.box_size[2] / 2
            )
        elif estimate.kind == OBJECT:
            size = float(max(estimate.size[0], estimate.size[1])) if math.isfinite(estimate.size[0]) else 0.2
            diameter = max(0.1, min(1.0, size))
            sphere = Marker(header=header, ns=namespace, id=2 * number, type=Marker.SPHERE, action=Marker.ADD)
            sphere.color = colour
            sphere.pose.position = start
            sphere.pose.orientation.w = 1.0
            sphere.scale = Vector3(x=diameter, y=diameter, z=diameter)
            markers.append(sphere)
        else:
            end = Point(x=estimate.end_position[0], y=estimate.end_position[1], z=estimate.end_position[2])
            strip = Marker(
                header=header, ns=namespace, id=2 * number, type=Marker.LINE_STRIP, action=Marker.ADD, color=colour
            )
            strip.pose.orientation.w = 1.0
            strip.points = [start, end]
            strip.scale.x = 0.05
            markers.append(strip)
        text = Marker(header=header, ns=namespace, id=2 * number + 1, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
        text.pose.position = Point(x=start.x, y=start.y, z=start.z + 0.3)
        text.pose.orientation.w = 1.0
        text.scale.z = 0.2
        text.color = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0)
        text.text = estimate.label
        markers.append(text)
    return MarkerArray(markers=markers)


@dataclass(frozen=True)
class BackendReport:
    """What the diagnostics say about the model: its kind, whether it is loaded, the node's state, the
    queries running or waiting, the last query's latency and the backend's own ``status()`` (device,
    GPU memory, server)."""

    kind: str
    loaded: bool
    state: str
    queue_length: int = 0
    last_latency_s: float | None = None
    details: dict[str, str] = field(default_factory=dict)


GPU_MEMORY_KEY = "GPU memory reserved MB"  # what a backend on a CUDA device reports in its status()


def backend_status(node_name: str, report: BackendReport, rss_bytes: int | None = None) -> DiagnosticStatus:
    """The backend's diagnostic status: OK while loaded, ERROR when not.

    Always carries ``device`` (the backend's: cpu, cuda:N, "remote (openai server)", "none (replay)";
    "none (not loaded)" without a backend), ``memory MB`` (the GPU memory PyTorch reserved on a CUDA
    device, else the process's resident memory ``rss_bytes``; ``memory measured`` says which) and
    ``queue length`` (the queries running or waiting), next to the backend's own ``status()`` values.
    """
    details = report.details
    device = details.get("device") or ("unknown" if report.loaded else "none (not loaded)")
    if GPU_MEMORY_KEY in details:
        memory_mb, measured = details[GPU_MEMORY_KEY], f"GPU memory reserved on {device}"
    else:
        memory_mb = "unknown" if rss_bytes is None else f"{rss_bytes / 1e6:.0f}"
        measured = "process RSS"
    values = {
        "backend": report.kind,
        "model loaded": report.loaded,
        "state": report.state,
        **details,
        "device": device,
        "memory MB": memory_mb,
        "memory measured": measured,
        "queue length": report.queue_length,
        "queries running or waiting": report.queue_length,
        "last query latency s": "none yet" if report.last_latency_s is None else f"{report.last_latency_s:.2f}",
    }
    loaded = "loaded" if report.loaded else "not loaded"
    return DiagnosticStatus(
        level=DiagnosticStatus.OK if report.loaded else DiagnosticStatus.ERROR,
        name=f"{node_name}: backend",
        hardware_id=device,
        message=f"{report.kind} backend {loaded} on {device}, {report.queue_length} queries running or waiting",
        values=[KeyValue(key=key, value=str(value)) for key, value in values.items()],
    )


def diagnostics_msg(
    node_name: str,
    stats: StoreStats,
    cameras,
    stamp: Time,
    poses=None,
    rss_bytes: int | None = None,
    backend: BackendReport | None = None,
    frame_rates: dict[str, float | None] | None = None,
) -> DiagnosticArray:
    """The node's state as diagnostics: one status per camera (WARN when no frame arrives or messages are
    dropped; with its frame rate), the keyframe buffer (its bytes: what the keyframes keep alive), the
    pose source's counters and the backend (:func:`backend_status`).

    ``cameras`` are :class:`~vilasr_ros.ros.camera_input.CameraInput`; ``poses`` a pose source with
    ``diagnostics()``; ``rss_bytes`` the process's resident memory, reported next to the buffer's;
    ``frame_rates`` the frames received per second over the last seconds, per camera name (None: not
    measured yet).
    """
    statuses = []
    frame_rates = frame_rates or {}
    inputs = {camera.config.name: camera for camera in cameras}
    for name, camera_stats in stats.cameras.items():
        camera = inputs.get(name)
        dropped = dict(camera.dropped) if camera is not None else {}
        level = DiagnosticStatus.OK if camera_stats.offered and not dropped else DiagnosticStatus.WARN
        message = (
            f"{camera_stats.keyframes} keyframes, admission rate {camera_stats.admission_rate:.1%}"
            if camera_stats.offered
            else "no frames received yet"
        )
        if dropped:
            message += f"; {sum(dropped.values())} messages dropped"
        values = {
            "frames received": camera.frames_received if camera is not None else 0,
            "frame rate Hz": "unknown" if frame_rates.get(name) is None else f"{frame_rates[name]:.1f}",
            "depth images received": camera.depth_received if camera is not None else 0,
            "frames without depth": camera.frames_without_depth if camera is not None else 0,
            "frames offered": camera_stats.offered,
            "keyframes": camera_stats.keyframes,
            "admitted": camera_stats.admitted,
            "evicted": camera_stats.evicted,
            "memory MB": round(camera_stats.nbytes / 1e6, 1),
            **{f"rejected: {reason}": count for reason, count in sorted(camera_stats.rejected.items())},
        }
        if camera is not None:
            values.update(
                {
                    "pairing buffers MB": round(camera.pairing_bytes / 1e6, 1),
                    "time jumps back": camera.time_jumps,
                    "clock offset s": round(camera.clock_offset_s, 3),
                    **{f"dropped: {reason}": count for reason, count in sorted(dropped.items())},
                }
            )
        statuses.append(
            DiagnosticStatus(
                level=level,
                name=f"{node_name}: camera {name}",
                hardware_id=name,
                message=message,
                values=[KeyValue(key=key, value=str(value)) for key, value in values.items()],
            )
        )
    total = stats.total
    buffer_values = {"keyframes": total.keyframes, "memory MB": f"{total.nbytes / 1e6:.1f}"}
    if rss_bytes is not None:
        buffer_values["process RSS MB"] = f"{rss_bytes / 1e6:.1f}"
    statuses.append(
        DiagnosticStatus(
            level=DiagnosticStatus.OK,
            name=f"{node_name}: keyframe buffer",
            message=f"{total.keyframes} keyframes, {total.nbytes / 1e6:.1f} MB",
            values=[KeyValue(key=key, value=str(value)) for key, value in buffer_values.items()],
        )
    )
    counters = poses.diagnostics() if poses is not None else {}
    if counters:
        statuses.append(
            DiagnosticStatus(
                level=DiagnosticStatus.WARN,
                name=f"{node_name}: poses",
                message=f"{sum(counters.values())} pose failures or drops",
                values=[KeyValue(key=key, value=str(value)) for key, value in counters.items()],
            )
        )
    if backend is not None:
        statuses.append(backend_status(node_name, backend, rss_bytes))
    return DiagnosticArray(header=Header(stamp=stamp), status=statuses)


def process_rss_bytes() -> int | None:
    """This process's resident memory in bytes (Linux /proc), None where it cannot be read."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
