"""launch/vilasr.launch.py, run against recording stand-ins for launch and launch_ros.

`launch` and `launch_ros` are not on PyPI, so the launch file runs here with small
stand-ins that record what it builds: its arguments, and the node action its
OpaqueFunction returns for given argument values (parameters, ROS arguments).
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest

from vilasr_ros.config import camera_parameter_defaults, parameter_defaults

REPO_ROOT = Path(__file__).resolve().parents[2]
LAUNCH_FILE = REPO_ROOT / "launch" / "vilasr.launch.py"
SHARE = "/opt/share/vilasr_ros"

DOCUMENTED = {
    "params_file",
    "namespace",
    "model",
    "use_sim_time",
    "log_level",
    "autostart",
    "camera",
    "image_topic",
    "camera_info_topic",
    "depth_topic",
    "rviz",
    "large_data",
}


class Recorded:
    """Stands in for a launch action or condition: keeps its arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class LaunchConfiguration:
    def __init__(self, name: str):
        self.name = name

    def perform(self, context: dict[str, str]) -> str:
        return context[self.name]


class LifecycleNode(Recorded):
    pass


class Node(Recorded):
    pass


def stand_in_modules() -> dict[str, types.ModuleType]:
    def module(name: str, **attributes) -> types.ModuleType:
        created = types.ModuleType(name)
        created.__dict__.update(attributes)
        return created

    return {
        "launch": module("launch", LaunchDescription=Recorded),
        "launch.actions": module(
            "launch.actions", DeclareLaunchArgument=Recorded, OpaqueFunction=Recorded, SetEnvironmentVariable=Recorded
        ),
        "launch.conditions": module("launch.conditions", IfCondition=Recorded),
        "launch.substitutions": module("launch.substitutions", LaunchConfiguration=LaunchConfiguration),
        "launch_ros": module("launch_ros"),
        "launch_ros.actions": module("launch_ros.actions", LifecycleNode=LifecycleNode, Node=Node),
        "ament_index_python": module("ament_index_python"),
        "ament_index_python.packages": module(
            "ament_index_python.packages", get_package_share_directory=lambda package: SHARE
        ),
    }


@pytest.fixture
def description(monkeypatch):
    """(declared arguments by name, the description's other entities)."""
    for name, module in stand_in_modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("vilasr_launch", LAUNCH_FILE)
    launch_file = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launch_file)
    (entities,) = launch_file.generate_launch_description().args
    arguments = {e.args[0]: e.kwargs for e in entities if e.args and isinstance(e.args[0], str)}
    return arguments, [e for e in entities if not (e.args and isinstance(e.args[0], str))]


def node_for(description, **values: str) -> LifecycleNode:
    """The node action the launch file starts for these argument values (others: defaults)."""
    arguments, others = description
    context = {name: spec["default_value"] for name, spec in arguments.items()}
    unknown = set(values) - set(context)
    assert not unknown, unknown
    for name, value in values.items():  # as launch's DeclareLaunchArgument refuses a value not among its choices
        choices = arguments[name].get("choices")
        if choices is not None and value not in choices:
            raise RuntimeError(f"argument {name!r}: {value!r} is not one of {choices}")
    context.update(values)
    (opaque,) = [e for e in others if "function" in e.kwargs and e.kwargs["function"].__name__ == "_node"]
    (node,) = opaque.kwargs["function"](context)
    return node, context


def test_arguments_are_declared_documented_and_defaulted(description):
    arguments, _ = description
    assert set(arguments) == DOCUMENTED
    usage = LAUNCH_FILE.read_text().split('"""')[1]
    assert {name for name in re.findall(r"\[(\w+):=", usage)} == DOCUMENTED
    assert arguments["params_file"]["default_value"] == f"{SHARE}/config/vilasr.yaml"
    assert arguments["log_level"]["default_value"] == "info"
    levels = ["debug", "info", "warn", "error", "fatal"]
    assert arguments["log_level"]["choices"] == levels + [level.upper() for level in levels]
    assert arguments["autostart"]["default_value"] == "true"
    assert arguments["camera"]["default_value"] == "camera"
    for name in ("image_topic", "camera_info_topic", "depth_topic", "model"):
        assert arguments[name]["default_value"] == ""
    assert all(spec.get("description") for spec in arguments.values())


