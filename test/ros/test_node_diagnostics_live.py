"""The running node's /diagnostics: the backend's status and the camera's measured frame rate."""

from __future__ import annotations

import time

import pytest
from diagnostic_msgs.msg import DiagnosticArray
from node_harness import WAIT, Camera, wait_until_active
from rclpy.executors import SingleThreadedExecutor

pytestmark = pytest.mark.ros

PERIOD_S = 0.05  # the test camera's period: it cannot publish faster than 1 / PERIOD_S frames/s


def test_diagnostics_show_the_backend_and_the_cameras_frame_rate(ros_node, running_node, namespace):
    _, node_name = running_node
    wait_until_active(ros_node, node_name)
    messages: list[DiagnosticArray] = []
    ros_node.create_subscription(DiagnosticArray, "/diagnostics", messages.append, 50)
    Camera(ros_node, namespace).publish(60, period=PERIOD_S)

    def latest(name: str) -> dict[str, str] | None:
        for message in reversed(messages):
            for status in message.status:
                if status.name == f"{node_name}: {name}":
                    return {kv.key: kv.value for kv in status.values}
        return None

    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not (
        latest("backend") and latest("camera front") and latest("camera front")["frame rate Hz"] != "unknown"
    ):
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(ros_node)

    backend = latest("backend")
    assert backend is not None and backend["backend"] == "replay" and backend["model loaded"] == "True"
    assert backend["state"] == "active" and backend["queries running or waiting"] == "0"
    assert backend["last query latency s"] == "none yet"
    assert backend["device"] == "none (replay)" and backend["queue length"] == "0"
    assert backend["memory measured"] == "process RSS" and float(backend["memory MB"]) > 0
    front = latest("camera front")
    rate = float(front["frame rate Hz"])
    assert 0 < rate <= 1 / PERIOD_S * 1.1  # measured over the last seconds of a camera at most 20 frames/s
