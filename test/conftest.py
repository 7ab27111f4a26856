"""Shared test set-up: an isolated ROS 2 graph per test session."""

from __future__ import annotations

import os
import random

import pytest

# A private DDS domain on the loopback interface, so concurrent test runs on one
# machine never see each other's nodes. Set before any rclpy.init().
os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL (model, tokenizer, processor) saved like ViLaSR-7B, built once per session."""
    from vilasr_ros.sim.tiny_model import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny_qwen"))
