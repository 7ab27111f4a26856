"""Synthetic camera data for the benchmarks: a textured indoor panorama seen by a panning, moving RGB-D camera.

Frames look like a camera's (structure at many scales, soft edges, sensor
noise), so sharpness, thumbnails and novelty behave as they do on real video;
random noise would not (it is all high frequency). Depth is 16UC1 millimetres
with a few holes, registered to the colour image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

WIDTH, HEIGHT = 1280, 720
FOCAL = 640.0  # 90 degree horizontal field of view
PAN_PX_PER_FRAME = 6  # ~0.5 degree per frame: a robot turning 16 deg/s, filmed at 30 Hz
FORWARD_M_PER_FRAME = 0.5 / 30  # driving at 0.5 m/s, filmed at 30 Hz


class Panorama:
    """A wide room texture (colour and depth) for ``frames`` views; :meth:`frame` crops the view of frame ``n``
    (later frames wrap around to the start)."""

    def __init__(self, frames: int, seed: int = 0, pan_px: int = PAN_PX_PER_FRAME) -> None:
        self.pan_px = pan_px
        width = WIDTH + pan_px * frames + 64
        rng = np.random.default_rng(seed)
        rgb = np.zeros((HEIGHT, width, 3), np.uint8)
        depth = np.zeros((HEIGHT, width), np.float32)
        horizon = int(HEIGHT * 0.58)
        columns = np.arange(width, dtype=np.float32)
        # Wall: a colour gradient with wallpaper stripes, 3-5 m away.
        wall_depth = 4.0 + 0.8 * np.sin(columns / 900.0)
        base = np.stack(
            [
                175 + 30 * np.sin(columns / 700.0),
                168 + 25 * np.sin(columns / 530.0 + 1),
                150 + 20 * np.cos(columns / 610.0),
            ],
            axis=-1,
        )
        stripes = 12.0 * (np.floor(columns / 23.0) % 2)[:, None]
        rgb[:horizon] = np.clip(base - stripes, 0, 255).astype(np.uint8)[None, :, :]
        depth[:horizon] = wall_depth[None, :]
        # Floor: checkered tiles in perspective, nearer towards the bottom.
        rows = np.arange(horizon, HEIGHT, dtype=np.float32)
        floor_depth = 0.6 * FOCAL / np.maximum(rows - horizon + 8.0, 1.0)
        u = (columns[None, :] - width / 2) * floor_depth[:, None] / FOCAL
        checker = ((np.floor(u * 2.5) + np.floor(floor_depth[:, None] * 2.5)) % 2).astype(np.float32)
        floor = np.stack([120 + 45 * checker, 105 + 40 * checker, 90 + 35 * checker], axis=-1)
        rgb[horizon:] = floor.astype(np.uint8)
        depth[horizon:] = np.minimum(floor_depth[:, None], wall_depth[None, :])
        # Furniture, doors and pictures: shaded boxes of distinct colours at 1.2-3.5 m.
        x = 0
        while x < width:
            w, h = int(rng.integers(90, 420)), int(rng.integers(120, 520))
            top = int(np.clip(horizon + rng.integers(-40, 120) - h, 10, HEIGHT - 40))
            bottom = min(HEIGHT - 5, top + h)
            colour = rng.integers(30, 230, 3).astype(np.float32)
            shade = np.linspace(0.7, 1.1, bottom - top, dtype=np.float32)[:, None, None]
            patch = np.clip(colour[None, None, :] * shade, 0, 255)
            patch = np.broadcast_to(patch, (bottom - top, min(w, width - x), 3))
            rgb[top:bottom, x : x + w] = patch.astype(np.uint8)
            depth[top:bottom, x : x + w] = float(rng.uniform(1.2, 3.5))
            cv2.rectangle(rgb, (x, top), (x + w - 1, bottom - 1), (25, 25, 25), 3)
            if rng.random() < 0.5:  # a handle, a drawer line or a picture frame inside
                cx, cy = x + w // 2, top + h // 3
                cv2.circle(rgb, (cx, cy), 9, (230, 220, 40), -1)
                cv2.line(rgb, (x + 10, top + h // 2), (x + w - 10, top + h // 2), (40, 30, 20), 2)
            x += w + int(rng.integers(40, 300))
        # A camera: optics soften edges a little, the sensor adds noise.
        rgb = cv2.GaussianBlur(rgb, (0, 0), 0.8)
        noise = rng.normal(0.0, 2.5, rgb.shape).astype(np.float32)
        self.rgb = np.clip(rgb.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        millimetres = np.round(depth * 1000.0).astype(np.uint16)
        holes = rng.random(millimetres.shape) < 0.02  # no reading on ~2 % of the pixels
        millimetres[holes] = 0
        self.depth = millimetres

    def frame(self, number: int) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous copies of frame ``number``'s colour (HxWx3 RGB) and depth (HxW uint16 mm), as a driver delivers them."""
        left = (number * self.pan_px) % (self.rgb.shape[1] - WIDTH + 1)  # wraps around after the last view
        return (
            np.ascontiguousarray(self.rgb[:, left : left + WIDTH]),
            np.ascontiguousarray(self.depth[:, left : left + WIDTH]),
        )

    def base_pose(self, number: int) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
        """The robot base's position and orientation (x, y, z, w) in ``odom`` at frame ``number``
        (x forward, z up): driving forward while turning right, as the view pans."""
        yaw = -number * self.pan_px / FOCAL
        position = (number * FORWARD_M_PER_FRAME, 0.0, 0.0)
        return position, (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))


# The optical frame (z forward, x right, y down) in the base frame (x forward, y left, z up), 0.6 m up.
EXTRINSIC = "0 0 0.6 -0.5 0.5 -0.5 0.5"


def camera_matrix() -> list[float]:
    """The row-major 3x3 K of the benchmark camera."""
    return [FOCAL, 0.0, WIDTH / 2, 0.0, FOCAL, HEIGHT / 2, 0.0, 0.0, 1.0]
