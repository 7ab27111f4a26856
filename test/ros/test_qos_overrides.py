"""Subscriptions created with overridable_qos() take their QoS from qos_overrides.* parameters."""

import pytest
import rclpy
from rclpy.qos import QoSDurabilityPolicy, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image

from vilasr_ros.ros.qos import overridable

pytestmark = pytest.mark.ros


def test_a_parameter_override_changes_the_subscription_qos():
    context = rclpy.context.Context()
    prefix = "qos_overrides./front/image_raw.subscription"
    rclpy.init(
        context=context,
        args=[
            "--ros-args",
            "-p",
            f"{prefix}.reliability:=reliable",
            "-p",
            f"{prefix}.depth:=2",
            "-p",
            f"{prefix}.durability:=transient_local",
        ],
    )
    node = rclpy.create_node("qos_override_test", context=context)
    try:
        overridden = node.create_subscription(
            Image, "/front/image_raw", lambda m: None, **overridable(qos_profile_sensor_data)
        )
        untouched = node.create_subscription(
            Image, "/other/image_raw", lambda m: None, **overridable(qos_profile_sensor_data)
        )
        assert overridden.qos_profile.reliability == QoSReliabilityPolicy.RELIABLE
        assert overridden.qos_profile.depth == 2
        assert overridden.qos_profile.durability == QoSDurabilityPolicy.TRANSIENT_LOCAL
        assert untouched.qos_profile.reliability == QoSReliabilityPolicy.BEST_EFFORT  # the code's default stays
        assert node.describe_parameter(f"{prefix}.depth").read_only
        assert qos_profile_sensor_data.reliability == QoSReliabilityPolicy.BEST_EFFORT  # rclpy's shared profile intact
    finally:
        node.destroy_node()
        rclpy.shutdown(context=context)
