"""Every import of the package maps to a package.xml dependency, and every dependency is used.

The imports are read with ``ast`` from the installed code (vilasr_ros/**/*.py and
launch/*.py) and from the tests; third-party top-level modules map to rosdep keys
through the explicit table below, so a new import with no declared dependency fails
here (add it to the table and to package.xml) instead of on a user's robot.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Top-level module -> rosdep key (package.xml name).
MODULE_KEYS = {
    # ROS packages
    "rclpy": "rclpy",
    "rcl_interfaces": "rcl_interfaces",
    "builtin_interfaces": "builtin_interfaces",
    "std_msgs": "std_msgs",
    "geometry_msgs": "geometry_msgs",
    "sensor_msgs": "sensor_msgs",
    "nav_msgs": "nav_msgs",
    "visualization_msgs": "visualization_msgs",
    "diagnostic_msgs": "diagnostic_msgs",
    "lifecycle_msgs": "lifecycle_msgs",
    "action_msgs": "action_msgs",
    "rosgraph_msgs": "rosgraph_msgs",
    "tf2_ros": "tf2_ros_py",
    "launch": "launch",
    "launch_ros": "launch_ros",
    "ament_index_python": "ament_index_python",
    # Python packages (keys of rosdistro's rosdep/python.yaml)
    "numpy": "python3-numpy",
    "cv2": "python3-opencv",
    "yaml": "python3-yaml",
    "PIL": "python3-pil",
    "scipy": "python3-scipy",
    "torch": "python3-torch",
    "torchvision": "python3-torchvision",
    "transformers": "python3-transformers-pip",
    "tokenizers": "python3-transformers-pip",  # a dependency of transformers (its tokenizer backend)
    "jinja2": "python3-transformers-pip",  # a dependency of transformers (chat templates)
    "openai": "python3-openai-pip",
    "mcap": "mcap-ros2-support",  # mcap-ros2-support depends on mcap
    "mcap_ros2": "mcap-ros2-support",
    "rosbags": "python3-rosbags-pip",
    # test tools
    "pytest": "python3-pytest",
    "_pytest": "python3-pytest",  # the mark-expression parser test/conftest.py evaluates -m with
    "hypothesis": "python3-hypothesis",
    "catkin_pkg": "python3-catkin-pkg",
    "packaging": "python3-packaging",
}

# Probed at run time, used only when installed, deliberately not declared.
OPTIONAL_MODULES = {
    "bitsandbytes": "backend.quantization 4bit/8bit on a GPU; the node names the package when missing",
    "torchao": "backend.quantization torchao-int8/int4; the node names the package when missing",
    "peft": "LoRA for `vilasr-ros train --lora-rank`; the trainer names the package when missing",
    "accelerate": "the training commands only; from pip (requirements/ros-install.txt): rosdep has no key for it",
}

# Run dependencies that no import names, with the reason they are needed.
INDIRECT_RUN_KEYS = {
    "rosidl_default_runtime": "the generated interface packages",
    "python3-torchvision": "the Qwen2.5-VL image and video processors of transformers import it",
    "python3-pil": "torchvision and the transformers image processors use Pillow",
}
# Test dependencies that no import names.
INDIRECT_TEST_KEYS = {
    "ament_cmake_pytest": "CMakeLists.txt runs the tests with it (colcon test)",
    "python3-pytest-timeout": "pytest.ini sets a timeout",
    "python3-ruff-pip": "the ruff test of colcon test",
}

PACKAGE_SOURCES = ["vilasr_ros/**/*.py", "launch/*.py"]


def imported_modules(paths: list[Path], root: Path = REPO_ROOT) -> dict[str, set[str]]:
    """Top-level module -> files importing it: import statements, importlib.import_module / find_spec literals."""
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.append(node.module)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"import_module", "find_spec"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.append(node.args[0].value)
        for name in names:
            found.setdefault(name.split(".")[0], set()).add(path.relative_to(root).as_posix())
    return found


def third_party(found: dict[str, set[str]], local: set[str]) -> dict[str, set[str]]:
    """Drop the standard library, ``__future__`` and modules of this repository."""
    return {
        name: files
        for name, files in found.items()
        if name not in sys.stdlib_module_names and name != "__future__" and name not in local
    }


def package_xml_keys(*tags: str) -> set[str]:
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    return {element.text.strip() for tag in tags for element in root.findall(tag)}


RUN_KEYS = package_xml_keys("depend", "exec_depend")
TEST_KEYS = package_xml_keys("test_depend")


@functools.cache
def package_imports() -> dict[str, set[str]]:
    paths = [path for pattern in PACKAGE_SOURCES for path in sorted(REPO_ROOT.glob(pattern))]
    assert len(paths) > 20, "the package sources were not found"
    return third_party(imported_modules(paths), {"vilasr_ros"})


@functools.cache
def imports_of_the_tests() -> dict[str, set[str]]:
    """Top-level module -> test files importing it (read once: several checks use it)."""
    return imported_modules(sorted((REPO_ROOT / "test").rglob("*.py")))


def undeclared(imports: dict[str, set[str]], declared: set[str]) -> list[str]:
    problems = []
    for module, files in sorted(imports.items()):
        if module in OPTIONAL_MODULES:
            continue
        key = MODULE_KEYS.get(module)
        if key is None:
            problems.append(f"{module} (imported by {sorted(files)}) has no entry in MODULE_KEYS")
        elif key not in declared:
            problems.append(f"{module} (imported by {sorted(files)}) needs <exec_depend>{key}</exec_depend> or similar")
    return problems


def interface_packages() -> set[str]:
    """Packages whose types the msg/srv/action files use (``pkg/Type`` fields; actions also action_msgs)."""
    used = {"action_msgs"} if any((REPO_ROOT / "action").glob("*.action")) else set()
    for path in (REPO_ROOT / d for d in ("msg", "srv", "action")):
        for file in path.iterdir():
            for line in file.read_text().splitlines():
                match = re.match(r"\s*([a-z0-9_]+)/[A-Z]\w*", line.split("#", 1)[0])
                if match:
                    used.add(match[1])
    return used


def test_every_package_import_is_a_declared_run_dependency():
    assert undeclared(package_imports(), RUN_KEYS) == []


def test_every_test_import_is_a_declared_dependency():
    test_dir = REPO_ROOT / "test"
    # Test helpers (conftest, node_harness, ...): test folders have no __init__.py, so only modules count.
    local = {p.stem for p in test_dir.rglob("*.py")}
    imports = third_party(imports_of_the_tests(), local | {"vilasr_ros"})
    assert undeclared(imports, RUN_KEYS | TEST_KEYS) == []


def test_every_declared_dependency_is_used():
    imported_keys = {MODULE_KEYS[m] for m in package_imports() if m in MODULE_KEYS}
    unused_run = RUN_KEYS - imported_keys - set(INDIRECT_RUN_KEYS) - interface_packages()
    assert unused_run == set(), "run dependencies nothing imports (or list them in INDIRECT_RUN_KEYS with a reason)"
    test_keys = {MODULE_KEYS[m] for m in imports_of_the_tests() if m in MODULE_KEYS}
    assert TEST_KEYS - test_keys - set(INDIRECT_TEST_KEYS) == set()
    assert set(INDIRECT_RUN_KEYS) <= RUN_KEYS and set(INDIRECT_TEST_KEYS) <= TEST_KEYS


# What each dependency tag of package.xml format 3 declares (REP 149: depend = build, build_export, exec).
TAG_ROLES = {
    "depend": ("build", "build_export", "exec"),
    "build_depend": ("build",),
    "build_export_depend": ("build_export",),
    "buildtool_depend": ("buildtool",),
    "buildtool_export_depend": ("buildtool_export",),
    "exec_depend": ("exec",),
    "test_depend": ("test",),
    "doc_depend": ("doc",),
}


def test_no_dependency_is_declared_twice_for_the_same_use():
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    declared: dict[tuple[str, str], list[str]] = {}
    for tag, roles in TAG_ROLES.items():
        for element in root.findall(tag):
            for role in roles:
                declared.setdefault((element.text.strip(), role), []).append(tag)
    twice = {key: tags for key, tags in declared.items() if len(tags) > 1}
    assert not twice, twice


def test_the_check_finds_an_undeclared_import(tmp_path):
    """The checker itself: an import of an unknown module and one of a known but undeclared key fail."""
    source = tmp_path / "module.py"
    source.write_text(
        "import os\nimport numpy as np\nfrom scipy.spatial import cKDTree\ndef f():\n    import frobnicate.sub\n"
    )
    imports = third_party(imported_modules([source], root=tmp_path), set())
    assert set(imports) == {"numpy", "scipy", "frobnicate"}
    problems = undeclared(imports, {"python3-numpy"})
    assert len(problems) == 2
    assert "frobnicate" in problems[0] and "no entry" in problems[0]
    assert "python3-scipy" in problems[1]
