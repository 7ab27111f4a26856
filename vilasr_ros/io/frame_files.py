"""Image files with optional depth, calibration and poses, as frames (what ``vilasr-ros reason`` reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vilasr_ros.core.camera import Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import parse_pose
from vilasr_ros.io.camera_files import load_camera_info, load_depth
from vilasr_ros.io.images import ImageConversionError, load_rgb

CAMERA = "camera"
OPTICAL_FRAME = "camera_optical_frame"


@dataclass(frozen=True)
class FrameFiles:
    """Per image: its file, and optionally a depth file, a calibration file and a pose string ('none' skips one)."""

    images: Sequence[str]
    depths: Sequence[str] = ()  # one per image, or none
    camera_infos: Sequence[str] = ()  # one per image, one for all, or none
    poses: Sequence[str] = ()  # one per image, or none: 'x y z qx qy qz qw' in pose_frame
    pose_frame: str = "map"
    depth_scale: float = 0.001


def read_frames(files: FrameFiles) -> list[Frame]:
    """The images as frames in the given order (stamps 0, 1, 2, ... ns); :class:`DataError` naming a bad file."""
    count = len(files.images)
    depths = _per_image(files.depths, "--depth", count)
    infos = _per_image(files.camera_infos, "--camera-info", count, shared=True)
    poses = _per_image(files.poses, "--pose", count)
    loaded_infos = {path: load_camera_info(path) for path in set(infos) if path}
    frames = []
    for number, path in enumerate(files.images):
        try:  # as the reference reads images: Pillow, transparency composited on white
            rgb = load_rgb(path)
        except ImageConversionError as error:
            raise DataError(str(error)) from None
        frames.append(
            Frame(
                camera=CAMERA,
                stamp_ns=number,
                frame_id=OPTICAL_FRAME,
                rgb=rgb,
                depth=load_depth(depths[number]) if depths[number] else None,
                depth_scale=files.depth_scale,
                intrinsics=loaded_infos.get(infos[number]) if infos[number] else None,
                pose=parse_pose(poses[number], files.pose_frame) if poses[number] else None,
            )
        )
    return frames


def _per_image(values: Sequence[str], option: str, count: int, shared: bool = False) -> list[str | None]:
    if not values:
        return [None] * count
    if shared and len(values) == 1:
        return list(values) * count
    if len(values) != count:
        raise DataError(f"give {option} once per --image ({count}), got {len(values)}")
    return [None if value.lower() == "none" else value for value in values]
