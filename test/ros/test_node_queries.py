"""No caller left without a reply, and no bad server blocking the next query (the node in its own process).

- a burst of 300 service requests gets 300 responses (busy at once when the queue is full);
- action goals beyond the queue are rejected; a queued goal is cancelled at once; deactivate
  cancels the running query and its result says so; backend.* parameters are read-only;
- a hung or keep-alive-only OpenAI-compatible server (a stub in this process) delays only the
  query that met it: the next one reaches the server within 1 s of that query's deadline;
- Ctrl-C ends the node within seconds while a request hangs.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from action_msgs.msg import GoalStatus
from http_stub import StubHandler, local_server
from lifecycle_msgs.msg import Transition
from node_harness import WAIT, Camera, change_state, start_node, stop_node, wait_until_active
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.ros.client import build_request
from vilasr_ros.srv import SpatialQuery

pytestmark = pytest.mark.ros

BURST = 300
MARGIN = 1.0  # the bound: the next query starts within 1 s of the deadline


def spin_until(executor, condition, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while not condition() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return condition()


def executor_for(ros_node) -> SingleThreadedExecutor:
    executor = SingleThreadedExecutor(context=ros_node.context)
    executor.add_node(ros_node)
    return executor


# ---------------------------------------------------------------- burst and actions (replay backend)


def test_a_burst_of_300_requests_gets_300_responses(ros_node, namespace, tmp_path):
    process = start_node(namespace, tmp_path, "backend.replay_turn_seconds:=0.3", "query.queue_size:=3")
    try:
        wait_until_active(ros_node, process.name)
        Camera(ros_node, namespace).publish(5)
        deep = QoSProfile(depth=BURST + 10, reliability=QoSReliabilityPolicy.RELIABLE)  # a bursting client's side
        client = ros_node.create_client(SpatialQuery, f"{process.name}/query", qos_profile=deep)
        assert client.wait_for_service(timeout_sec=WAIT)
        executor = executor_for(ros_node)
        futures = [client.call_async(build_request("How far is the crate?")) for _ in range(BURST)]
        assert spin_until(executor, lambda: all(f.done() for f in futures), 60.0), (
            f"{sum(f.done() for f in futures)} of {BURST} answered"
        )
        responses = [f.result() for f in futures]
        answered = [r for r in responses if r.success]
        busy = [r for r in responses if r.error.startswith("busy: ")]
        assert all(r.answer == "2 m" for r in answered)
        assert len(answered) + len(busy) == BURST, {r.error for r in responses if not r.success}
        assert len(answered) >= 4 and len(busy) >= BURST // 2
        assert process.alive()
    finally:
        stop_node(process)


def lifecycle(ros_node, executor, node_name: str, transition: int) -> bool:
    """change_state spins ros_node in its own executor: take it out of ours meanwhile."""
    executor.remove_node(ros_node)
    try:
        return change_state(ros_node, node_name, transition)
    finally:
        executor.add_node(ros_node)


def set_parameter(ros_node, executor, node_name: str, name: str, value: ParameterValue):
    client = ros_node.create_client(SetParameters, f"{node_name}/set_parameters")
    assert client.wait_for_service(timeout_sec=WAIT)
    future = client.call_async(SetParameters.Request(parameters=[ParameterMsg(name=name, value=value)]))
    assert spin_until(executor, future.done, WAIT)
    return future.result().results[0]


def test_goals_rejected_when_full_queued_goal_cancelled_at_once_deactivate_cancels(ros_node, namespace, tmp_path):
    process = start_node(namespace, tmp_path, "backend.replay_turn_seconds:=2.0", "query.queue_size:=1")
    try:
        wait_until_active(ros_node, process.name)
        Camera(ros_node, namespace).publish(5)
        executor = executor_for(ros_node)
        actions = ActionClient(ros_node, SpatialQueryAction, f"{process.name}/query")
        assert actions.wait_for_server(timeout_sec=WAIT)

        def send(question: str):
            future = actions.send_goal_async(SpatialQueryAction.Goal(question=question))
            assert spin_until(executor, future.done, WAIT)
            return future.result()

        running, queued, extra = send("first?"), send("second?"), send("third?")
        assert running.accepted and queued.accepted
        assert not extra.accepted  # one running + one waiting = query.queue_size 1: rejected in the goal callback

        cancelled_at = time.monotonic()
        cancel = queued.cancel_goal_async()
        assert spin_until(executor, cancel.done, WAIT)
        queued_result = queued.get_result_async()
        assert spin_until(executor, queued_result.done, WAIT)
        assert time.monotonic() - cancelled_at < 2.0  # not after the running query's 6 s
        assert queued_result.result().status == GoalStatus.STATUS_CANCELED
        assert queued_result.result().result.stop_reason == "cancelled"
        running_result = running.get_result_async()
        assert not running_result.done()

        # backend.* cannot be changed over the graph; other parameters can
        refused = set_parameter(
            ros_node,
            executor,
            process.name,
            "backend.url",
            ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="http://evil:1/v1"),
        )
        assert not refused.successful and "read-only" in refused.reason
        accepted = set_parameter(
            ros_node,
            executor,
            process.name,
            "query.timeout",
            ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=30.0),
        )
        assert accepted.successful

        # deactivate while the first goal still runs: it ends cancelled, and says why
        assert not running_result.done()
        deactivated_at = time.monotonic()
        assert lifecycle(ros_node, executor, process.name, Transition.TRANSITION_DEACTIVATE)
        assert spin_until(executor, running_result.done, WAIT)
        outcome = running_result.result()
        assert time.monotonic() - deactivated_at < 4.0
        assert outcome.result.stop_reason == "cancelled" and not outcome.result.success
        assert "deactivated" in outcome.result.error
        assert lifecycle(ros_node, executor, process.name, Transition.TRANSITION_ACTIVATE)
        assert process.alive()
    finally:
        stop_node(process)


# ---------------------------------------------------------------- a bad OpenAI-compatible server

GOOD = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "<answer> B </answer>"}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]


class BadServer(StubHandler):
    """Hangs (or sends only keep-alive comments) when the question says HANG / KEEPALIVE; else answers B."""

    arrivals: list[tuple[str, float]] = []
    closing = threading.Event()

    def do_POST(self) -> None:
        body = self.read_body().decode()
        kind = "hang" if "HANG" in body else "keepalive" if "KEEPALIVE" in body else "good"
        self.arrivals.append((kind, time.monotonic()))
        if kind == "hang":
            self.closing.wait(120)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            if kind == "keepalive":
                while not self.closing.is_set():
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            header = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
            events = "".join(f"data: {json.dumps({**header, **chunk})}\n\n" for chunk in GOOD)
            self.wfile.write((events + "data: [DONE]\n\n").encode())
        except OSError:
            pass


@pytest.fixture
def bad_server():
    BadServer.arrivals.clear()
    BadServer.closing.clear()
    with local_server(BadServer) as url:
        yield url
        BadServer.closing.set()


def openai_node(namespace, tmp_path, url):
    return start_node(
        namespace,
        tmp_path,
        "backend.kind:=openai",
        "backend.model:=m",
        f"backend.url:={url}",
        "backend.request_timeout:=60.0",
        "backend.max_retries:=2",
        "backend.api_key_env:=VILASR_NO_KEY",
    )


@pytest.mark.parametrize("trouble", ["HANG", "KEEPALIVE"])
def test_a_bad_server_delays_only_the_query_that_met_it(ros_node, namespace, tmp_path, bad_server, trouble):
    process = openai_node(namespace, tmp_path, bad_server)
    try:
        wait_until_active(ros_node, process.name)
        Camera(ros_node, namespace).publish(3)
        client = ros_node.create_client(SpatialQuery, f"{process.name}/query")
        assert client.wait_for_service(timeout_sec=WAIT)
        executor = executor_for(ros_node)
        timeout = 3.0
        first = client.call_async(build_request(f"{trouble} where is it?", timeout=timeout))
        # the first query must have reached the server before the second is queued behind it
        assert spin_until(executor, lambda: len(BadServer.arrivals) >= 1, WAIT)
        reached = BadServer.arrivals[0][1]
        second = client.call_async(build_request("Where is it?", timeout=30.0))
        assert spin_until(executor, lambda: first.done() and second.done(), 30.0)
        assert first.result().stop_reason == "timeout" and not first.result().success
        assert second.result().success and second.result().answer == "B"
        kinds = [kind for kind, _ in BadServer.arrivals]
        assert kinds == [trouble.lower(), "good"], kinds
        # the first query's deadline: its timeout from when the node queued it (just before it reached the server)
        assert BadServer.arrivals[1][1] - reached < timeout + MARGIN
        assert process.alive()
    finally:
        stop_node(process)


def test_ctrl_c_while_the_server_hangs_stops_the_node_within_seconds(ros_node, namespace, tmp_path, bad_server):
    process = openai_node(namespace, tmp_path, bad_server)
    wait_until_active(ros_node, process.name)
    Camera(ros_node, namespace).publish(3)
    client = ros_node.create_client(SpatialQuery, f"{process.name}/query")
    assert client.wait_for_service(timeout_sec=WAIT)
    executor = executor_for(ros_node)
    client.call_async(build_request("HANG where is it?", timeout=100.0))
    assert spin_until(executor, lambda: len(BadServer.arrivals) >= 1, WAIT)
    started = time.monotonic()
    code, log = stop_node(process)
    assert time.monotonic() - started < 8.0, log[-2000:]
    assert code == 0, log[-2000:]
