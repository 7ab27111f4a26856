"""The ROS-install requirements leave what the distro ships alone.

On a ROS 2 install, rosidl's Python type support and cv_bridge are built against
the distro's numpy and OpenCV; pip must not put other versions in front of them.
The distro's versions below are Ubuntu's package versions (the facts), not read
from our constraint files: the tests check those files against them, and a pip
resolver dry run (Python 3.12, as on Ubuntu 24.04) of requirements/ros-install.txt
in an environment that already has them proves that nothing is replaced.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.version import Version

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]

REQUIREMENTS = REPO_ROOT / "requirements"

# Ubuntu 24.04 (noble) apt versions: python3-numpy 1:1.26.4, python3-yaml 6.0.1,
# python3-pil 10.2.0, python3-opencv 4.6.0; python3-setuptools 68.1.2 is older than
# torch allows (>= 77.0.3): the venv gets its own, below 80 (colcon-core, ament_cmake_python).
UBUNTU_2404_SETUPTOOLS = "68.1.2"
UBUNTU_2404 = {"numpy": "1.26.4", "pyyaml": "6.0.1", "pillow": "10.2.0"}
UBUNTU_2404_OPENCV = "4.6.0"
DISTRO_BASE = {"jazzy": UBUNTU_2404, "kilted": UBUNTU_2404}
# pip distributions that would shadow the distro's cv2 (Debian's python3-opencv has no pip metadata).
OPENCV_WHEELS = {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"}
# Provided by the distro on a ROS install; must not appear in ros-install.txt.
DISTRO_PROVIDED = set(UBUNTU_2404) | OPENCV_WHEELS

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)\s*(?:;\s*([^#]+?))?\s*(?:#.*)?$")


def canonical(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> list[tuple[str, str, str | None]]:
    """(name, version, marker) of every ``name==version`` line of a requirements file."""
    pins = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match:
            pins.append((canonical(match[1]), match[2], match[3]))
        else:
            assert line.startswith("-r "), f"{path.name}: unpinned or unknown line {line!r}"
    return pins


def test_constraint_files_pin_the_distros_versions():
    for distro, versions in DISTRO_BASE.items():
        pins = {name: version for name, version, _ in read_pins(REQUIREMENTS / "constraints" / f"{distro}.txt")}
        for name, version in versions.items():
            assert pins.get(name) == version, f"{distro}: {name}"
        for name in OPENCV_WHEELS:
            assert pins.get(name, "").startswith(UBUNTU_2404_OPENCV + "."), f"{distro}: {name}"


def test_ros_install_requirements_leave_out_what_the_distro_provides():
    ros_install = {name for name, _, _ in read_pins(REQUIREMENTS / "ros-install.txt")}
    assert not ros_install & DISTRO_PROVIDED
    assert {"torch", "transformers", "openai", "mcap", "mcap-ros2-support"} <= ros_install
    # The pip-only path installs the same pins plus numpy, OpenCV and PyYAML.
    python_txt = REQUIREMENTS / "python.txt"
    assert "-r ros-install.txt" in python_txt.read_text().splitlines()
    assert {"numpy", "opencv-python-headless", "pyyaml"} <= {name for name, _, _ in read_pins(python_txt)}


def jazzy_python() -> str:
    """A Python 3.12 interpreter (Ubuntu 24.04's), else the running one."""
    candidates = [
        shutil.which("python3.12"),
        "/usr/bin/python3.12",
        *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
    ]
    for candidate in filter(None, candidates):
        try:
            subprocess.run([candidate, "-c", "import venv"], check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        return candidate
    return sys.executable


@pytest.fixture(scope="module")
def distro_environment(tmp_path_factory):
    """A bare Python 3.12 venv plus a site directory holding the distro's packages (metadata only).

    Returns a function running ``pip install --dry-run --report`` there; it returns
    (exit status, pip's output, {name: version} pip would install).
    """
    try:
        urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10).close()
    except OSError as error:
        pytest.skip(f"PyPI not reachable: {error}")
    root = tmp_path_factory.mktemp("distro")
    site = root / "dist-packages"
    for name, version in {**UBUNTU_2404, "setuptools": UBUNTU_2404_SETUPTOOLS}.items():
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    python = jazzy_python()
    subprocess.run([python, "-m", "venv", "--without-pip", str(root / "venv")], check=True, timeout=60)

    def dry_run(*arguments: str) -> tuple[int, str, dict[str, str]]:
        report = root / "report.json"
        report.unlink(missing_ok=True)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(root / "venv" / "bin" / "python"),
                "install",
                "--dry-run",
                "--quiet",
                "--report",
                str(report),
                *arguments,
            ],
            env={**os.environ, "PYTHONPATH": str(site)},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,  # a safety net: one run takes about 40-80 s here
        )
        installs = {}
        if report.exists():
            installs = {
                canonical(item["metadata"]["name"]): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]
            }
        return result.returncode, result.stdout[-2000:] + result.stderr[-2000:], installs

    return dry_run


@pytest.mark.network
def test_the_check_sees_the_distro_packages_as_installed(distro_environment):
    """Controls: pip sees the fake distro numpy (an upgrade shows), and the constraints bind."""
    status, output, installs = distro_environment("numpy==2.4.6")
    assert status == 0, output
    assert installs.get("numpy") == "2.4.6"
    status, output, installs = distro_environment("numpy==1.26.4", "pyyaml>=5.1")
    assert status == 0, output
    assert installs == {}
    status, output, _ = distro_environment("numpy>=2", "--constraint", "requirements/constraints/jazzy.txt")
    assert status != 0, "the constraint file must forbid a numpy upgrade"


# One resolver run per distinct distro base (Jazzy and Kilted share Ubuntu 24.04's).
REPRESENTATIVES = sorted({tuple(sorted(base.items())): distro for distro, base in DISTRO_BASE.items()}.values())


@pytest.mark.network
@pytest.mark.parametrize("distro", REPRESENTATIVES)
def test_resolving_ros_install_requirements_replaces_nothing_the_distro_ships(distro_environment, distro):
    status, output, installs = distro_environment(
        "--requirement", "requirements/ros-install.txt", "--constraint", f"requirements/constraints/{distro}.txt"
    )
    assert status == 0, output
    replaced = {name: version for name, version in installs.items() if name in DISTRO_PROVIDED}
    assert replaced == {}, f"pip would put these in front of the distro's: {replaced}"
    assert Version(installs.get("setuptools", UBUNTU_2404_SETUPTOOLS)) < Version("80")
    # ...and it does install what the file asks for, at the pinned versions (this machine's markers).
    for name, version, marker in read_pins(REQUIREMENTS / "ros-install.txt"):
        if marker is None or Marker(marker).evaluate():
            assert installs.get(name) == version, name
