"""The node as a separate process, with real rclpy and Fast DDS, called from this process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient

from vilasr_ros.config import parameter_defaults
from vilasr_ros.ros.client import build_request, call_query
from vilasr_ros.srv import SpatialQuery

VILASR_ROS = str(Path(sys.executable).with_name("vilasr-ros"))
WAIT = 30.0


def start_node(*args: str, namespace: str = "") -> subprocess.Popen:
    command = [VILASR_ROS, "node", *(["--namespace", namespace] if namespace else []), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_node(process: subprocess.Popen) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"the node did not stop within {WAIT} s of SIGINT:\n{output}")
    return process.returncode, output


@pytest.fixture
def node_process(request):
    namespace = f"t{os.getpid()}_{request.node.name[-20:]}".replace("[", "_").replace("]", "_")
    process = start_node(namespace=namespace)
    yield process, f"/{namespace}/vilasr"
    stop_node(process)


def test_query_service_answers_not_ready_and_the_node_keeps_running(ros_node, node_process):
    process, node_name = node_process
    response = call_query(ros_node, f"{node_name}/query", build_request("How far is the red chair from the door?"), WAIT)
    assert response.success is False
    assert response.error.startswith("not ready:")
    assert response.stop_reason == SpatialQuery.Response.STOP_REJECTED
    assert len(response.query_id) == 12
    assert response.estimates.query_id == response.query_id
    assert response.estimates.header.frame_id == "map"
    assert response.has_numeric_value is False

    # Bad input gets its own clear error, and the node is still there afterwards.
    empty = call_query(ros_node, f"{node_name}/query", build_request("   "), WAIT)
    assert empty.success is False and empty.error == "invalid request: question is empty"
    bad_type = build_request("Which is closer?")
    bad_type.answer_type = 9
    refused = call_query(ros_node, f"{node_name}/query", bad_type, WAIT)
    assert "answer_type 9" in refused.error
    assert len({response.query_id, empty.query_id, refused.query_id}) == 3
    assert process.poll() is None

    code, output = stop_node(process)
    assert code == 0, output
    assert "ready to take queries" in output
    assert "Traceback" not in output


def test_node_declares_every_parameter_and_rejects_invalid_changes(ros_node, node_process):
    _, node_name = node_process
    client = AsyncParameterClient(ros_node, node_name)
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)

    def wait(future):
        executor.spin_until_future_complete(future, timeout_sec=WAIT)
        assert future.done(), "parameter service did not answer"
        return future.result()

    assert client.wait_for_services(timeout_sec=WAIT)
    listed = set(wait(client.list_parameters()).result.names)
    assert set(parameter_defaults()) <= listed

    values = wait(client.get_parameters(["engine.max_turns", "backend.model"])).values
    assert (values[0].integer_value, values[1].string_value) == (10, "AntResearchNLP/ViLaSR")

    (rejected,) = wait(client.set_parameters([Parameter("engine.top_p", value=1.5)])).results
    assert rejected.successful is False and "engine.top_p" in rejected.reason
    (accepted,) = wait(client.set_parameters([Parameter("query.timeout", value=30.0)])).results
    assert accepted.successful is True
    executor.remove_node(ros_node)
    executor.shutdown()


@pytest.mark.parametrize(
    "override, message",
    [("engine.max_turns:=0", "engine.max_turns must be >= 1"), ("engine.max_turns:=ten", "engine.max_turns must be of type int")],
)
def test_invalid_parameters_stop_the_node_with_a_clear_message(override, message):
    process = start_node("--ros-args", "-p", override)
    output, _ = process.communicate(timeout=WAIT)
    assert process.returncode == 2, output
    assert message in output
    assert "Traceback" not in output


def test_ask_command_calls_the_running_node(node_process):
    _, node_name = node_process
    result = subprocess.run(
        [VILASR_ROS, "ask", "Is the door left of the chair?", "--service", f"{node_name}/query", "--wait", str(WAIT)],
        capture_output=True,
        text=True,
        timeout=2 * WAIT,
    )
    assert result.returncode == 1  # refused: not ready
    assert "not ready" in result.stdout and "stop reason: rejected" in result.stdout


def test_ask_command_reports_a_missing_service():
    started = time.monotonic()
    result = subprocess.run(
        [VILASR_ROS, "ask", "Anyone there?", "--service", "/nobody/query", "--wait", "2"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 1
    assert "service /nobody/query is not available" in result.stderr
    assert time.monotonic() - started < WAIT
