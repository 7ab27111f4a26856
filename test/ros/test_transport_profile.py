"""The shipped Fast DDS large-data profile: what `vilasr-ros node` sets, and that the file is what it says."""

import xml.etree.ElementTree as ET
from pathlib import Path

from vilasr_ros.ros.transport import PROFILE_VARIABLES, shipped_profile, use_shipped_transport

REPO_ROOT = Path(__file__).resolve().parents[2]
NS = {"dds": "http://www.eprosima.com"}


def test_the_profile_is_set_when_the_user_chose_nothing():
    environ: dict[str, str] = {}
    assert use_shipped_transport(environ) is not None
    assert environ == {PROFILE_VARIABLES[0]: str(shipped_profile())}  # Fast DDS 3
    jazzy = {"ROS_DISTRO": "jazzy"}
    use_shipped_transport(jazzy)
    assert [jazzy[name] for name in PROFILE_VARIABLES] == [str(shipped_profile())] * 2  # Fast DDS 2 reads FASTRTPS_*


def test_a_user_choice_or_another_rmw_is_left_alone():
    for chosen in (
        {"FASTDDS_BUILTIN_TRANSPORTS": "LARGE_DATA"},
        {"FASTRTPS_DEFAULT_PROFILES_FILE": "/mine.xml"},
        {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"},
    ):
        environ = dict(chosen)
        assert use_shipped_transport(environ) is None and environ == chosen


def test_the_profile_gives_large_shared_memory_segments_and_socket_buffers_by_default():
    root = ET.parse(shipped_profile()).getroot()
    shm = root.find(".//dds:transport_descriptor[dds:type='SHM']", NS)
    udp = root.find(".//dds:transport_descriptor[dds:type='UDPv4']", NS)
    assert int(shm.findtext("dds:segment_size", namespaces=NS)) >= 8 * 2**20  # several 720p RGB-D frames
    assert int(udp.findtext("dds:sendBufferSize", namespaces=NS)) >= 4 * 2**20
    participant = root.find(".//dds:participant", NS)
    assert participant.get("is_default_profile") == "true"
    used = [t.text for t in participant.findall(".//dds:userTransports/dds:transport_id", NS)]
    assert used == [shm.findtext("dds:transport_id", namespaces=NS), udp.findtext("dds:transport_id", namespaces=NS)]
    assert "fastdds_large_data.xml" in (REPO_ROOT / "launch" / "vilasr.launch.py").read_text()


def test_an_installed_package_finds_its_profile_without_the_ament_index(tmp_path, monkeypatch):
    """A colcon/venv install: <prefix>/lib/pythonX.Y/site-packages/vilasr_ros next to <prefix>/share/vilasr_ros,
    with AMENT_PREFIX_PATH unset (a plain venv, or the CI's `make test`); and nothing found means None."""
    import shutil

    import vilasr_ros.ros.transport as transport

    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    module = tmp_path / "lib" / "python3.11" / "site-packages" / "vilasr_ros" / "ros" / "transport.py"
    module.parent.mkdir(parents=True)
    monkeypatch.setattr(transport, "__file__", str(module))
    assert transport.shipped_profile() is None
    environ: dict[str, str] = {}
    assert transport.use_shipped_transport(environ) is None and environ == {}
    share = tmp_path / "share" / "vilasr_ros" / "config" / transport.PROFILE_NAME
    share.parent.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "config" / transport.PROFILE_NAME, share)
    assert transport.shipped_profile() == share
    assert transport.use_shipped_transport(environ) is not None and environ[PROFILE_VARIABLES[0]] == str(share)
