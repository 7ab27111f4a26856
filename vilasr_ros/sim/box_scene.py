"""A ray-cast room of yawed boxes standing on a floor, seen by pinhole RGB-D cameras (no ROS).

For tests and benchmarks of the object-box geometry: the ``map`` frame is
REP 103 (z up), the floor is ``z = floor_z``, the room's four walls are
vertical planes, and every object is a cuboid turned about z (centre, size
``(length, width, height)`` along its own x, y, z, yaw). A camera's depth image
is exact (each pixel's ray against every surface, nearest hit), then optionally corrupted
with range noise proportional to the range and random holes (NaN). The box
the model would draw around an object is the bounding box of its eight
projected corners, clipped to the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Columns: the optical frame's x (right), y (down), z (forward) in a REP 103 body frame (x forward, y left, z up).
BODY_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class Cuboid:
    """A box standing in the room: centre (x, y, z) in map, size along its own axes, yaw about z (radians)."""

    label: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]  # extent along the box's x, y and z axes, metres
    yaw: float = 0.0

    @classmethod
    def on_floor(
        cls, label: str, xy: tuple[float, float], size: tuple[float, float, float], yaw_deg: float, floor_z: float = 0.0
    ) -> Cuboid:
        """A box whose bottom rests on the floor."""
        return cls(label, (xy[0], xy[1], floor_z + size[2] / 2.0), size, math.radians(yaw_deg))

    def rotation(self) -> np.ndarray:
        """map <- box axes."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def corners(self) -> np.ndarray:
        """The eight corners in map, (8, 3)."""
        half = np.array(self.size) / 2.0
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
        return (signs * half) @ self.rotation().T + np.array(self.centre)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: its matrix, image size and pose (map <- optical frame)."""

    k: np.ndarray
    width: int
    height: int
    rotation: np.ndarray  # map <- optical
    position: np.ndarray  # optical centre in map

    @classmethod
    def looking_at(
        cls,
        position: tuple[float, float, float],
        target: tuple[float, float, float],
        focal: float = 525.0,
        size: tuple[int, int] = (640, 480),
    ) -> Camera:
        """A level camera (no roll) at ``position`` whose optical axis passes through ``target``."""
        forward = np.subtract(target, position).astype(np.float64)
        forward /= np.linalg.norm(forward)
        yaw = math.atan2(forward[1], forward[0])
        pitch = -math.asin(forward[2])  # positive looks down
        cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
        rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
        ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
        width, height = size
        k = np.array([[focal, 0.0, (width - 1) / 2.0], [0.0, focal, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(k, width, height, rz @ ry @ BODY_FROM_OPTICAL, np.array(position, dtype=np.float64))

    def project(self, points: np.ndarray) -> np.ndarray:
        """Map points (N, 3), in front of the camera -> pixels (edge convention: pixel (i, j) spans [i, i+1))."""
        optical = (np.asarray(points, dtype=np.float64) - self.position) @ self.rotation
        if (optical[:, 2] <= 0.05).any():
            raise ValueError("a point lies behind the camera")
        pixels = optical @ self.k.T
        return pixels[:, :2] / pixels[:, 2:] + 0.5

    def pixel_rays(self) -> np.ndarray:
        """Normalised rays ``(x / z, y / z)`` through every pixel centre, (H * W, 2), row-major."""
        columns, rows = np.meshgrid(np.arange(self.width, dtype=np.float64), np.arange(self.height, dtype=np.float64))
        return np.column_stack(
            [(columns.ravel() - self.k[0, 2]) / self.k[0, 0], (rows.ravel() - self.k[1, 2]) / self.k[1, 1]]
        )


@dataclass(frozen=True)
class Room:
    """A floor at ``floor_z``, four walls (at ``x_range`` and ``y_range``) and the boxes in it."""

    cuboids: tuple[Cuboid, ...]
    x_range: tuple[float, float] = (-6.0, 6.0)
    y_range: tuple[float, float] = (-6.0, 6.0)
    floor_z: float = 0.0

    def without(self, label: str) -> Room:
        """The same room without the box called ``label``."""
        return Room(tuple(c for c in self.cuboids if c.label != label), self.x_range, self.y_range, self.floor_z)

    def depth(self, camera: Camera) -> np.ndarray:
        """Exact depth (metres along the optical axis) of every pixel, (H, W) float32; inf where nothing is hit."""
        rays = camera.pixel_rays()
        directions = np.column_stack([rays, np.ones(len(rays))]) @ camera.rotation.T  # map, optical z = 1
        origin = camera.position
        depth = np.full(len(rays), np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            planes = ((2, self.floor_z), *((0, x) for x in self.x_range), *((1, y) for y in self.y_range))
            for axis, value in planes:
                t = (value - origin[axis]) / directions[:, axis]
                depth = np.where((t > 0) & (t < depth), t, depth)
            for cuboid in self.cuboids:
                rotation = cuboid.rotation()
                local_origin = (origin - np.array(cuboid.centre)) @ rotation
                local_directions = directions @ rotation
                half = np.array(cuboid.size) / 2.0
                t1 = (-half - local_origin) / local_directions
                t2 = (half - local_origin) / local_directions
                near = np.nanmax(np.minimum(t1, t2), axis=1)
                far = np.nanmin(np.maximum(t1, t2), axis=1)
                hit = (far >= near) & (near > 0)
                depth = np.where(hit & (near < depth), near, depth)
        return depth.reshape(camera.height, camera.width).astype(np.float32)

    def noisy_depth(self, camera: Camera, range_noise: float, hole_fraction: float, seed: int) -> np.ndarray:
        """Depth with Gaussian noise of ``range_noise`` times the range along each ray and random NaN holes."""
        rng = np.random.default_rng(seed)
        depth = self.depth(camera).astype(np.float64)
        depth *= 1.0 + range_noise * rng.standard_normal(depth.shape)
        depth[rng.random(depth.shape) < hole_fraction] = np.nan
        return depth.astype(np.float32)


def drawn_box(camera: Camera, cuboid: Cuboid, jitter_px: float = 0.0, seed: int = 0) -> tuple[float, ...]:
    """The 2D box around the cuboid's projected corners (x_min, y_min, x_max, y_max), each side moved by up to
    ``jitter_px`` pixels at random, clipped to the image."""
    pixels = camera.project(cuboid.corners())
    box = np.concatenate([pixels.min(axis=0), pixels.max(axis=0)])
    box += np.random.default_rng(seed).uniform(-jitter_px, jitter_px, 4)
    return tuple(float(v) for v in np.clip(box, 0.0, [camera.width, camera.height, camera.width, camera.height]))
