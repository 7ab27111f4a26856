"""The shipped Fast DDS transport settings for large images between processes.

``config/fastdds_large_data.xml`` gives each participant a 64 MB shared-memory segment
and 16 MB UDP socket buffers, so that raw 720p RGB-D at 30 Hz from another process
arrives (with Fast DDS's 512 kB default segment most frames are lost). Fast DDS 3
reads ``FASTDDS_DEFAULT_PROFILES_FILE``, Fast DDS 2 ``FASTRTPS_DEFAULT_PROFILES_FILE``;
both are read once per process, when the first participant is created, so they must be
set before ``rclpy.init``. The publisher's segment is the one that counts: camera
drivers need the same profile (the launch file sets it for everything it starts).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path

PROFILE_NAME = "fastdds_large_data.xml"
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
FAST_DDS_2_DISTROS = ("humble", "iron", "jazzy")  # read FASTRTPS_*; Fast DDS 3 warns that it is deprecated
# A user who set any of these chose the transport: it is left alone.
USER_CHOICES = (*PROFILE_VARIABLES, "FASTDDS_BUILTIN_TRANSPORTS", "RMW_FASTRTPS_USE_QOS_FROM_XML")


def shipped_profile() -> Path | None:
    """The profile file, or None when it cannot be found.

    Looked for in the source tree's ``config/`` (running from a checkout), then in the share folder of
    the prefix this package is installed in (``<prefix>/lib/pythonX.Y/site-packages/vilasr_ros`` next to
    ``<prefix>/share/vilasr_ros``: a colcon install, or ``make setup``'s venv), then through the ament
    index (a sourced workspace whose Python path differs from its share folder).
    """
    module = Path(__file__).resolve()
    candidates = [module.parents[2] / "config" / PROFILE_NAME]
    if len(module.parents) > 5:
        candidates.append(module.parents[5] / "share" / "vilasr_ros" / "config" / PROFILE_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    try:
        from ament_index_python.packages import get_package_share_directory

        indexed = Path(get_package_share_directory("vilasr_ros")) / "config" / PROFILE_NAME
    except (ImportError, LookupError, OSError):  # no ament index, AMENT_PREFIX_PATH unset, package not in it
        return None
    return indexed if indexed.is_file() else None


def user_chose_transport(environ: Mapping[str, str]) -> bool:
    """Whether the environment already picks the DDS transport or another RMW (then nothing is set)."""
    if any(environ.get(name) for name in USER_CHOICES):
        return True
    return environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp") not in ("rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")


def use_shipped_transport(environ: MutableMapping[str, str]) -> str | None:
    """Point Fast DDS at the shipped profile in ``environ`` unless the user chose a transport or another
    RMW; returns what was set (for the log), or None when nothing was changed (also when the profile
    file cannot be found: the node then runs on Fast DDS's defaults, see :func:`shipped_profile`)."""
    if user_chose_transport(environ):
        return None
    found = shipped_profile()
    if found is None:
        return None
    profile = str(found)
    environ[PROFILE_VARIABLES[0]] = profile
    if environ.get("ROS_DISTRO", "") in FAST_DDS_2_DISTROS:
        environ[PROFILE_VARIABLES[1]] = profile
    return f"large-data profile {profile} (set {PROFILE_VARIABLES[0]} to use your own)"
