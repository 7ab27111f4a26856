"""A small synthetic room with known geometry, rendered as a robot's RGB-D camera sees it (no ROS).

The robot drives in ``odom`` (x forward at the start, y left, z up); its camera
looks forward 0.6 m up. Boxes of known size and colour stand on the floor in
front of a wall. The renderer ray-casts the scene (numpy), so colour, depth and
the projection of every object are exact: the demo compares the node's
estimates with this ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vilasr_ros.core.poses import quaternion_from_yaw

WIDTH, HEIGHT, FOCAL = 640, 480, 460.0
CAMERA_HEIGHT = 0.6
WALL_X = 5.0
# The camera optical frame (z forward, x right, y down) in the base frame (x forward, y left, z up).
EXTRINSIC = f"0 0 {CAMERA_HEIGHT} -0.5 0.5 -0.5 0.5"


@dataclass(frozen=True)
class SceneObject:
    """An axis-aligned box standing on the floor: centre (x, y) in odom, size (dx, dy, dz) in metres."""

    label: str
    centre_xy: tuple[float, float]
    size: tuple[float, float, float]
    colour: tuple[int, int, int]

    @property
    def centre(self) -> tuple[float, float, float]:
        return (self.centre_xy[0], self.centre_xy[1], self.size[2] / 2)


OBJECTS = (
    SceneObject("red chair", (2.2, 0.7, 0.0), (0.5, 0.5, 0.9), (200, 40, 40)),
    SceneObject("green table", (3.0, -0.9, 0.0), (0.8, 1.2, 0.75), (40, 160, 60)),
    SceneObject("blue door", (WALL_X - 0.05, 0.2, 0.0), (0.1, 0.9, 2.0), (50, 70, 200)),
)


def camera_matrix() -> np.ndarray:
    return np.array([[FOCAL, 0.0, WIDTH / 2], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class RobotPose:
    """The robot base in odom: position (m) and heading (rad, counter-clockwise from +x)."""

    x: float = 0.0
    y: float = 0.0
    yaw: float = 0.0

    @property
    def quaternion(self) -> tuple[float, float, float, float]:
        return quaternion_from_yaw(self.yaw)

    def to_base(self, point: tuple[float, float, float]) -> tuple[float, float, float]:
        """A point in odom, in this base frame."""
        dx, dy = point[0] - self.x, point[1] - self.y
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return (c * dx + s * dy, -s * dx + c * dy, point[2])


def trajectory(steps: int) -> list[RobotPose]:
    """The demo drive: from 1.5 m back, turning slightly left, to a stop 0.3 m in front of the start."""
    poses = []
    for step in range(steps):
        f = step / max(1, steps - 1)
        poses.append(RobotPose(x=-1.5 + 1.8 * f, y=-0.4 + 0.4 * f, yaw=math.radians(12) * (1 - f)))
    return poses


def render(robot: RobotPose = RobotPose()) -> tuple[np.ndarray, np.ndarray]:
    """The camera's view: RGB uint8 (H, W, 3) and depth uint16 millimetres along the optical axis."""
    u, v = np.meshgrid(np.arange(WIDTH) + 0.5, np.arange(HEIGHT) + 0.5)
    # Ray directions in the base frame (forward x, left y = -(u - cx), up z = -(v - cy)), turned into odom;
    # the forward component stays 1, so a ray's parameter t is the depth along the optical axis.
    forward, left = np.ones_like(u), -(u - WIDTH / 2) / FOCAL
    c, s = math.cos(robot.yaw), math.sin(robot.yaw)
    dx, dy = c * forward - s * left, s * forward + c * left
    dz = -(v - HEIGHT / 2) / FOCAL
    origin = np.array([robot.x, robot.y, CAMERA_HEIGHT])
    distance = np.full(u.shape, np.inf)  # along x (the optical axis): depth
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)

    def paint(mask: np.ndarray, t: np.ndarray, colour: np.ndarray) -> None:
        nearer = mask & (t < distance)
        distance[nearer] = t[nearer]
        rgb[nearer] = colour[nearer] if colour.ndim == 3 else colour

    with np.errstate(divide="ignore", invalid="ignore"):
        floor_t = np.where(dz < 0, -origin[2] / dz, np.inf)
        fx, fy = origin[0] + floor_t * dx, origin[1] + floor_t * dy
        checker = ((np.floor(fx * 2) + np.floor(fy * 2)) % 2).astype(np.uint8)
        floor_colour = np.stack([140 + 40 * checker, 120 + 40 * checker, 100 + 30 * checker], axis=-1).astype(np.uint8)
        paint(np.isfinite(floor_t), floor_t, floor_colour)
        wall_t = np.where(dx > 0, (WALL_X - origin[0]) / dx, np.inf)
        wy, wz = origin[1] + wall_t * dy, origin[2] + wall_t * dz
        stripes = ((np.floor(wy * 4) % 2) * 25).astype(np.uint8)
        wall_colour = np.stack([200 - stripes, 195 - stripes, 180 - stripes], axis=-1).astype(np.uint8)
        paint(np.isfinite(wall_t) & (wz >= 0), wall_t, wall_colour)
        for item in OBJECTS:
            (cx, cy, cz), (sx, sy, sz) = item.centre, item.size
            t_near = np.full(u.shape, -np.inf)
            t_far = np.full(u.shape, np.inf)
            for direction, start, low, high in (
                (dx, origin[0], cx - sx / 2, cx + sx / 2),
                (dy, origin[1], cy - sy / 2, cy + sy / 2),
                (dz, origin[2], cz - sz / 2, cz + sz / 2),
            ):
                t1, t2 = (low - start) / direction, (high - start) / direction
                t_near = np.maximum(t_near, np.minimum(t1, t2))
                t_far = np.minimum(t_far, np.maximum(t1, t2))
            hit = (t_near <= t_far) & (t_near > 0)
            shade = np.clip(0.75 + 0.25 * np.cos(t_near * 3), 0.5, 1.0)[..., None]
            colour = (np.array(item.colour)[None, None, :] * shade).astype(np.uint8)
            paint(hit, np.where(hit, t_near, np.inf), colour)
    depth = np.where(np.isfinite(distance), np.round(distance * 1000), 0).astype(np.uint16)
    return rgb, depth


