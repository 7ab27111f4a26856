"""The layers stay visible: nothing imports upwards, and only the ROS glue imports ROS.

Layers, top to bottom: ``ros`` (the glue) and ``cli``; ``evaluation``; ``query``;
``keyframes``, ``reasoning``, ``geometry`` (siblings), ``io`` (input adapters)
and ``sim`` (the shared synthetic world and model); ``config`` (the schema);
``core`` (the floor). Every import in the package, lazy ones inside functions
included, is checked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vilasr_ros"
GENERATED = {"msg", "srv", "action"}  # the rosidl-generated interfaces
ROS_MODULES = {
    "rclpy",
    "rcl_interfaces",
    "builtin_interfaces",
    "std_msgs",
    "sensor_msgs",
    "geometry_msgs",
    "nav_msgs",
    "visualization_msgs",
    "diagnostic_msgs",
    "lifecycle_msgs",
    "action_msgs",
    "tf2_ros",
    "launch",
    "launch_ros",
}
# What each room may import of the package (besides itself).
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "keyframes": {"core", "config"},
    "reasoning": {"core", "config"},
    "geometry": {"core", "config"},
    "io": {"core", "config", "keyframes"},
    "sim": {"core", "config", "io", "reasoning"},
    "query": {"core", "config", "keyframes", "reasoning", "geometry", "io"},
    "evaluation": {"core", "config", "keyframes", "reasoning", "geometry", "io", "sim", "query"},
    "training": {"core", "config", "reasoning", "sim", "query", "evaluation"},
    "ros": {"core", "config", "keyframes", "reasoning", "geometry", "io", "sim", "query", *GENERATED},
    "cli": {
        "core",
        "config",
        "keyframes",
        "reasoning",
        "geometry",
        "io",
        "sim",
        "query",
        "evaluation",
        "training",
        "ros",
    },
    "__init__": set(),
}


def room_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every import statement in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "vilasr_ros":  # from vilasr_ros import room
                found += [(node.lineno, f"vilasr_ros.{alias.name}") for alias in node.names]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_belongs_to_a_known_room():
    rooms = {room_of(path) for path in MODULES}
    assert rooms <= set(ALLOWED), rooms - set(ALLOWED)
    top_level = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert top_level == ["__init__.py", "cli.py"], top_level


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_upward_imports_and_ros_only_in_the_glue(path):
    room = room_of(path)
    problems = []
    for line, module in imports_of(path):
        parts = module.split(".")
        if parts[0] == "vilasr_ros" and len(parts) > 1 and parts[1] != room and parts[1] not in ALLOWED[room]:
            problems.append(f"line {line}: {room} imports {module}")
        if parts[0] in ROS_MODULES and room != "ros":
            problems.append(f"line {line}: {room} imports ROS ({module}); only vilasr_ros.ros may")
    assert not problems, "\n".join(problems)


def test_the_geometry_imports_nothing_of_the_reasoning_loop():
    probe = "import sys, vilasr_ros.geometry; print(sorted(m for m in sys.modules if m.startswith('vilasr_ros.')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "vilasr_ros.geometry" in loaded and "vilasr_ros.reasoning" not in loaded, loaded


def test_the_check_sees_an_upward_import(tmp_path):
    """The rule above can fail: a geometry module importing the engine is reported."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from vilasr_ros.reasoning.engine import ReasoningEngine\n")
    ((line, imported),) = imports_of(module)
    assert imported.split(".")[1] not in ALLOWED["geometry"] and line == 2
