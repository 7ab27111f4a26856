"""The node's outputs as late joiners and RViz see them: the latest estimates and markers are kept
(transient local, depth 1) for a subscriber created after the query, and each annotated image comes
with a CameraInfo of the same header that describes its pixels."""

from __future__ import annotations

import time

import pytest
from node_harness import FX, HEIGHT, WAIT, WIDTH, Camera, wait_until_active
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from vilasr_ros.msg import SpatialEstimateArray
from vilasr_ros.ros.client import build_request, call_query

pytestmark = pytest.mark.ros

LATE_JOINER = QoSProfile(
    depth=1, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL
)


def _spin_until(node, done, seconds: float = WAIT) -> None:
    executor = SingleThreadedExecutor(context=node.context)
    executor.add_node(node)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not done():
        executor.spin_once(timeout_sec=0.1)
    executor.remove_node(node)


def test_late_subscriber_gets_the_last_estimates_and_markers_and_images_come_with_camera_info(
    ros_node, running_node, namespace
):
    _, node_name = running_node
    wait_until_active(ros_node, node_name)
    images: list[Image] = []
    infos: list[CameraInfo] = []
    ros_node.create_subscription(Image, f"{node_name}/annotated_image", images.append, 10)
    ros_node.create_subscription(CameraInfo, f"{node_name}/annotated_image/camera_info", infos.append, 10)
    Camera(ros_node, namespace).publish(30)

    response = call_query(ros_node, f"{node_name}/query", build_request("How far is the crate?", max_keyframes=4), WAIT)
    assert response.success is True, response.error

    # Subscribed only now, after the query has been answered and published.
    late: dict[str, list] = {"estimates": [], "markers": []}
    ros_node.create_subscription(SpatialEstimateArray, f"{node_name}/estimates", late["estimates"].append, LATE_JOINER)
    ros_node.create_subscription(MarkerArray, f"{node_name}/markers", late["markers"].append, LATE_JOINER)
    _spin_until(ros_node, lambda: late["estimates"] and late["markers"] and len(images) >= 2 and len(infos) >= 2)

    assert [array.query_id for array in late["estimates"]] == [response.query_id]
    assert {e.label for e in late["estimates"][0].estimates} == {e.label for e in response.estimates.estimates}
    assert len(late["markers"]) == 1
    # No pose source in this node: no estimate is valid in 3D, so the markers are the DELETEALL alone.
    assert [m.action for m in late["markers"][0].markers] == [late["markers"][0].markers[0].DELETEALL]

    assert len(images) == 2 and len(infos) == 2
    for image, info in zip(images, infos, strict=True):
        assert info.header == image.header and info.header.frame_id == "front_optical"
        assert (info.width, info.height) == (image.width, image.height)
        # The camera's K (fx = FX, centre at the middle) scaled from WIDTH x HEIGHT to the drawn image.
        sx, sy = image.width / WIDTH, image.height / HEIGHT
        assert info.k[0] == pytest.approx(FX * sx) and info.k[4] == pytest.approx(FX * sy)
        assert info.k[2] == pytest.approx(WIDTH / 2 * sx) and info.k[5] == pytest.approx(HEIGHT / 2 * sy)
        assert list(info.p[:3]) == pytest.approx(list(info.k[:3]))