def project(point: tuple[float, float, float], robot: RobotPose = RobotPose()) -> tuple[float, float]:
    """A point in odom -> pixel (u, v) of the camera of a robot at ``robot``."""
    x, y, z = robot.to_base(point)
    return WIDTH / 2 - FOCAL * y / x, HEIGHT / 2 - FOCAL * (z - CAMERA_HEIGHT) / x


def box_of(item: SceneObject, robot: RobotPose = RobotPose()) -> tuple[float, float, float, float]:
    """The pixel box (x1, y1, x2, y2) around every corner of the object, as the camera of ``robot`` sees it."""
    (cx, cy, cz), (sx, sy, sz) = item.centre, item.size
    corners = [(cx + a * sx / 2, cy + b * sy / 2, cz + c * sz / 2) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
    visible = [project(corner, robot) for corner in corners if robot.to_base(corner)[0] > 0.1]
    us, vs = [p[0] for p in visible], [p[1] for p in visible]
    return max(0.0, min(us)), max(0.0, min(vs)), min(float(WIDTH), max(us)), min(float(HEIGHT), max(vs))


def distance_between(a: SceneObject, b: SceneObject) -> float:
    """Ground-truth distance between the objects' centres."""
    return math.dist(a.centre, b.centre)


def surface_point(u: float, v: float, depth: np.ndarray, robot: RobotPose) -> tuple[float, float, float]:
    """The odom point the camera of ``robot`` sees at pixel (u, v) of its ``depth`` image (ground truth)."""
    t = depth[int(v), int(u)] / 1000.0
    forward, left, up = t, -(u - WIDTH / 2) / FOCAL * t, -(v - HEIGHT / 2) / FOCAL * t
    c, s = math.cos(robot.yaw), math.sin(robot.yaw)
    return (robot.x + c * forward - s * left, robot.y + s * forward + c * left, CAMERA_HEIGHT + up)
