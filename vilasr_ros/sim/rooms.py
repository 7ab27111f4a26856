"""Randomised rooms with exact ground truth: boxes and cylinders of known size, colour and name, seen by a moving
RGB-D camera (ray-cast with numpy; no ROS).

Frames: ``map`` is the room's frame, z up, the floor at z = 0, the walls at
x = 0, x = width, y = 0, y = depth. The camera's pose is its optical frame
(x right, y down, z forward) in ``map``. The renderer returns colour, depth
along the optical axis (uint16 millimetres) and an object-id image, so every
object's visible pixels (and hence its 2D box, with occlusion) are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.poses import Pose

BOX, CYLINDER = "box", "cylinder"
SHAPES = (BOX, CYLINDER)

# Category -> (shape, (min, max) of size x, size y (ignored for cylinders: the diameter), height), metres.
CATALOGUE: dict[str, tuple[str, tuple[tuple[float, float], ...]]] = {
    "chair": (BOX, ((0.45, 0.55), (0.45, 0.55), (0.80, 1.00))),
    "table": (BOX, ((1.00, 1.60), (0.60, 0.90), (0.70, 0.78))),
    "cabinet": (BOX, ((0.60, 1.00), (0.40, 0.60), (0.90, 1.80))),
    "crate": (BOX, ((0.40, 0.70), (0.40, 0.70), (0.30, 0.60))),
    "sofa": (BOX, ((1.60, 2.20), (0.80, 0.95), (0.75, 0.90))),
    "bookshelf": (BOX, ((0.80, 1.20), (0.30, 0.40), (1.50, 2.00))),
    "bin": (CYLINDER, ((0.30, 0.45), (0.0, 0.0), (0.40, 0.70))),
    "barrel": (CYLINDER, ((0.50, 0.65), (0.0, 0.0), (0.80, 1.00))),
    "stool": (CYLINDER, ((0.35, 0.45), (0.0, 0.0), (0.45, 0.70))),
    "pot": (CYLINDER, ((0.30, 0.50), (0.0, 0.0), (0.30, 0.50))),
}
PLURALS = {"bookshelf": "bookshelves", "bin": "bins", "pot": "pots"}
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "green": (40, 160, 60),
    "blue": (50, 70, 200),
    "yellow": (225, 205, 40),
    "orange": (235, 130, 30),
    "purple": (130, 50, 160),
    "black": (35, 35, 35),
    "pink": (235, 120, 175),
    "brown": (120, 75, 40),
    "cyan": (40, 190, 200),
}

WALL_MARGIN = 1.6  # objects stay this far (their bounding circle) from the walls
CAMERA_WALL_DISTANCE = 0.4
CAMERA_HEIGHT = 1.3
OBJECT_GAP = 0.25  # free floor between two objects' bounding circles


def plural(category: str) -> str:
    """``chair`` -> ``chairs``, ``bookshelf`` -> ``bookshelves``."""
    return PLURALS.get(category, category + "s")


@dataclass(frozen=True)
class RoomObject:
    """A labelled object: a box (rotated by ``yaw`` about z) or an upright cylinder, in ``map``.

    ``size`` is (length along the object's x, width along its y, height); a
    cylinder's first two are its diameter. ``centre`` is the middle of the
    object (a floor object's z is half its height).
    """

    label: str
    category: str
    shape: str
    centre: tuple[float, float, float]
    size: tuple[float, float, float]
    yaw: float = 0.0
    colour: tuple[int, int, int] = (128, 128, 128)

    @property
    def radius(self) -> float:
        """Radius of the footprint's bounding circle."""
        if self.shape == CYLINDER:
            return self.size[0] / 2
        return math.hypot(self.size[0], self.size[1]) / 2

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "category": self.category,
            "shape": self.shape,
            "centre": [float(value) for value in self.centre],
            "size": [float(value) for value in self.size],
            "yaw": float(self.yaw),
            "colour": list(self.colour),
        }


@dataclass(frozen=True)
class Room:
    """The walls (a ``width`` x ``depth`` rectangle from the origin, ``height`` tall) and the objects."""

    width: float
    depth: float
    height: float
    objects: tuple[RoomObject, ...]


@dataclass(frozen=True)
class CameraView:
    """A pinhole camera: ``k`` (3x3) for ``width`` x ``height`` pixels, ``pose`` its optical frame in map (4x4)."""

    k: np.ndarray
    width: int
    height: int
    pose: np.ndarray

    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics(k=self.k.copy(), width=self.width, height=self.height, distortion=(0.0,) * 5)


def camera_pose(x: float, y: float, z: float, yaw: float, pitch_down: float) -> np.ndarray:
    """The optical frame (x right, y down, z forward) of a camera at (x, y, z) heading ``yaw``, tilted down."""
    forward = np.array(
        [math.cos(yaw) * math.cos(pitch_down), math.sin(yaw) * math.cos(pitch_down), -math.sin(pitch_down)]
    )
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, (x, y, z)
    return pose


def random_room(rng: np.random.Generator) -> Room:
    """A room of 7-10 m by 6-8 m with 6-9 objects; some categories repeat (for counting), labels are unique."""
    width, depth = float(rng.uniform(7.0, 10.0)), float(rng.uniform(6.0, 8.0))
    count = int(rng.integers(6, 10))
    categories = list(CATALOGUE)
    chosen: list[str] = []
    for category in rng.permutation(categories)[: int(rng.integers(2, 4))]:
        chosen += [str(category)] * int(rng.integers(2, 4))  # repeated categories
    while len(chosen) < count:
        chosen.append(str(categories[int(rng.integers(len(categories)))]))
    chosen = chosen[:count]
    objects: list[RoomObject] = []
    used_labels: set[str] = set()
    for category in chosen:
        shape, ranges = CATALOGUE[category]
        colour_names = [name for name in COLOURS if f"{name} {category}" not in used_labels]
        colour_name = colour_names[int(rng.integers(len(colour_names)))]
        sx = float(rng.uniform(*ranges[0]))
        sy = sx if shape == CYLINDER else float(rng.uniform(*ranges[1]))
        sz = float(rng.uniform(*ranges[2]))
        yaw = 0.0 if shape == CYLINDER else float(rng.uniform(-math.pi / 2, math.pi / 2))
        placed = None
        for _ in range(200):
            candidate = RoomObject(
                f"{colour_name} {category}",
                category,
                shape,
                (0.0, 0.0, sz / 2),
                (sx, sy, sz),
                yaw,
                COLOURS[colour_name],
            )
            low, high_x, high_y = (
                WALL_MARGIN + candidate.radius,
                width - WALL_MARGIN - candidate.radius,
                depth - WALL_MARGIN - candidate.radius,
            )
            if high_x <= low or high_y <= low:
                break
            x, y = float(rng.uniform(low, high_x)), float(rng.uniform(low, high_y))
            if all(
                math.hypot(x - o.centre[0], y - o.centre[1]) > candidate.radius + o.radius + OBJECT_GAP for o in objects
            ):
                placed = RoomObject(
                    candidate.label, category, shape, (x, y, sz / 2), (sx, sy, sz), yaw, candidate.colour
                )
                break
        if placed is not None:
            objects.append(placed)
            used_labels.add(placed.label)
    return Room(width, depth, 2.8, tuple(objects))


def camera_path(
    room: Room, rng: np.random.Generator, frames: int, width: int = 320, height: int = 240
) -> list[CameraView]:
    """``frames`` views along an arc near the walls, tilted down, panning across the room's centre."""
    focal = 0.75 * width
    k = np.array([[focal, 0.0, width / 2], [0.0, focal, height / 2], [0.0, 0.0, 1.0]])
    cx, cy = room.width / 2, room.depth / 2
    ax, ay = cx - CAMERA_WALL_DISTANCE, cy - CAMERA_WALL_DISTANCE
    start = float(rng.uniform(0, 2 * math.pi))
    sweep = float(rng.uniform(math.radians(100), math.radians(180))) * (1 if rng.random() < 0.5 else -1)
    pan = float(rng.uniform(0.35, 0.6)) * (1 if rng.random() < 0.5 else -1)
    views = []
    for step in range(frames):
        progress = step / max(1, frames - 1)
        angle = start + sweep * progress
        x, y = cx + ax * math.cos(angle), cy + ay * math.sin(angle)
        # The view pans across the room while the camera moves, so objects come into view one after another.
        yaw = math.atan2(cy - y, cx - x) + pan * (2 * progress - 1) + float(rng.uniform(-0.1, 0.1))
        pitch = math.radians(16.0) + float(rng.uniform(-0.05, 0.05))
        views.append(CameraView(k, width, height, camera_pose(x, y, CAMERA_HEIGHT, yaw, pitch)))
    return views


def render(room: Room, view: CameraView) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Colour (H, W, 3 uint8), depth (uint16 mm along the optical axis) and object ids (int16, -1: none)."""
    h, w = view.height, view.width
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    fx, fy, px, py = view.k[0, 0], view.k[1, 1], view.k[0, 2], view.k[1, 2]
    rays = np.stack([(u - px) / fx, (v - py) / fy, np.ones_like(u)], axis=-1) @ view.pose[:3, :3].T
    rays[np.abs(rays) < 1e-12] = 1e-12  # a ray's parameter t is its depth; no exact zeros to divide by
    dx, dy, dz = rays[..., 0], rays[..., 1], rays[..., 2]
    ox, oy, oz = view.pose[:3, 3]
    depth = np.full((h, w), np.inf)
    rgb = np.zeros((h, w, 3), np.uint8)
    ids = np.full((h, w), -1, np.int16)

    def paint(t: np.ndarray, colour: np.ndarray, object_id: int = -1) -> None:
        nearer = (t > 0) & (t < depth)
        depth[nearer] = t[nearer]
        rgb[nearer] = colour[nearer] if colour.ndim == 3 else colour
        ids[nearer] = object_id

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for plane_z, sign in ((0.0, -1), (room.height, 1)):  # floor and ceiling
            t = np.where(np.sign(dz) == sign, (plane_z - oz) / dz, np.inf)
            if plane_z == 0.0:
                checker = ((np.floor((ox + t * dx) * 2) + np.floor((oy + t * dy) * 2)) % 2)[..., None]
                paint(t, (np.array([150, 125, 100]) + checker * np.array([35, 30, 25])).astype(np.uint8))
            else:
                paint(t, np.array([230, 230, 225], np.uint8))
        for axis, origin, direction, limit, colour in (
            (0, ox, dx, 0.0, (205, 200, 185)),
            (0, ox, dx, room.width, (190, 200, 205)),
            (1, oy, dy, 0.0, (200, 190, 200)),
            (1, oy, dy, room.depth, (195, 205, 190)),
        ):
            t = (limit - origin) / direction
            along = (oy + t * dy) if axis == 0 else (ox + t * dx)
            stripes = (np.floor(along * 3) % 2)[..., None] * 12
            paint(t, (np.array(colour) - stripes).astype(np.uint8))
        for object_id, item in enumerate(room.objects):
            t, shade = _hit(item, (ox, oy, oz), (dx, dy, dz))
            paint(t, (np.array(item.colour) * shade[..., None]).astype(np.uint8), object_id)
    depth_mm = np.where(np.isfinite(depth), np.round(depth * 1000), 0).clip(0, 65535).astype(np.uint16)
    return rgb, depth_mm, ids


def _hit(item: RoomObject, origin, direction) -> tuple[np.ndarray, np.ndarray]:
    """Ray parameter of the first hit (inf: none) and a shading factor per pixel."""
    ox, oy, oz = origin[0] - item.centre[0], origin[1] - item.centre[1], origin[2] - item.centre[2]
    dx, dy, dz = direction
    half_height = item.size[2] / 2
    if item.shape == CYLINDER:
        r = item.size[0] / 2
        a, b, c = dx * dx + dy * dy, 2 * (ox * dx + oy * dy), ox * ox + oy * oy - r * r
        disc = b * b - 4 * a * c
        side = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
        side_z = oz + side * dz
        side = np.where((disc >= 0) & (np.abs(side_z) <= half_height), side, np.inf)
        top = (half_height - oz) / dz
        top = np.where((top > 0) & ((ox + top * dx) ** 2 + (oy + top * dy) ** 2 <= r * r), top, np.inf)
        normal_light = ((ox + side * dx) * 0.6 + (oy + side * dy) * 0.8) / r
        shade = np.where(top < side, 1.0, 0.72 + 0.2 * np.nan_to_num(normal_light))
        return np.minimum(side, top), shade
    c, s = math.cos(item.yaw), math.sin(item.yaw)
    local_o = (c * ox + s * oy, -s * ox + c * oy, oz)
    local_d = (c * dx + s * dy, -s * dx + c * dy, dz)
    near = np.full(dx.shape, -np.inf)
    far = np.full(dx.shape, np.inf)
    face = np.zeros(dx.shape, np.int8)
    for axis in range(3):
        half = item.size[axis] / 2
        t1, t2 = (-half - local_o[axis]) / local_d[axis], (half - local_o[axis]) / local_d[axis]
        entry = np.minimum(t1, t2)
        face = np.where(entry > near, axis, face)
        near = np.maximum(near, entry)
        far = np.minimum(far, np.maximum(t1, t2))
    t = np.where((near <= far) & (near > 0), near, np.inf)
    return t, np.array([0.86, 0.7, 1.0])[face]


def frames_of(room: Room, views: list[CameraView], camera: str = "sim") -> tuple[list[Frame], list[np.ndarray]]:
    """Rendered keyframes (colour, depth in mm, intrinsics, pose in map) and their object-id images."""
    frames, id_images = [], []
    for number, view in enumerate(views, start=1):
        rgb, depth, ids = render(room, view)
        frames.append(
            Frame(
                camera=camera,
                stamp_ns=number * 1_000_000_000,
                frame_id=f"{camera}_optical_frame",
                rgb=rgb,
                depth=depth,
                depth_scale=0.001,
                intrinsics=view.intrinsics(),
                pose=Pose.from_matrix(view.pose, "map"),
            )
        )
        id_images.append(ids)
    return frames, id_images
