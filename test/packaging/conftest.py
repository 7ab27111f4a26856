"""One colcon workspace for the packaging tests: the package built from scratch the way a ROS user does
(BUILD_TESTING on, against the wheel-based ROS 2 of the venv), with two tests planted in its copy for
`colcon test` to find (test_colcon_test.py). Built once per session: a build takes minutes here."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PLANTED = """
def test_planted_failure_reaches_colcon_test_result():
    assert 1 + 1 == 3, "planted by test_colcon_test"


def test_planted_generated_interfaces_import_from_the_install():
    import vilasr_ros.msg

    assert "/install/vilasr_ros/" in vilasr_ros.msg.__file__, vilasr_ros.msg.__file__
"""
# What `colcon test` runs in the workspace: the package's static checks plus the planted tests.
SELECTION = "test_package_dependencies or test_package_metadata or test_planted"


@dataclass(frozen=True)
class Workspace:
    root: Path
    colcon: str
    env: dict[str, str]

    def colcon_run(self, *arguments: str, timeout: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.colcon, *arguments], cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )


@pytest.fixture(scope="session")
def colcon_workspace(tmp_path_factory) -> Workspace:
    """The built workspace; fails the requesting test when the build fails."""
    colcon = shutil.which("colcon", path=os.path.dirname(sys.executable)) or shutil.which("colcon")
    assert colcon, "colcon is installed by `make setup`"
    env = dict(os.environ)
    for variable in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):  # the wheel-based ROS in the venv is the underlay
        env[variable] = os.pathsep.join(filter(None, [sys.prefix, env.get(variable)]))
    workspace = Workspace(tmp_path_factory.mktemp("colcon_ws"), colcon, env)
    source = workspace.root / "src" / "vilasr_ros"
    shutil.copytree(
        REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "install", "log", "demo_out", "__pycache__")
    )
    (source / "test" / "packaging" / "test_planted.py").write_text(PLANTED)
    build = workspace.colcon_run(
        "build",
        "--base-paths",
        "src",
        "--cmake-args",
        "-DBUILD_TESTING=ON",
        f"-DPython3_EXECUTABLE={sys.executable}",
        f"-DVILASR_PYTEST_ARGS=-k '{SELECTION}'",
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return workspace
