"""Declare the node's parameters from the config schema and read them back."""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from vilasr_ros.config import ConfigError, NodeConfig, parameter_defaults, parameter_descriptions


def declare_node_parameters(node: Node) -> NodeConfig:
    """Declare every parameter of :class:`NodeConfig` on ``node`` and return the validated config.

    Raises :class:`ConfigError` naming the parameter when a value is invalid.
    """
    descriptions = parameter_descriptions()
    for name, default in parameter_defaults().items():
        try:
            node.declare_parameter(name, default, ParameterDescriptor(description=descriptions[name]))
        except ParameterException as error:
            raise ConfigError(f"{name} must be of type {type(default).__name__}: {error}") from error
    return NodeConfig.from_parameters(current_values(node))


def current_values(node: Node) -> dict[str, Any]:
    """The node's current values of the config parameters."""
    return {name: node.get_parameter(name).value for name in parameter_defaults()}


def validate_parameter_change(node: Node, changes: list[Parameter]) -> SetParametersResult:
    """Reject a runtime change that would make the config invalid (use with add_on_set_parameters_callback)."""
    values = current_values(node)
    for change in changes:
        if change.name in values:
            values[change.name] = change.value
    try:
        NodeConfig.from_parameters(values)
    except ConfigError as error:
        return SetParametersResult(successful=False, reason=str(error))
    return SetParametersResult(successful=True)
