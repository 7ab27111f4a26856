"""The node under test in its own process, and a synthetic camera feeding it (on vilasr_ros.ros.harness)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from vilasr_ros.ros import harness
from vilasr_ros.ros.harness import NodeProcess

VILASR_ROS = harness.vilasr_ros_command()
WAIT = 30.0
WIDTH, HEIGHT = 320, 240
FX = 250.0
TRANSCRIPT = [
    "<think> Find the box. </think> Action: Object Mapper\n```json\n"
    '[{"index": 1, "bbox_2d": [130, 90, 190, 150], "label": "crate"}]\n```',
    "<think> And the path to it. </think> Action: Path Tracer\n```json\n"
    '[{"index": 2, "start_point_2d": [160, 230], "end_point_2d": [160, 120], "label": "route"}]\n```',
    "<think> It is straight ahead. </think> Action: Answer\n<answer> 2 m </answer>",
]


def start_node(namespace: str, tmp_path: Path, *overrides: str) -> NodeProcess:
    """The node with the replay backend and camera 'front' (no pose); ``overrides`` are more ``name:=value``."""
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps(TRANSCRIPT))
    parameters = [*harness.replay_camera_parameters(transcript), *overrides]
    return NodeProcess(namespace, tmp_path / f"node_{time.monotonic_ns()}.log", parameters=parameters)


def stop_node(process: NodeProcess) -> tuple[int, str]:
    """SIGINT the node; its exit code and everything it printed (fails the test if it does not stop in time)."""
    code = process.stop(timeout=WAIT)
    if code is None:
        pytest.fail(f"the node did not stop within {WAIT} s of SIGINT:\n{process.log()}")
    return code, process.log()


def wait_until_active(ros_node, node_name: str, timeout: float = WAIT) -> None:
    """Fail the test unless the node reaches active within ``timeout`` s (loading a model: give it more)."""
    try:
        harness.wait_until_active(ros_node, node_name, timeout)
    except TimeoutError as error:
        pytest.fail(str(error))


def change_state(ros_node, node_name: str, transition: int) -> bool:
    """Ask the node's lifecycle service for ``transition``; True when it succeeded."""
    return harness.change_state(ros_node, node_name, transition, WAIT)


class Camera:
    """Publishes a synthetic RGB-D camera (a textured wall 2 m away, panning) from the test process."""

    def __init__(self, node, namespace: str) -> None:
        k = np.array([[FX, 0.0, WIDTH / 2], [0.0, FX, HEIGHT / 2], [0.0, 0.0, 1.0]])
        self.publisher = harness.CameraPublisher(node, f"/{namespace}/front", k)
        self.texture = np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH * 3, 3), dtype=np.uint8)
        self.depth = np.full((HEIGHT, WIDTH), 2000, np.uint16)

    @property
    def frames(self) -> int:
        return self.publisher.published

    def publish(self, count: int, period: float = 0.05) -> None:
        """``count`` frames, ``period`` s apart, once the node subscribes to the camera (fails the test if it
        does not within WAIT s)."""
        try:
            self.publisher.wait_for_subscribers(WAIT)
        except TimeoutError as error:
            pytest.fail(str(error))
        for _ in range(count):
            shift = (self.frames * 12) % (WIDTH * 2)
            rgb = np.ascontiguousarray(self.texture[:, shift : shift + WIDTH])
            self.publisher.publish(rgb, self.depth, "front_optical")
            time.sleep(period)
