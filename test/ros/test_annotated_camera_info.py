"""The CameraInfo published with each annotated image: the source keyframe's calibration scaled to the
drawn image, so that the pair describes the same pixels (an RViz Camera display overlays it)."""

from __future__ import annotations

import numpy as np
import pytest
from std_msgs.msg import Header

from vilasr_ros.core.camera import CameraIntrinsics
from vilasr_ros.core.conversation import ResizeMapping
from vilasr_ros.ros.conversions import ns_to_stamp, scaled_camera_info

SOURCE = CameraIntrinsics(
    k=np.array([[525.0, 0.0, 319.5], [0.0, 520.0, 241.0], [0.0, 0.0, 1.0]]),
    width=640,
    height=480,
    distortion=(0.1, -0.05, 0.001, 0.002, 0.0),
)
# Not the same ratio in x and y (the model's resize rounds each side to its patch multiple).
MAPPING = ResizeMapping(source_width=640, source_height=480, width=448, height=308)
POINTS = np.array([[0.3, -0.2, 2.0], [-1.1, 0.4, 3.5], [0.0, 0.0, 1.0], [0.9, 0.7, 5.0]])


def _project(k: np.ndarray, point: np.ndarray) -> np.ndarray:
    homogeneous = k @ point
    return homogeneous[:2] / homogeneous[2]


def test_scaled_k_projects_a_point_to_the_resized_pixel_of_its_source_projection():
    header = Header(stamp=ns_to_stamp(1_700_000_000_123_456_789), frame_id="front_optical")
    info = scaled_camera_info(SOURCE, MAPPING, header)
    k = np.array(info.k).reshape(3, 3)
    p = np.array(info.p).reshape(3, 4)
    for point in POINTS:
        source_pixel = _project(SOURCE.k, point)
        resized_pixel = _project(k, point)
        # The mapping the model's coordinates go back through: model pixel -> source pixel.
        assert MAPPING.to_source(*resized_pixel) == pytest.approx(tuple(source_pixel), abs=1e-9)
        assert resized_pixel == pytest.approx(source_pixel * [448 / 640, 308 / 480], abs=1e-9)
        projected = p @ np.append(point, 1.0)
        assert projected[:2] / projected[2] == pytest.approx(resized_pixel, abs=1e-9)
    assert (info.width, info.height) == (448, 308)
    assert list(info.d) == list(SOURCE.distortion) and info.distortion_model == "plumb_bob"
    assert np.array(info.r).reshape(3, 3) == pytest.approx(np.eye(3))
    assert info.header == header


def test_without_calibration_the_camera_info_says_uncalibrated():
    info = scaled_camera_info(None, MAPPING, Header(frame_id="front_optical"))
    assert (info.width, info.height) == (448, 308)
    assert not any(info.k) and not any(info.p)  # K = 0: uncalibrated (sensor_msgs/CameraInfo)
