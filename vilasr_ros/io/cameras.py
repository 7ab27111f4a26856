"""A configured camera (its topics and calibration parameters) as the pairing settings of its frames."""

from __future__ import annotations

from vilasr_ros.config import CameraConfig
from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.pairing import PairingSettings


def pairing_settings(camera: CameraConfig, depth_tolerance: float, base_frame: str) -> PairingSettings:
    """How ``camera``'s colour, depth and camera_info messages pair up (live in the node, or from a bag)."""
    extrinsic = camera.extrinsic_values()
    return PairingSettings(
        camera=camera.name,
        frame_id=camera.frame_id,
        depth_scale=camera.depth_scale,
        expects_depth=bool(camera.depth_topic),
        expects_camera_info=bool(camera.camera_info_topic),
        depth_tolerance=depth_tolerance,
        extrinsic=Pose(extrinsic[0], extrinsic[1], base_frame) if extrinsic else None,
        depth_registered=camera.depth_registered,
    )
