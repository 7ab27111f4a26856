"""The demo's planner: asks questions through the service and the action, and keeps the drawings published."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from vilasr_ros.action import SpatialQuery as SpatialQueryAction
from vilasr_ros.core.question import AnswerType
from vilasr_ros.ros.client import build_request, call_query

SERVER_WAIT_S = 30.0
GOAL_WAIT_S = 60.0
RESULT_WAIT_S = 300.0


class Planner:
    """Asks the node ``node_name`` questions; saves every annotated image it publishes under ``out``."""

    def __init__(self, node: Node, node_name: str, out: Path) -> None:
        self.node = node
        self.node_name = node_name
        self.out = out
        self.saved: list[str] = []
        node.create_subscription(Image, f"{node_name}/annotated_image", self._save_image, 20)

    def ask_service(self, question: str, options: list[str], answer_type: str, max_keyframes: int):
        request = build_request(question, options, AnswerType(answer_type), max_keyframes=max_keyframes)
        return call_query(self.node, f"{self.node_name}/query", request, RESULT_WAIT_S)

    def ask_action(self, question: str, options: list[str], max_keyframes: int) -> SpatialQueryAction.Result:
        """Ask through the action, printing each turn's feedback."""
        client = ActionClient(self.node, SpatialQueryAction, f"{self.node_name}/query")
        executor = SingleThreadedExecutor(context=self.node.context)
        executor.add_node(self.node)
        try:
            if not client.wait_for_server(timeout_sec=SERVER_WAIT_S):
                raise RuntimeError("the query action server is not available")

            def feedback(message) -> None:
                f = message.feedback
                detail = f" {f.last_turn.action}" if f.last_turn.action and f.phase in ("reasoning", "drawing") else ""
                print(f"    feedback: turn {f.turn} {f.phase}{detail}")

            goal = SpatialQueryAction.Goal(question=question, options=options, max_keyframes=max_keyframes)
            sent = client.send_goal_async(goal, feedback_callback=feedback)
            executor.spin_until_future_complete(sent, timeout_sec=GOAL_WAIT_S)
            result = sent.result().get_result_async()
            executor.spin_until_future_complete(result, timeout_sec=RESULT_WAIT_S)
            return result.result().result
        finally:
            executor.remove_node(self.node)
            client.destroy()

    def collect_images(self, seconds: float) -> None:
        """Spin for ``seconds`` so the last annotated images arrive."""
        executor = SingleThreadedExecutor(context=self.node.context)
        executor.add_node(self.node)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        executor.remove_node(self.node)

    def _save_image(self, message: Image) -> None:
        pixels = np.frombuffer(message.data, np.uint8).reshape(message.height, message.width, 3)
        path = self.out / f"annotated_{len(self.saved) + 1:02d}.png"
        cv2.imwrite(str(path), cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
        self.saved.append(str(path))
