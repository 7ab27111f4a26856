"""Shared test set-up: an isolated ROS 2 graph per test session."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# A private DDS domain on the loopback interface, so concurrent test runs on one
# machine never see each other's nodes. Set before any rclpy.init().
os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


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


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL (model, tokenizer, processor) saved like ViLaSR-7B, built once per session."""
    from vilasr_ros.reasoning.tiny_model import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny_qwen"))


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
