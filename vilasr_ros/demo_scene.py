"""A small synthetic room with known geometry, rendered as an RGB-D camera sees it (no ROS).

The robot stands at the origin of ``odom`` facing +x; its camera is 0.6 m up.
Boxes of known size and colour stand on the floor in front of a wall. The
renderer ray-casts the scene (numpy), so colour, depth and the projection of
every object are exact: the demo compares the node's estimates with this
ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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

    @property
    def near_face_x(self) -> float:
        return self.centre_xy[0] - self.size[0] / 2


OBJECTS = (
    SceneObject("red chair", (2.2, 0.7, 0.0), (0.5, 0.5, 0.9), (200, 40, 40)),
    SceneObject("green table", (3.0, -0.9, 0.0), (0.8, 1.2, 0.75), (40, 160, 60)),
    SceneObject("blue door", (WALL_X - 0.05, 0.2, 0.0), (0.1, 0.9, 2.0), (50, 70, 200)),
)


def camera_matrix() -> np.ndarray:
    return np.array([[FOCAL, 0.0, WIDTH / 2], [0.0, FOCAL, HEIGHT / 2], [0.0, 0.0, 1.0]])


def render() -> tuple[np.ndarray, np.ndarray]:
    """The camera's view: RGB uint8 (H, W, 3) and depth uint16 millimetres along the optical axis."""
    u, v = np.meshgrid(np.arange(WIDTH) + 0.5, np.arange(HEIGHT) + 0.5)
    # Ray directions in the base frame: forward x, left y = -(u - cx), up z = -(v - cy).
    dx = np.ones_like(u)
    dy = -(u - WIDTH / 2) / FOCAL
    dz = -(v - HEIGHT / 2) / FOCAL
    origin = np.array([0.0, 0.0, CAMERA_HEIGHT])
    distance = np.full(u.shape, np.inf)  # along x (the optical axis): depth
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8)

    def paint(mask: np.ndarray, t: np.ndarray, colour: np.ndarray) -> None:
        nearer = mask & (t < distance)
        distance[nearer] = t[nearer]
        rgb[nearer] = colour[nearer] if colour.ndim == 3 else colour

    with np.errstate(divide="ignore", invalid="ignore"):
        floor_t = np.where(dz < 0, -origin[2] / dz, np.inf)
        fx, fy = floor_t * dx, floor_t * dy
        checker = ((np.floor(fx * 2) + np.floor(fy * 2)) % 2).astype(np.uint8)
        floor_colour = np.stack([140 + 40 * checker, 120 + 40 * checker, 100 + 30 * checker], axis=-1).astype(np.uint8)
        paint(np.isfinite(floor_t), floor_t, floor_colour)
        wall_t = np.full(u.shape, WALL_X)
        wy, wz = wall_t * dy, origin[2] + wall_t * dz
        stripes = ((np.floor(wy * 4) % 2) * 25).astype(np.uint8)
        wall_colour = np.stack([200 - stripes, 195 - stripes, 180 - stripes], axis=-1).astype(np.uint8)
        paint(wz >= 0, wall_t, wall_colour)
        for item in OBJECTS:
            (cx, cy, cz), (sx, sy, sz) = item.centre, item.size
            t_near = np.full(u.shape, -np.inf)
            t_far = np.full(u.shape, np.inf)
            for direction, start, low, high in ((dx, origin[0], cx - sx / 2, cx + sx / 2),
                                                (dy, origin[1], cy - sy / 2, cy + sy / 2),
                                                (dz, origin[2], cz - sz / 2, cz + sz / 2)):
                t1, t2 = (low - start) / direction, (high - start) / direction
                t_near = np.maximum(t_near, np.minimum(t1, t2))
                t_far = np.minimum(t_far, np.maximum(t1, t2))
            hit = (t_near <= t_far) & (t_near > 0)
            shade = np.clip(0.75 + 0.25 * np.cos(t_near * 3), 0.5, 1.0)[..., None]
            colour = (np.array(item.colour)[None, None, :] * shade).astype(np.uint8)
            paint(hit, np.where(hit, t_near, np.inf), colour)
    depth = np.where(np.isfinite(distance), np.round(distance * 1000), 0).astype(np.uint16)
    return rgb, depth


def project(point_base: tuple[float, float, float]) -> tuple[float, float]:
    """A point in the base / odom frame -> pixel (u, v) of the camera."""
    x, y, z = point_base
    return WIDTH / 2 - FOCAL * y / x, HEIGHT / 2 - FOCAL * (z - CAMERA_HEIGHT) / x


def box_of(item: SceneObject) -> tuple[float, float, float, float]:
    """The pixel box (x1, y1, x2, y2) of an object's near face."""
    x = item.near_face_x
    (_, cy, _), (_, sy, sz) = item.centre, item.size
    u1, v1 = project((x, cy + sy / 2, sz))
    u2, v2 = project((x, cy - sy / 2, 0.0))
    return u1, v1, u2, v2


def distance_between(a: SceneObject, b: SceneObject) -> float:
    """Ground-truth distance between the centres of the near faces (what a camera can measure)."""
    pa = (a.near_face_x, a.centre[1], a.centre[2])
    pb = (b.near_face_x, b.centre[1], b.centre[2])
    return math.dist(pa, pb)
