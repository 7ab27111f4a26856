"""`make setup` stops with a one-line reason on a machine that cannot build, before touching anything."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]


def fake_bin(tmp_path, tools, python=None):
    """A PATH directory holding only ``tools`` (from this machine) and an optional fake python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "sh", *tools):
        os.symlink(shutil.which(tool), bin_dir / tool)
    if python is not None:
        (bin_dir / "python3").write_text(python)
        (bin_dir / "python3").chmod(0o755)
    return bin_dir


def run_setup(bin_dir, **env):
    environment = {"PATH": str(bin_dir), "HOME": "/nonexistent", "VENV": "never-created-venv", **env}
    return subprocess.run(
        [shutil.which("bash"), str(REPO_ROOT / "tools" / "setup.sh")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


REAL_PYTHON = '#!/bin/sh\nexec {python} "$@"\n'


@pytest.mark.parametrize(
    "tools, python, message",
    [
        ((), None, "'python3' not found"),
        ((), "#!/bin/sh\necho 3.9\n", "Python 3.9 found, but the PyPI ROS 2 wheels are built for Python 3.11"),
        ((), "real", "cmake not found"),
        (("cmake",), "real", "no C/C++ compiler found"),
    ],
)
def test_bad_machines_get_a_clear_reason(tmp_path, tools, python, message):
    if python == "real":
        python = REAL_PYTHON.format(python=sys._base_executable)  # the interpreter behind the venv
    result = run_setup(fake_bin(tmp_path, tools, python))
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (REPO_ROOT / "never-created-venv").exists()
