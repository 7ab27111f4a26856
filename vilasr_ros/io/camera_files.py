"""Camera data from files: depth images and ROS camera_calibration YAML."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import yaml

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.errors import DataError


def load_depth(path: str | Path) -> np.ndarray:
    """A depth image: 16-bit PNG (sensor units, usually millimetres) -> uint16; ``.npy`` float32 metres."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            depth = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read depth {path}: {error}") from error
        if depth.ndim != 2 or depth.dtype not in (np.float32, np.float64):
            raise DataError(f"depth {path} must be a 2-D float array in metres, got {depth.dtype} {depth.shape}")
        return depth.astype(np.float32, copy=False)
    depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if depth is None:
        raise DataError(f"cannot read depth image {path}")
    if depth.dtype != np.uint16 or depth.ndim != 2:
        raise DataError(f"depth image {path} must be a single-channel 16-bit PNG, got {depth.dtype} {depth.shape}")
    return depth


def load_camera_info(path: str | Path) -> CameraIntrinsics:
    """A ROS camera_calibration YAML (image_width, image_height, camera_matrix, distortion_*)."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise DataError(f"cannot read camera info {path}: {error}") from error
    try:
        matrix = document["camera_matrix"]
        k = np.array(matrix["data"] if isinstance(matrix, dict) else matrix, dtype=np.float64).reshape(3, 3)
        distortion = document.get("distortion_coefficients", {"data": []})
        d = distortion["data"] if isinstance(distortion, dict) else distortion
        return CameraIntrinsics(
            k=k,
            width=int(document["image_width"]),
            height=int(document["image_height"]),
            distortion=tuple(float(v) for v in d),
            distortion_model=document.get("distortion_model") or "plumb_bob",
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(
            f"camera info {path} is not a camera_calibration YAML "
            f"(image_width, image_height, camera_matrix, distortion_coefficients): {error}"
        ) from error
