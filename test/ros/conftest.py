"""Fixtures of the ROS tests: a client node in the test process and the node under test in its own."""

from __future__ import annotations

import os
import re

import pytest


@pytest.fixture
def ros_node():
    """A short-lived rclpy node in the test process (for calling the node under test)."""
    import rclpy

    context = rclpy.context.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("vilasr_test_client", context=context)
    try:
        yield node
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)


@pytest.fixture
def namespace(request):
    """A ROS namespace unique to this test (nodes of concurrent tests never meet)."""
    return re.sub(r"[^A-Za-z0-9]+", "_", f"t{os.getpid()}_{request.node.name[-24:]}").strip("_")


@pytest.fixture
def running_node(namespace, tmp_path):
    """The vilasr node (replay backend, camera 'front') running in ``namespace``; yields (process, node name)."""
    from node_harness import start_node, stop_node

    process = start_node(namespace, tmp_path)
    yield process, f"/{namespace}/vilasr"
    stop_node(process)
