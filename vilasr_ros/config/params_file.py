"""The node's ROS 2 parameter file (``/**: ros__parameters: ...``), read and written in one place.

The node, ``vilasr-ros ingest``, the demo and the tests use the same file
format: nested YAML mappings under a ``ros__parameters`` block for ``/**``,
``*`` or the node's name (in any namespace); nested keys join with ``.`` into
the parameter names of :mod:`vilasr_ros.config.schema`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vilasr_ros.config.schema import (
    CameraConfig,
    ConfigError,
    NodeConfig,
    camera_parameter_defaults,
    parameter_defaults,
)

NODE_NAME = "vilasr"  # the node's name, for node-specific parameter blocks
ROS_OWN_PARAMETERS = ("use_sim_time", "start_type_description_service")


class ParamsFileError(ValueError):
    """The parameter file cannot be read or holds no parameters for the node; the message says which."""


@dataclass(frozen=True)
class ParamsFile:
    """A parameter file's configuration: the node's, its cameras', and the names it set that nothing reads."""

    path: Path
    config: NodeConfig
    cameras: tuple[CameraConfig, ...]
    unknown: tuple[str, ...]


def read_params_file(path: str | Path) -> ParamsFile:
    """The node configuration and its cameras from a parameter file; parameters it leaves out take defaults.

    Blocks for ``/**``, ``*`` and the node's name apply, in file order.
    Raises :class:`ParamsFileError` when the file cannot be read or has no
    block for the node, :class:`ConfigError` (naming the file and parameter)
    for an invalid value. Unknown parameters are returned, not refused, as the
    node ignores them.
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsFileError(f"params file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParamsFileError(f"cannot read params file {path}: {error}") from error
    blocks = list(_parameter_blocks(document))
    if not blocks:
        raise ParamsFileError(
            f"params file {path} has no parameters for the node (expected '/**: ros__parameters: ...')"
        )
    values: dict[str, Any] = {}
    for block in blocks:
        if not isinstance(block, dict):
            raise ParamsFileError(f"params file {path}: ros__parameters must be a mapping, got {block!r}")
        values.update(flatten(block))
    static = parameter_defaults()
    try:
        config = NodeConfig.from_parameters({name: value for name, value in values.items() if name in static})
        cameras = tuple(CameraConfig.from_parameters(name, values) for name in config.cameras.names)
    except ConfigError as error:
        raise ConfigError(f"invalid parameter in {path}: {error}") from None
    known = set(static).union(*(camera_parameter_defaults(name) for name in config.cameras.names))
    unknown = tuple(
        sorted(
            name
            for name in values
            if name not in known and name not in ROS_OWN_PARAMETERS and not name.startswith("qos_overrides.")
        )
    )
    return ParamsFile(path, config, cameras, unknown)


def write_params_file(path: str | Path, parameters: Mapping[str, Any]) -> Path:
    """Write ``parameters`` (nested mappings or flat ``group.name`` keys) as a parameter file for every node."""
    path = Path(path)
    path.write_text(yaml.safe_dump({"/**": {"ros__parameters": nest(parameters)}}, sort_keys=False))
    return path


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> flat ``group.name`` keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat ``group.name`` keys (or already nested mappings) -> nested mappings, in key order."""
    tree: dict[str, Any] = {}
    for name, value in flatten(values).items():
        *groups, leaf = name.split(".")
        node = tree
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = list(value) if isinstance(value, tuple) else value
    return tree


def _parameter_blocks(document: Any) -> Iterator[Any]:
    """The ros__parameters blocks that apply to the node: under /**, *, or its name (any namespace)."""
    if not isinstance(document, dict):
        return
    for key, value in document.items():
        if not isinstance(value, dict):
            continue
        if "ros__parameters" in value and str(key).strip("/").split("/")[-1] in ("**", "*", NODE_NAME):
            yield value["ros__parameters"]
        else:
            yield from _parameter_blocks(value)
