"""A small client for ~/query: what `vilasr-ros ask` runs (no ros2cli needed)."""

from __future__ import annotations

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from vilasr_ros.core.question import AnswerType
from vilasr_ros.query.request import ANSWER_TYPES_BY_CODE
from vilasr_ros.ros.conversions import duration_to_seconds, seconds_to_duration
from vilasr_ros.srv import SpatialQuery

# As deep as the node's request queue: a caller that sends a burst before it spins keeps every response.
CLIENT_QOS = QoSProfile(depth=1000, reliability=QoSReliabilityPolicy.RELIABLE)


class QueryClientError(RuntimeError):
    """The service could not be reached or did not answer in time."""


def build_request(
    question: str,
    options: list[str] | None = None,
    answer_type: AnswerType = AnswerType.AUTO,
    cameras: list[str] | None = None,
    max_keyframes: int = 0,
    timeout: float = 0.0,
) -> SpatialQuery.Request:
    """A SpatialQuery request from plain values."""
    return SpatialQuery.Request(
        question=question,
        options=list(options or []),
        answer_type=ANSWER_TYPES_BY_CODE.index(answer_type),
        cameras=list(cameras or []),
        max_keyframes=max_keyframes,
        timeout=seconds_to_duration(timeout),
    )


def call_query(node: Node, service: str, request: SpatialQuery.Request, wait: float) -> SpatialQuery.Response:
    """Call ``service`` from ``node`` and wait at most ``wait`` seconds for each step."""
    client = node.create_client(SpatialQuery, service, qos_profile=CLIENT_QOS)
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    try:
        if not client.wait_for_service(timeout_sec=wait):
            raise QueryClientError(f"service {service} is not available (is the vilasr node running?)")
        future = client.call_async(request)
        executor.spin_until_future_complete(future, timeout_sec=wait)
        if not future.done():
            raise QueryClientError(f"no response from {service} within {wait:.0f} s")
        return future.result()
    finally:
        executor.remove_node(node)
        executor.shutdown()
        node.destroy_client(client)


def format_response(response: SpatialQuery.Response) -> str:
    """A readable multi-line summary of a response."""
    lines = [
        f"query {response.query_id}: {'answered' if response.success else 'failed'} "
        f"(stop reason: {response.stop_reason or '-'}, {duration_to_seconds(response.latency) * 1e3:.1f} ms)",
    ]
    if response.error:
        lines.append(f"  error:  {response.error}")
    if response.answer:
        lines.append(f"  answer: {response.answer}")
    if response.choice:
        lines.append(f"  choice: {response.choice}")
    if response.has_numeric_value:
        lines.append(f"  value:  {response.numeric_value:g} {response.numeric_unit}")
    for estimate in response.estimates.estimates:
        where = "3D" if estimate.valid_3d else "2D only"
        lines.append(f"  estimate: {estimate.label} ({where}, camera {estimate.camera})")
    lines.append(f"  turns used: {response.turns_used}")
    return "\n".join(lines)


def ask(
    service: str, request: SpatialQuery.Request, wait: float, ros_args: list[str] | None = None
) -> SpatialQuery.Response:
    """Start a short-lived node, call ``service`` once and return the response."""
    rclpy.init(args=ros_args)
    node = rclpy.create_node("vilasr_ask")
    try:
        return call_query(node, service, request, wait)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
