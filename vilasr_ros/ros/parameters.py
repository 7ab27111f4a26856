"""Declare the node's parameters from the config schema and read them back, validated.

The ``backend.*`` parameters are read-only at runtime (``READ_ONLY_PREFIXES``): which model
answers, where it runs and which environment variable holds its key are set at start (the
parameter file, the launch file, ``-p``) and cannot be changed over the ROS graph. To switch
the model or server, change the parameter file and restart the node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor, ParameterType, SetParametersResult
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from vilasr_ros.config import (
    CameraConfig,
    ConfigError,
    NodeConfig,
    camera_parameter_defaults,
    camera_parameter_descriptions,
    parameter_defaults,
    parameter_descriptions,
)

READ_ONLY_PREFIXES = ("backend.",)  # parameters that only the parameter file / command line may set


@dataclass(frozen=True)
class Settings:
    """The validated node configuration and the cameras it names."""

    node: NodeConfig
    cameras: tuple[CameraConfig, ...]


def declare_node_parameters(node: Node) -> Settings:
    """Declare every parameter (per-camera ones for each of ``cameras.names``) and return them validated.

    Raises :class:`ConfigError` naming the parameter when a value is invalid.
    """
    _declare(node, parameter_defaults(), parameter_descriptions())
    config = NodeConfig.from_parameters(_values(node, parameter_defaults()))
    for name in config.cameras.names:
        _declare(node, camera_parameter_defaults(name), camera_parameter_descriptions(name))
    return read_settings(node)


def read_settings(node: Node, changes: dict[str, Any] | None = None) -> Settings:
    """The node's current parameters (with ``changes`` applied) as validated :class:`Settings`."""
    values = {**_values(node, parameter_defaults()), **(changes or {})}
    static = {name: value for name, value in values.items() if name in parameter_defaults()}
    config = NodeConfig.from_parameters(static)
    cameras = []
    for name in config.cameras.names:
        names = camera_parameter_defaults(name)
        camera_values = {key: node.get_parameter(key).value for key in names if node.has_parameter(key)}
        camera_values.update({key: value for key, value in (changes or {}).items() if key in names})
        cameras.append(CameraConfig.from_parameters(name, camera_values))
    return Settings(config, tuple(cameras))


def validate_parameter_change(node: Node, changes: list[Parameter]) -> SetParametersResult:
    """Refuse a runtime change that would make the configuration invalid (add_on_set_parameters_callback)."""
    try:
        read_settings(node, {change.name: change.value for change in changes})
    except ConfigError as error:
        return SetParametersResult(successful=False, reason=str(error))
    return SetParametersResult(successful=True)


def _declare(node: Node, defaults: dict[str, Any], descriptions: dict[str, str]) -> None:
    for name, default in defaults.items():
        if node.has_parameter(name):
            continue
        descriptor = ParameterDescriptor(description=descriptions[name], read_only=name.startswith(READ_ONLY_PREFIXES))
        value = list(default) if isinstance(default, tuple) else default
        if isinstance(default, tuple):
            descriptor.type = ParameterType.PARAMETER_STRING_ARRAY
        try:
            node.declare_parameter(name, value, descriptor)
        except ParameterException as error:
            raise ConfigError(f"{name} must be of type {_type_name(default)}: {error}") from error


def _values(node: Node, defaults: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(node.get_parameter(name).value) for name in defaults}


def _plain(value: Any) -> Any:
    return list(value) if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__") else value


def _type_name(default: Any) -> str:
    return "list of strings" if isinstance(default, tuple) else type(default).__name__
