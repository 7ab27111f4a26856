"""Runtime parameter changes on the running node: keyframe caps applied to the live store (its
keyframes stay, the excess is evicted), engine settings refused with the reason."""

from __future__ import annotations

import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from node_harness import WAIT, Camera, wait_until_active
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient

from vilasr_ros.ros.client import build_request, call_query

pytestmark = pytest.mark.ros


def test_keyframe_caps_apply_at_runtime_and_engine_changes_are_refused(ros_node, running_node, namespace):
    _, node_name = running_node
    wait_until_active(ros_node, node_name)
    diagnostics: list[DiagnosticArray] = []
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, 50)
    Camera(ros_node, namespace).publish(40)
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)

    def keyframes() -> int | None:
        for message in reversed(diagnostics):
            for status in message.status:
                if status.name == f"{node_name}: camera front":
                    return int(next(kv.value for kv in status.values if kv.key == "keyframes"))
        return None

    def spin_until(done) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not done():
            executor.spin_once(timeout_sec=0.1)

    spin_until(lambda: (keyframes() or 0) >= 3)
    assert (keyframes() or 0) >= 3, "the camera gave fewer than 3 keyframes"

    client = AsyncParameterClient(ros_node, node_name)
    assert client.wait_for_services(timeout_sec=WAIT)

    def set_parameter(name: str, value):
        future = client.set_parameters([Parameter(name, value=value)])
        executor.spin_until_future_complete(future, timeout_sec=WAIT)
        assert future.done(), "parameter service did not answer"
        return future.result().results[0]

    refused = set_parameter("engine.temperature", 0.0)
    assert not refused.successful and "engine.temperature cannot change while the node is configured" in refused.reason
    assert set_parameter("keyframes.max_per_camera", 2).successful
    diagnostics.clear()
    spin_until(lambda: keyframes() == 2)
    assert keyframes() == 2  # the store kept its newest keyframes under the new cap (no frame since)
    executor.remove_node(ros_node)

    response = call_query(ros_node, f"{node_name}/query", build_request("How far is the crate?"), WAIT)
    assert response.success and len(response.keyframe_stamps) == 2
