"""Configuration: the parameter schema (:mod:`.schema`) and the parameter file (:mod:`.params_file`).

Every ROS parameter of the node is a dataclass field of the schema; the node,
the command line and the tests build and validate configuration through it.
"""

from vilasr_ros.config.schema import (
    BACKEND_KINDS,
    BackendConfig,
    Bounds,
    CameraConfig,
    CamerasConfig,
    ConfigError,
    EngineConfig,
    FramesConfig,
    GeometryConfig,
    KeyframeConfig,
    NodeConfig,
    PoseConfig,
    QueryConfig,
    camera_parameter_bounds,
    camera_parameter_defaults,
    camera_parameter_descriptions,
    camera_parameters_also_bool,
    parameter_bounds,
    parameter_defaults,
    parameter_descriptions,
)

__all__ = [
    "BACKEND_KINDS",
    "BackendConfig",
    "Bounds",
    "CameraConfig",
    "CamerasConfig",
    "ConfigError",
    "EngineConfig",
    "FramesConfig",
    "GeometryConfig",
    "KeyframeConfig",
    "NodeConfig",
    "PoseConfig",
    "QueryConfig",
    "camera_parameter_bounds",
    "camera_parameter_defaults",
    "camera_parameter_descriptions",
    "camera_parameters_also_bool",
    "parameter_bounds",
    "parameter_defaults",
    "parameter_descriptions",
]
