"""`make setup` with a sourced ROS 2 (ROS_DISTRO set) checks the ROS side before touching anything."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]

SETUP = REPO_ROOT / "tools" / "setup.sh"


def run_setup(tmp_path, tools: tuple[str, ...], python: str, **env: str) -> subprocess.CompletedProcess:
    """tools/setup.sh with PATH holding only ``tools`` (from this machine) and ``python`` as python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "sh", "ls", "sed", "tr", "grep", *tools):
        os.symlink(shutil.which(tool), bin_dir / Path(tool).name)
    (bin_dir / "python3").write_text(python)
    (bin_dir / "python3").chmod(0o755)
    environment = {"PATH": str(bin_dir), "HOME": "/nonexistent", "VENV": "never-created-venv", **env}
    return subprocess.run(
        [shutil.which("bash"), str(SETUP)], env=environment, capture_output=True, text=True, timeout=60
    )


REAL_PYTHON = f'#!/bin/sh\nexec {sys._base_executable} "$@"\n'  # the interpreter behind the venv (no rclpy)
# A python3 that imports rclpy (as a sourced ROS install's does): a stub module on its path.
ROS_PYTHON = '#!/bin/sh\nPYTHONPATH={stub} exec {python} "$@"\n'


@pytest.mark.parametrize(
    "distro, python, tools, message",
    [
        (
            "humble",
            "real",
            (),
            "requirements/constraints/humble.txt (the numpy, OpenCV, PyYAML and Pillow versions "
            "it ships) does not exist; supported: jazzy kilted",
        ),
        ("jazzy", "real", (), "cannot import rclpy"),
        ("jazzy", "ros", ("cmake", "cc", "c++"), "rosdep not found"),
    ],
)
def test_ros_path_stops_with_a_reason(tmp_path, distro, python, tools, message):
    if python == "ros":
        stub = tmp_path / "stub"
        stub.mkdir()
        (stub / "rclpy.py").write_text("")
        script = ROS_PYTHON.format(stub=stub, python=sys._base_executable)
    else:
        script = REAL_PYTHON
    result = run_setup(tmp_path, tools, script, ROS_DISTRO=distro)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (REPO_ROOT / "never-created-venv").exists()


def test_keys_setup_leaves_to_the_venv_are_declared_and_all_pip_keys_are_among_them():
    """rosdep would run pip on the system Python for a pip key (PEP 668 refuses): setup skips those."""
    keys = set(re.search(r'^VENV_KEYS="([^"]*)"', SETUP.read_text(), re.M)[1].split())
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    declared = {e.text for tag in ("depend", "exec_depend", "test_depend", "build_depend") for e in root.iter(tag)}
    assert keys <= declared
    # Keys resolved by pip in rosdistro's python.yaml: the -pip suffixed ones and mcap-ros2-support.
    pip_keys = {key for key in declared if key.endswith("-pip") or key == "mcap-ros2-support"}
    assert pip_keys <= keys


def test_readme_names_the_same_skipped_keys():
    keys = re.search(r'^VENV_KEYS="([^"]*)"', SETUP.read_text(), re.M)[1]
    assert f'--skip-keys "{keys}"' in (REPO_ROOT / "README.md").read_text()


def test_a_venv_made_without_ros_is_refused_not_reused(tmp_path):
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "rclpy.py").write_text("")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    os.symlink(sys._base_executable, venv / "bin" / "python")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    rosdep = tmp_path / "rosdep"
    rosdep.write_text("#!/bin/sh\necho rosdep ran >&2\nexit 0\n")
    rosdep.chmod(0o755)
    script = ROS_PYTHON.format(stub=stub, python=sys._base_executable)
    result = run_setup(tmp_path, ("cmake", "cc", "c++", str(rosdep)), script, ROS_DISTRO="jazzy", VENV=str(venv))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{venv} was made without ROS" in result.stderr
    assert "rosdep ran" not in result.stderr
    assert sorted(p.name for p in venv.iterdir()) == ["bin", "pyvenv.cfg"]
