"""QoS that users can override per subscription with ROS parameters (rclpy's QoSOverridingOptions).

Every subscription of the node is created with ``**overridable(profile)``; its history, depth,
reliability and durability can then be set at start, e.g. in the parameter file::

    vilasr:
      ros__parameters:
        qos_overrides:
          /front/image_raw:
            subscription:
              reliability: reliable
              depth: 2

(the topic name is the resolved one, with its namespace). The overrides are read-only at runtime.
"""

from __future__ import annotations

import copy
from typing import Any

from rclpy.qos import QoSPolicyKind, QoSProfile
from rclpy.qos_overriding_options import QoSOverridingOptions

OVERRIDABLE_POLICIES = (
    QoSPolicyKind.HISTORY,
    QoSPolicyKind.DEPTH,
    QoSPolicyKind.RELIABILITY,
    QoSPolicyKind.DURABILITY,
)


def overridable(profile: QoSProfile) -> dict[str, Any]:
    """The keyword arguments of ``create_subscription`` for ``profile`` with overrides allowed:
    ``node.create_subscription(Image, topic, callback, **overridable(qos_profile_sensor_data), ...)``.

    rclpy applies overrides to the profile object in place, so this passes a copy (the shared
    ``qos_profile_sensor_data`` would otherwise change for every later subscription of the process).
    """
    return {"qos_profile": copy.copy(profile), "qos_overriding_options": overridable_qos()}


def overridable_qos() -> QoSOverridingOptions:
    """The ``qos_overriding_options`` of a subscription: its history, depth, reliability and durability
    can be overridden by ``qos_overrides.<topic>.subscription.<policy>`` parameters."""
    return QoSOverridingOptions(OVERRIDABLE_POLICIES)
