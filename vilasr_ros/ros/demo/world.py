"""The simulated room published as the robot driving through it sees it: camera, depth, camera_info, odometry."""

from __future__ import annotations

import threading

from rclpy.node import Node

from vilasr_ros.core.poses import Pose
from vilasr_ros.ros.demo.script import DRIVE
from vilasr_ros.ros.harness import CameraPublisher
from vilasr_ros.sim import room as scene

PERIOD_S = 0.1
TICKS_PER_POSE = 2  # the robot moves to the next pose of the drive every 0.2 s


def base_pose(pose: scene.RobotPose) -> Pose:
    """The robot's pose in odom."""
    return Pose((pose.x, pose.y, 0.0), pose.quaternion, "odom")


class World:
    """Publishes the drive at 10 Hz on ``/<namespace>/front/*`` and ``/<namespace>/odom``; then the robot stands
    at the drive's last pose (``arrived`` is set)."""

    def __init__(self, node: Node, namespace: str) -> None:
        self.views = [scene.render(pose) for pose in DRIVE]
        self.camera = CameraPublisher(
            node,
            f"/{namespace}/front",
            scene.camera_matrix(),
            compressed_depth=True,
            odometry_topic=f"/{namespace}/odom",
        )
        self.arrived = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tick = 0
        while not self.stop.wait(PERIOD_S):
            index = min(tick // TICKS_PER_POSE, len(DRIVE) - 1)
            if index == len(DRIVE) - 1:
                self.arrived.set()
            rgb, depth = self.views[index]
            self.camera.publish(rgb, depth, "front_optical", base_pose(DRIVE[index]))
            tick += 1
