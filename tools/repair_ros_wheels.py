"""Point the ROS 2 wheels' exported CMake files at this venv's Python and numpy headers.

The wheels were built in a container whose Python lived in /opt/python/cp311-cp311;
their exported rosidl_generator_py targets still name its include directories, so
CMake refuses to build interfaces against them. Idempotent.

    python tools/repair_ros_wheels.py VENV
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

BUILD_PREFIX = "/opt/python/cp311-cp311"


def replacements() -> dict[str, str]:
    """Build-machine include paths and the real ones of the running Python."""
    import numpy

    return {
        f"{BUILD_PREFIX}/lib/python3.11/site-packages/numpy/_core/include": numpy.get_include(),
        f"{BUILD_PREFIX}/include/python3.11": sysconfig.get_paths()["include"],
    }


def repair(prefix: Path) -> list[Path]:
    """Rewrite every exported CMake file under ``prefix/share``; return the files changed."""
    changed = []
    for path in sorted((prefix / "share").glob("*/cmake/*.cmake")):
        text = path.read_text()
        if BUILD_PREFIX not in text:
            continue
        for old, new in replacements().items():
            text = text.replace(old, new)
        path.write_text(text)
        changed.append(path)
    return changed


def main() -> int:
    prefix = Path(sys.argv[1] if len(sys.argv) > 1 else sys.prefix)
    changed = repair(prefix)
    if changed:
        print(f"repaired build-machine include paths in {len(changed)} CMake file(s) under {prefix / 'share'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