def test_defaults_start_a_lifecycle_node_with_the_params_file_and_nothing_overridden(description):
    node, context = node_for(description)
    assert isinstance(node, LifecycleNode)
    assert (node.kwargs["package"], node.kwargs["executable"], node.kwargs["name"]) == (
        "vilasr_ros",
        "vilasr_node",
        "vilasr",
    )
    params_file, overrides = node.kwargs["parameters"]
    assert params_file.perform(context) == f"{SHARE}/config/vilasr.yaml"
    assert overrides == {"use_sim_time": False, "autostart": True}
    assert [a if isinstance(a, str) else a.perform(context) for a in node.kwargs["ros_arguments"]] == [
        "--log-level",
        "info",
    ]
    assert node.kwargs["namespace"].perform(context) == ""


def test_arguments_become_parameters_and_the_log_level(description):
    node, context = node_for(
        description,
        camera="front",
        image_topic="/front/color/image_raw",
        depth_topic="/front/depth/image_rect_raw",
        log_level="debug",
        autostart="false",
        use_sim_time="true",
        model="/models/vilasr",
    )
    _, overrides = node.kwargs["parameters"]
    assert overrides == {
        "use_sim_time": True,
        "autostart": False,
        "backend.model": "/models/vilasr",
        "cameras.front.image_topic": "/front/color/image_raw",
        "cameras.front.depth_topic": "/front/depth/image_rect_raw",
    }
    assert [a if isinstance(a, str) else a.perform(context) for a in node.kwargs["ros_arguments"]] == [
        "--log-level",
        "debug",
    ]


@pytest.mark.parametrize("level", ["debug", "WARN", "ERROR", "fatal", "INFO"])
def test_the_log_level_is_taken_in_either_case_as_ros_takes_it(description, level):
    node, context = node_for(description, log_level=level)
    assert [a if isinstance(a, str) else a.perform(context) for a in node.kwargs["ros_arguments"]] == [
        "--log-level",
        level,
    ]


def test_an_unknown_log_level_is_refused(description):
    with pytest.raises(RuntimeError, match="'verbose' is not one of"):
        node_for(description, log_level="verbose")


def test_overridden_names_are_node_parameters(description):
    node, _ = node_for(description, camera="cam", image_topic="/a", camera_info_topic="/b", depth_topic="/c", model="m")
    _, overrides = node.kwargs["parameters"]
    known = {**parameter_defaults(), **camera_parameter_defaults("cam"), "use_sim_time": False}
    assert set(overrides) <= set(known)
    assert {name for name in overrides if name.startswith("cameras.")} == {
        "cameras.cam.image_topic",
        "cameras.cam.camera_info_topic",
        "cameras.cam.depth_topic",
    }


@pytest.mark.parametrize(
    "values, message",
    [
        ({"autostart": "yes"}, "autostart must be true or false"),
        ({"use_sim_time": "1"}, "use_sim_time must be true or false"),
        ({"camera": "", "image_topic": "/x"}, "image_topic:=/x needs camera:=NAME"),
    ],
)
def test_bad_values_are_refused_with_the_argument_named(description, values, message):
    with pytest.raises(RuntimeError, match=re.escape(message)):
        node_for(description, **values)


def test_rviz_is_optional_and_conditional(description):
    _, others = description
    (rviz,) = [e for e in others if isinstance(e, Node)]
    assert rviz.kwargs["package"] == "rviz2"
    assert rviz.kwargs["condition"].args[0].name == "rviz"
    assert rviz.kwargs["arguments"] == ["-d", f"{SHARE}/rviz/vilasr.rviz"]


def test_large_data_sets_the_shipped_fast_dds_profile_unless_the_environment_chose(description, monkeypatch):
    _, others = description
    (opaque,) = [e for e in others if "function" in e.kwargs and e.kwargs["function"].__name__ == "_large_data"]
    for name in (
        "FASTDDS_DEFAULT_PROFILES_FILE",
        "FASTRTPS_DEFAULT_PROFILES_FILE",
        "FASTDDS_BUILTIN_TRANSPORTS",
        "RMW_FASTRTPS_USE_QOS_FROM_XML",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ROS_DISTRO", "kilted")
    (action,) = opaque.kwargs["function"]({"large_data": "true"})
    assert action.args == ("FASTDDS_DEFAULT_PROFILES_FILE", f"{SHARE}/config/fastdds_large_data.xml")
    assert opaque.kwargs["function"]({"large_data": "false"}) == []
    monkeypatch.setenv("FASTDDS_BUILTIN_TRANSPORTS", "LARGE_DATA")
    assert opaque.kwargs["function"]({"large_data": "true"}) == []
