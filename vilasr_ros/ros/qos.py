"""QoS that users can override per subscription with ROS parameters (rclpy's QoSOverridingOptions).

Every subscription of the node is created with :func:`overridable_qos`; its history, depth,
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

from rclpy.qos import QoSPolicyKind
from rclpy.qos_overriding_options import QoSOverridingOptions

OVERRIDABLE_POLICIES = (
    QoSPolicyKind.HISTORY,
    QoSPolicyKind.DEPTH,
    QoSPolicyKind.RELIABILITY,
    QoSPolicyKind.DURABILITY,
)


def overridable_qos() -> QoSOverridingOptions:
    """The ``qos_overriding_options`` of a subscription: its history, depth, reliability and durability
    can be overridden by ``qos_overrides.<topic>.subscription.<policy>`` parameters."""
    return QoSOverridingOptions(OVERRIDABLE_POLICIES)
