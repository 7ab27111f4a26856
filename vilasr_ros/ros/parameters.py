"""Declare the node's parameters from the config schema and read them back, validated.

Descriptors come from the schema: the description, ``read_only`` for ``backend.*``, and a range
(``IntegerRange`` / ``FloatingPointRange``) for every field with :class:`~vilasr_ros.config.Bounds`.

The ``backend.*`` parameters are read-only at runtime (``READ_ONLY_PREFIXES``): which model
answers, where it runs and which environment variable holds its key are set at start (the
parameter file, the launch file, ``-p``) and cannot be changed over the ROS graph. To switch
the model or server, change the parameter file and restart the node.

Runtime changes (``ros2 param set``) are validated as a whole and then, while the node is configured:
applied when ``RUNTIME_PREFIXES`` covers them (``keyframes.*``: the store judges frames by the new
thresholds and keeps its keyframes; ``query.*`` and ``geometry.*``: used by the next query;
``query.queue_size`` up to its value at start, which sized the executor), refused with the reason
otherwise. While unconfigured every valid change (the queue size within that limit) is accepted:
``configure`` reads them all.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    ParameterType,
    SetParametersResult,
)
from rclpy.exceptions import InvalidParameterValueException, ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from vilasr_ros.config import (
    Bounds,
    CameraConfig,
    ConfigError,
    NodeConfig,
    camera_parameter_bounds,
    camera_parameter_defaults,
    camera_parameter_descriptions,
    camera_parameters_also_bool,
    parameter_bounds,
    parameter_defaults,
    parameter_descriptions,
)

READ_ONLY_PREFIXES = ("backend.",)  # parameters that only the parameter file / command line may set
RUNTIME_PREFIXES = ("keyframes.", "query.", "geometry.")  # applied while configured
INT64_MAX = 2**63 - 1
# Why a parameter outside RUNTIME_PREFIXES cannot change while the node is configured, by prefix.
FIXED_WHILE_CONFIGURED = {
    "engine.": "the reasoning engine is built at configure",
    "frames.": "the pose source and the estimates' frames are set up at configure and activate",
    "pose.": "the pose source is created at activate",
    "cameras.": "the camera subscriptions are created at activate",
    "autostart": "it is used at start only",
}


@dataclass(frozen=True)
class Settings:
    """The validated node configuration and the cameras it names."""

    node: NodeConfig
    cameras: tuple[CameraConfig, ...]


def declare_node_parameters(node: Node) -> Settings:
    """Declare every parameter (per-camera ones for each of ``cameras.names``) and return them validated.

    Raises :class:`ConfigError` naming the parameter when a value is invalid.
    """
    _declare(node, parameter_defaults(), parameter_descriptions(), parameter_bounds())
    config = NodeConfig.from_parameters(_values(node, parameter_defaults()))
    for name in config.cameras.names:
        _declare(
            node,
            camera_parameter_defaults(name),
            camera_parameter_descriptions(name),
            camera_parameter_bounds(name),
            camera_parameters_also_bool(name),
        )
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


def review_parameter_change(
    node: Node, changes: list[Parameter], current: Settings | None, queue_limit: int
) -> tuple[SetParametersResult, Settings | None]:
    """Judge a runtime change (add_on_set_parameters_callback): refused with the reason when it makes the
    configuration invalid, when it raises ``query.queue_size`` above ``queue_limit`` (the executor was sized
    for it) or, while configured (``current`` given), when it touches a parameter outside
    ``RUNTIME_PREFIXES``. Returns the result and, when
    accepted while configured, the new settings to apply."""
    values = {change.name: _plain(change.value) for change in changes}
    try:
        settings = read_settings(node, values)
    except ConfigError as error:
        return SetParametersResult(successful=False, reason=str(error)), None
    if settings.node.query.queue_size > queue_limit:
        return SetParametersResult(
            successful=False,
            reason=f"query.queue_size can be at most {queue_limit} at runtime (the executor's threads were sized "
            "for it at start); restart the node with a larger value",
        ), None
    if current is None:
        return SetParametersResult(successful=True), None
    known = set(parameter_defaults())
    for camera in current.node.cameras.names:
        known.update(camera_parameter_defaults(camera))
    for name, value in values.items():
        if name not in known or name.startswith(RUNTIME_PREFIXES):
            continue  # not ours (use_sim_time, qos_overrides.*: rclpy's) or applied below
        if value == _plain(node.get_parameter(name).value):
            continue
        why = next((why for prefix, why in FIXED_WHILE_CONFIGURED.items() if name.startswith(prefix)), "")
        return SetParametersResult(
            successful=False,
            reason=f"{name} cannot change while the node is configured ({why}): set it in the parameter file, "
            "or cleanup, set it and configure again",
        ), None
    return SetParametersResult(successful=True), settings


def _declare(
    node: Node,
    defaults: dict[str, Any],
    descriptions: dict[str, str],
    bounds: dict[str, Bounds],
    also_bool: Collection[str] = (),
) -> None:
    for name, default in defaults.items():
        if node.has_parameter(name):
            continue
        descriptor = ParameterDescriptor(
            description=descriptions[name],
            read_only=name.startswith(READ_ONLY_PREFIXES),
            dynamic_typing=name in also_bool,  # a string choice that also takes true/false
        )
        value = list(default) if isinstance(default, tuple) else default
        if isinstance(default, tuple):
            descriptor.type = ParameterType.PARAMETER_STRING_ARRAY
        if name in bounds:
            _add_range(descriptor, bounds[name], default)
        try:
            node.declare_parameter(name, value, descriptor)
        except InvalidParameterValueException as error:
            raise ConfigError(f"{name} must be {bounds[name].describe(isinstance(default, float))}: {error}") from error
        except ParameterException as error:
            raise ConfigError(f"{name} must be of type {_type_name(default)}: {error}") from error


def _add_range(descriptor: ParameterDescriptor, bounds: Bounds, default: Any) -> None:
    """The schema's bounds as the descriptor's range (inclusive; an open end: the type's extreme)."""
    if isinstance(default, float):
        low = -math.inf if bounds.minimum is None else float(bounds.minimum)
        high = math.inf if bounds.maximum is None else float(bounds.maximum)
        descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    else:
        low = -INT64_MAX - 1 if bounds.minimum is None else int(bounds.minimum)
        high = INT64_MAX if bounds.maximum is None else int(bounds.maximum)
        descriptor.integer_range = [IntegerRange(from_value=low, to_value=high, step=1)]


def _values(node: Node, defaults: dict[str, Any]) -> dict[str, Any]:
    return {name: _plain(node.get_parameter(name).value) for name in defaults}


def _plain(value: Any) -> Any:
    return list(value) if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__") else value


def _type_name(default: Any) -> str:
    return "list of strings" if isinstance(default, tuple) else type(default).__name__
