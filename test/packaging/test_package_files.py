"""The ROS package's own files agree with each other and with the code."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from vilasr_ros.config import CameraConfig, NodeConfig, camera_parameter_defaults, parameter_defaults

REPO_ROOT = Path(__file__).resolve().parents[2]


def flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def test_config_file_lists_every_parameter_with_its_default_and_type():
    document = yaml.safe_load((REPO_ROOT / "config" / "vilasr.yaml").read_text())
    values = flatten(document["/**"]["ros__parameters"])
    defaults = {**parameter_defaults(), **camera_parameter_defaults("camera")}
    assert sorted(values) == sorted(defaults)
    for name, default in defaults.items():
        expected = list(default) if isinstance(default, tuple) else default
        assert values[name] == expected, name
        assert type(values[name]) is type(expected), f"{name}: ROS would reject {values[name]!r} for a {type(default)}"
    static = {name: value for name, value in values.items() if name in parameter_defaults()}
    config = NodeConfig.from_parameters(static)
    assert [CameraConfig.from_parameters(name, values).name for name in config.cameras.names] == ["camera"]


def test_config_file_and_readme_table_are_rendered_from_the_schema():
    check = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "render_parameters.py")], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    readme = (REPO_ROOT / "README.md").read_text()
    for name in parameter_defaults():
        assert f"| `{name}` |" in readme, name
    assert "| `cameras.<name>.image_topic` |" in readme


def test_package_xml_is_format_3_ament_cmake_with_run_dependencies():
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("name") == "vilasr_ros"
    assert root.find("export/build_type").text == "ament_cmake"
    buildtool = {e.text for e in root.findall("buildtool_depend")}
    assert {"ament_cmake", "ament_cmake_python", "rosidl_default_generators"} <= buildtool
    run = {e.text for e in root.findall("exec_depend")} | {e.text for e in root.findall("depend")}
    assert {"rclpy", "rosidl_default_runtime", "sensor_msgs", "geometry_msgs", "visualization_msgs"} <= run
    assert root.find("member_of_group").text == "rosidl_interface_packages"


def test_package_xml_is_valid_for_catkin_pkg():
    from catkin_pkg.package import parse_package

    package = parse_package(str(REPO_ROOT / "package.xml"))
    package.validate()
    assert package.version == __import__("vilasr_ros").__version__


def interface_sections(path):
    """The field lines of each '---'-separated section, comments and blanks dropped."""
    sections = [[]]
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line == "---":
            sections.append([])
        elif line:
            sections[-1].append(" ".join(line.split()))
    return sections


def test_action_goal_and_result_match_the_service():
    request, response = interface_sections(REPO_ROOT / "srv" / "SpatialQuery.srv")
    goal, result, feedback = interface_sections(REPO_ROOT / "action" / "SpatialQuery.action")
    assert goal == request
    assert result == response
    assert any(line.startswith("uint32 turn") for line in feedback)


def test_cmake_lists_every_interface_file():
    cmake = (REPO_ROOT / "CMakeLists.txt").read_text()
    files = sorted(
        p.relative_to(REPO_ROOT).as_posix() for d in ("msg", "srv", "action") for p in (REPO_ROOT / d).iterdir()
    )
    assert files == sorted(re.findall(r'"((?:msg|srv|action)/\w+\.\w+)"', cmake))


def test_launch_file_declares_the_documented_arguments():
    import ast

    tree = ast.parse((REPO_ROOT / "launch" / "vilasr.launch.py").read_text())
    declared = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "DeclareLaunchArgument"
    }
    assert declared == {
        "params_file",
        "namespace",
        "model",
        "use_sim_time",
        "rviz",
        "log_level",
        "autostart",
        "camera",
        "image_topic",
        "camera_info_topic",
        "depth_topic",
        "large_data",
    }
    assert 'executable="vilasr_node"' in (REPO_ROOT / "launch" / "vilasr.launch.py").read_text()


def test_rviz_config_shows_the_nodes_topics():
    document = yaml.safe_load((REPO_ROOT / "rviz" / "vilasr.rviz").read_text())
    topics = {d["Topic"]["Value"] for d in document["Visualization Manager"]["Displays"] if "Topic" in d}
    assert topics == {"/vilasr/markers", "/vilasr/annotated_image"}
