"""The pure-Python part installs with pip and brings the vilasr-ros command."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_wheel_has_the_core_modules_and_the_console_entry_point(tmp_path):
    # Build from a copy: setuptools writes build/ and *.egg-info next to setup.py.
    source = tmp_path / "src"
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "install", "log", "test"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=source,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "HOME": str(tmp_path)},
    )
    (wheel,) = tmp_path.glob("vilasr_ros-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert {
        "vilasr_ros/config/schema.py",
        "vilasr_ros/cli.py",
        "vilasr_ros/query/answering.py",
        "vilasr_ros/ros/node.py",
        "vilasr_ros/reasoning/prompts/system_prompt.txt",
        "vilasr_ros/reasoning/prompts/question_template.txt",
    } <= names
    assert not any(name.startswith("test") for name in names)
    assert "vilasr-ros = vilasr_ros.cli:main" in entry_points


def test_cli_help_needs_no_ros():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from vilasr_ros.cli import main; sys.exit(main(['--help']))"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "node" in result.stdout and "ask" in result.stdout
