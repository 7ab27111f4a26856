"""The node as a separate process, with real rclpy and Fast DDS: cameras in, questions answered.

The node runs the replay backend (recorded assistant turns, no weights), so the
whole pipeline is real: camera messages -> keyframes -> the drawing loop ->
3D estimates -> response, published images, estimates and markers.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from lifecycle_msgs.msg import Transition
from node_harness import VILASR_ROS, WAIT, Camera, change_state, start_node, stop_node, wait_until_active
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from sensor_msgs.msg import Image
from visualization_msgs.msg import MarkerArray

from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.config import parameter_defaults
from vilasr_ros.msg import SpatialEstimate, SpatialEstimateArray
from vilasr_ros.ros.client import build_request, call_query
from vilasr_ros.srv import SpatialQuery

pytestmark = pytest.mark.ros


def test_answers_from_camera_keyframes_with_3d_estimates(ros_node, running_node, namespace):
    process, node_name = running_node
    wait_until_active(ros_node, node_name)

    empty = call_query(ros_node, f"{node_name}/query", build_request("Where is the crate?"), WAIT)
    assert empty.success is False and empty.error == "no keyframes yet from any camera (looking back 120 s)"

    received: dict[str, list] = {"images": [], "estimates": [], "markers": []}
    ros_node.create_subscription(Image, f"{node_name}/annotated_image", received["images"].append, 10)
    ros_node.create_subscription(SpatialEstimateArray, f"{node_name}/estimates", received["estimates"].append, 10)
    ros_node.create_subscription(MarkerArray, f"{node_name}/markers", received["markers"].append, 10)
    Camera(ros_node, namespace).publish(30)

    response = call_query(ros_node, f"{node_name}/query", build_request("How far is the crate?", max_keyframes=4), WAIT)
    assert response.success is True, response.error
    assert response.answer == "2 m" and response.has_numeric_value and response.numeric_value == 2.0
    assert response.stop_reason == SpatialQuery.Response.STOP_ANSWERED
    assert [turn.action for turn in response.trace] == ["Object Mapper", "Path Tracer", "Answer"]
    assert json.loads(response.trace[0].tool_call)[0]["label"] == "crate"
    assert response.turns_used == 3
    assert 1 <= len(response.keyframe_stamps) <= 4 and set(response.keyframe_cameras) == {"front"}

    estimates = {e.label: e for e in response.estimates.estimates}
    crate = estimates["crate"]
    assert crate.kind == SpatialEstimate.KIND_OBJECT and crate.has_depth and crate.camera == "front"
    # No pose source: metric in the camera's optical frame, 2 m ahead, not in the map.
    assert crate.valid_3d is False and crate.frame_id == "front_optical"
    assert crate.position.z == pytest.approx(2.0, abs=0.05)
    assert estimates["route"].kind == SpatialEstimate.KIND_PATH
    assert response.estimates.query_id == response.query_id

    # Published: the drawn images with their source keyframe's header, the estimates, the markers.
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and not (
        len(received["images"]) >= 2 and received["estimates"] and received["markers"]
    ):
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(ros_node)
    assert len(received["images"]) == 2 and received["images"][0].header.frame_id == "front_optical"
    assert received["images"][0].encoding == "rgb8"
    assert received["estimates"][0].query_id == response.query_id
    assert received["markers"][0].markers[0].action == received["markers"][0].markers[0].DELETEALL

    assert process.alive()
    code, output = stop_node(process)
    assert code == 0, output
    assert "Traceback" not in output


def test_action_streams_feedback_per_turn(ros_node, running_node, namespace):
    _, node_name = running_node
    wait_until_active(ros_node, node_name)
    Camera(ros_node, namespace).publish(10)
    client = ActionClient(ros_node, SpatialQueryAction, f"{node_name}/query")
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    assert client.wait_for_server(timeout_sec=WAIT)
    feedback: list = []
    goal = SpatialQueryAction.Goal(question="How far is the crate?")
    goal_future = client.send_goal_async(goal, feedback_callback=lambda message: feedback.append(message.feedback))
    executor.spin_until_future_complete(goal_future, timeout_sec=WAIT)
    handle = goal_future.result()
    assert handle.accepted
    result_future = handle.get_result_async()
    executor.spin_until_future_complete(result_future, timeout_sec=WAIT)
    result = result_future.result().result
    executor.remove_node(ros_node)
    assert result.success is True and result.answer == "2 m"
    turns = [f.turn for f in feedback if f.phase in ("reasoning", "drawing") and f.turn > 0]
    assert turns == [1, 2, 3]
    assert {f.phase for f in feedback} >= {"selecting_keyframes", "reasoning", "drawing"}
    assert all(f.query_id == result.query_id for f in feedback)


def test_bad_requests_get_clear_errors_and_the_node_keeps_running(ros_node, running_node):
    process, node_name = running_node
    wait_until_active(ros_node, node_name)
    empty = call_query(ros_node, f"{node_name}/query", build_request("   "), WAIT)
    assert empty.success is False and empty.error == "invalid request: question is empty"
    assert empty.stop_reason == "rejected" and len(empty.query_id) == 12
    unknown = call_query(ros_node, f"{node_name}/query", build_request("Where?", cameras=["rear"]), WAIT)
    assert "unknown camera" in unknown.error and "rear" in unknown.error
    bad_type = build_request("Which is closer?")
    bad_type.answer_type = 9
    assert "answer_type 9" in call_query(ros_node, f"{node_name}/query", bad_type, WAIT).error
    assert process.alive()


def test_node_declares_every_parameter_and_rejects_invalid_changes(ros_node, running_node):
    _, node_name = running_node
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
    assert {"cameras.front.image_topic", "cameras.front.depth_scale"} <= listed
    values = wait(client.get_parameters(["engine.max_turns", "backend.kind"])).values
    assert (values[0].integer_value, values[1].string_value) == (10, "replay")
    (rejected,) = wait(client.set_parameters([Parameter("engine.top_p", value=1.5)])).results
    assert rejected.successful is False and "engine.top_p" in rejected.reason
    (rejected,) = wait(client.set_parameters([Parameter("cameras.front.transport", value="theora")])).results
    assert rejected.successful is False and "cameras.front.transport" in rejected.reason
    (accepted,) = wait(client.set_parameters([Parameter("query.timeout", value=30.0)])).results
    assert accepted.successful is True
    executor.remove_node(ros_node)


def test_lifecycle_without_autostart(ros_node, namespace, tmp_path):
    process = start_node(namespace, tmp_path, "autostart:=false")
    node_name = f"/{namespace}/vilasr"
    try:
        refused = call_query(ros_node, f"{node_name}/query", build_request("Where?"), WAIT)
        assert refused.error == "not ready: the node is unconfigured"
        for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
            assert change_state(ros_node, node_name, transition)
        Camera(ros_node, namespace).publish(5)
        assert call_query(ros_node, f"{node_name}/query", build_request("How far?"), WAIT).success
    finally:
        code, output = stop_node(process)
    assert code == 0, output


def test_a_backend_that_cannot_load_leaves_the_node_unconfigured_not_dead(ros_node, namespace, tmp_path):
    process = start_node(namespace, tmp_path, f"backend.transcript:={tmp_path / 'missing.json'}")
    node_name = f"/{namespace}/vilasr"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            refused = call_query(ros_node, f"{node_name}/query", build_request("Where?"), WAIT)
            # before configure has failed the node is plainly "unconfigured"; then it says why
            if "failed to load" in refused.error or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "not ready: the node is unconfigured: the backend failed to load" in refused.error
        assert "cannot read transcript" in refused.error
    finally:
        code, output = stop_node(process)
    assert code == 0 and "configure failed" in output


@pytest.mark.parametrize(
    "override, message",
    [
        ("engine.max_turns:=0", "engine.max_turns must be >= 1"),
        ("engine.max_turns:=ten", "engine.max_turns must be of type int"),
    ],
)
def test_invalid_parameters_stop_the_node_with_a_clear_message(override, message, namespace, tmp_path):
    process = start_node(namespace, tmp_path, override)
    code = process.wait(WAIT)
    output = process.log()
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output


def test_ask_command_calls_the_running_node(ros_node, running_node, namespace):
    _, node_name = running_node
    wait_until_active(ros_node, node_name)
    Camera(ros_node, namespace).publish(5)
    result = subprocess.run(
        [VILASR_ROS, "ask", "How far is the crate?", "--service", f"{node_name}/query", "--wait", str(WAIT)],
        capture_output=True,
        text=True,
        timeout=2 * WAIT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "answer: 2 m" in result.stdout and "estimate: crate" in result.stdout


def test_ask_command_reports_a_missing_service():
    result = subprocess.run(
        [VILASR_ROS, "ask", "Anyone there?", "--service", "/nobody/query", "--wait", "2"],
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 1
    assert "service /nobody/query is not available" in result.stderr
