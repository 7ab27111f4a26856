"""Offline ingest of rosbag2 sqlite3 (.db3) and ROS 1 (.bag) recordings through rosbags, and of a recording
whose poses are only in /tf + /tf_static: the same keyframes as the MCAP recording of the same run.

The recordings are written with ``rosbags`` from the very messages ``recordings.write_recording``
writes to MCAP (its recording class swapped for one of these)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import recordings
from recordings import EXTRINSIC, assert_same_frames, write_params, write_recording, write_rosbag2_directory
from rosbags.interfaces import Nodetype
from rosbags.rosbag1 import Writer as Ros1Writer
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Ros2Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from vilasr_ros.core.poses import Pose, compose
from vilasr_ros.io.bags import ros2_type_name
from vilasr_ros.io.ingest import ingest
from vilasr_ros.io.keyframe_folder import read_keyframes
from vilasr_ros.io.rosbags_reader import RosbagsBag
from vilasr_ros.io.tf_tree import TransformTree

HUMBLE = get_typestore(Stores.ROS2_HUMBLE)
NOETIC = get_typestore(Stores.ROS1_NOETIC)
TF = "tf2_msgs/msg/TFMessage"
ROS1_TF = "tf/msg/tfMessage"  # the ROS 1 tf package's type, in older bags
for _tf_type in (TF, ROS1_TF):  # rosbags' Noetic store lacks both; a ROS 1 bag carries the definition
    NOETIC.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms", _tf_type))
DTYPES = {"float64": np.float64, "float32": np.float32, "uint8": np.uint8, "int8": np.int8, "uint32": np.uint32}
ZERO = {"string": ""}


def build(store, type_name: str, value: dict):
    """A rosbags message of ``type_name`` from a dict with ROS 2 field names (ROS 1's upper-case
    CameraInfo fields are looked up in lower case; fields left out take zero values)."""
    _, fields = store.fielddefs[type_name]
    return store.types[type_name](
        **{name: _field(store, definition, value.get(name, value.get(name.lower()))) for name, definition in fields}
    )


def _field(store, definition, raw):
    nodetype, detail = definition
    if nodetype == Nodetype.NAME:
        return build(store, detail, raw or {})
    if nodetype == Nodetype.BASE:
        kind = detail[0]
        return raw if raw is not None else ZERO.get(kind, False if kind == "bool" else 0)
    element, length = detail
    if element[0] == Nodetype.BASE and element[1][0] in DTYPES:
        dtype = DTYPES[element[1][0]]
        if isinstance(raw, bytes):
            return np.frombuffer(raw, dtype=dtype).copy()
        return np.array(raw if raw is not None else [0] * length, dtype=dtype)
    return [_field(store, element, item) for item in raw or []]


class Db3Recording:
    """test_ingest's recording, written as a rosbag2 sqlite3 directory."""

    def __init__(self, path: Path) -> None:
        self.writer = Ros2Writer(path, version=9, storage_plugin=StoragePlugin.SQLITE3)
        self.writer.open()
        self.connections: dict[str, object] = {}

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, type_name, typestore=HUMBLE)
        data = HUMBLE.serialize_cdr(build(HUMBLE, type_name, message), type_name)
        self.writer.write(self.connections[topic], log_time_ns, data)

    def close(self) -> None:
        self.writer.close()


class Ros1Recording(Db3Recording):
    """test_ingest's recording, written as a ROS 1 bag."""

    def __init__(self, path: Path) -> None:
        self.writer = Ros1Writer(path)
        self.writer.open()
        self.connections = {}

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, type_name, typestore=NOETIC)
        data = NOETIC.serialize_ros1(build(NOETIC, type_name, message), type_name)
        self.writer.write(self.connections[topic], log_time_ns, data)


class TfOnlyDb3Recording(Db3Recording):
    """The run with its poses only in tf: odometry becomes odom -> base_link on /tf, and the camera's
    mounting (the extrinsic) base_link -> front_optical on /tf_static before anything else."""

    tf_type = TF

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        values = [float(v) for v in EXTRINSIC.split()]
        mount = _transform("base_link", "front_optical", 0, values[:3], values[3:])
        super().write("/tf_static", self.tf_type, {"transforms": [mount]}, recordings.START_NS - 1)

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        if topic != "/odom":
            return super().write(topic, type_name, message, log_time_ns)
        return super().write("/tf", self.tf_type, {"transforms": [_base_transform(message)]}, log_time_ns)


class TfOnlyRos1Recording(TfOnlyDb3Recording, Ros1Recording):
    """TfOnly as a ROS 1 bag, its transforms as tf2_msgs/TFMessage (Noetic)."""


class OldTfOnlyRos1Recording(TfOnlyRos1Recording):
    """TfOnly as a ROS 1 bag of the tf package's days: tf/tfMessage."""

    tf_type = ROS1_TF


class OdomAndTfDb3Recording(Db3Recording):
    """A robot without localization: odometry on /odom and the same pose as odom -> base_link on /tf,
    the camera's mounting not in tf (only in the ``extrinsic`` parameter)."""

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        super().write(topic, type_name, message, log_time_ns)
        if topic == "/odom":
            super().write("/tf", TF, {"transforms": [_base_transform(message)]}, log_time_ns)


class MountOnlyTfDb3Recording(TfOnlyDb3Recording):
    """Odometry on /odom only; tf holds just the camera's mounting (a robot_state_publisher's /tf_static)."""

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        Db3Recording.write(self, topic, type_name, message, log_time_ns)


GAP = range(11, 20)  # frames during which the tf publisher stalls


class TfGapDb3Recording(TfOnlyDb3Recording):
    """TfOnly with /odom recorded too, and no odom -> base_link on /tf for the frames in GAP."""

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        if topic == "/odom":
            Db3Recording.write(self, topic, type_name, message, log_time_ns)
            stamp = message["header"]["stamp"]
            index = (stamp["sec"] * 10**9 + stamp["nanosec"] - recordings.START_NS) // (100 * recordings.MS)
            if index in GAP:
                return None
        return super().write(topic, type_name, message, log_time_ns)


def _base_transform(odometry: dict) -> dict:
    """The odom -> base_link transform an Odometry message describes."""
    pose = odometry["pose"]["pose"]
    stamp = odometry["header"]["stamp"]
    return _transform(
        "odom",
        "base_link",
        stamp["sec"] * 10**9 + stamp["nanosec"],
        [pose["position"][a] for a in "xyz"],
        [pose["orientation"][a] for a in "xyzw"],
    )


def _transform(parent: str, child: str, stamp_ns: int, position, orientation) -> dict:
    return {
        "header": recordings.header(stamp_ns, parent),
        "child_frame_id": child,
        "transform": {"translation": dict(zip("xyz", position)), "rotation": dict(zip("xyzw", orientation))},
    }


def _assert_same_poses(frames, expected) -> None:
    """The same keyframes (stamps, pixels) with the same poses, up to rounding of the composed transforms."""
    assert len(frames) == len(expected)
    for frame, reference in zip(frames, expected):
        assert frame.stamp_ns == reference.stamp_ns and np.array_equal(frame.rgb, reference.rgb)
        assert frame.pose is not None and frame.pose.frame_id == reference.pose.frame_id == "odom"
        assert frame.pose.position == pytest.approx(reference.pose.position, abs=1e-9)
        assert frame.pose.orientation == pytest.approx(reference.pose.orientation, abs=1e-9)


def bag_types(path: Path) -> dict[str, str]:
    return RosbagsBag(path).topics


@pytest.fixture(scope="module")
def mcap_reference(tmp_path_factory):
    """The MCAP recording read with the default params (odometry + extrinsic): (result, keyframes),
    the reference every other recording format and pose source is compared with. Read once."""
    tmp_path = tmp_path_factory.mktemp("mcap_reference")
    source = write_rosbag2_directory(tmp_path / "mcap")
    result = ingest(source, write_params(tmp_path / "params.yaml"), tmp_path / "from_mcap")
    return result, read_keyframes(tmp_path / "from_mcap")


def test_a_db3_recording_gives_the_keyframes_of_its_mcap_equivalent(mcap_reference, tmp_path, monkeypatch):
    params = write_params(tmp_path / "params.yaml")
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", Db3Recording)
    directory = write_recording(tmp_path / "db3")
    assert (directory / "metadata.yaml").is_file() and list(directory.glob("*.db3"))

    result = ingest(directory, params, tmp_path / "from_db3")
    assert result.kind == "sqlite3" and result.problems == {}
    assert result.stats == expected_result.stats and result.frames_read == recordings.FRAMES
    assert_same_frames(read_keyframes(tmp_path / "from_db3"), expected)
    # The .db3 file itself names the same recording.
    again = ingest(next(directory.glob("*.db3")), params, tmp_path / "from_file")
    assert again.stats == expected_result.stats


def test_a_ros1_bag_gives_the_keyframes_of_its_mcap_equivalent(mcap_reference, tmp_path, monkeypatch):
    params = write_params(tmp_path / "params.yaml")
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", Ros1Recording)
    bag = write_recording(tmp_path / "run.bag")
    result = ingest(bag, params, tmp_path / "from_bag")
    assert result.kind == "rosbag1" and result.problems == {}
    assert result.stats == expected_result.stats
    assert_same_frames(read_keyframes(tmp_path / "from_bag"), expected)


def _with_target_frame(params: Path, target_frame: str) -> Path:
    frames = f"ros__parameters:\n    frames:\n      target_frame: {target_frame}\n"
    params.write_text(params.read_text().replace("ros__parameters:\n", frames))
    return params


NO_MAP = "tf has no frame 'map'; poses are in 'odom'"


@pytest.mark.parametrize("pose_source", ["tf", "auto"])
@pytest.mark.parametrize(("target_frame", "problems"), [("odom", {}), (None, {NO_MAP: 1})])
def test_poses_only_in_tf_give_the_keyframes_and_poses_of_the_odometry_recording(
    mcap_reference, tmp_path, monkeypatch, pose_source, target_frame, problems
):
    """With frames.target_frame in tf, or left at its default 'map' that an odom -> base_link recording
    lacks: then the poses are in the top of the camera's chain, odom, and that is said once."""
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", TfOnlyDb3Recording)
    directory = write_recording(tmp_path / "tf_only")
    tf_params = write_params(tmp_path / "tf.yaml", pose_source=pose_source)
    if target_frame is not None:
        _with_target_frame(tf_params, target_frame)

    result = ingest(directory, tf_params, tmp_path / "from_tf")
    assert result.problems == problems
    assert result.stats == expected_result.stats  # the same admissions: moved 0.52 m every 4th frame
    assert len(expected) == 8
    _assert_same_poses(read_keyframes(tmp_path / "from_tf"), expected)


@pytest.mark.parametrize("recording", [TfOnlyRos1Recording, OldTfOnlyRos1Recording])
def test_a_ros1_bag_with_poses_only_in_tf_or_tf_messages_gives_the_odometry_keyframes(
    mcap_reference, tmp_path, monkeypatch, recording
):
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", recording)
    bag = write_recording(tmp_path / "run.bag")
    assert bag_types(bag)["/tf"] == recording.tf_type

    result = ingest(bag, write_params(tmp_path / "auto.yaml", pose_source="auto"), tmp_path / "out")
    assert result.problems == {NO_MAP: 1}
    assert result.stats == expected_result.stats
    _assert_same_poses(read_keyframes(tmp_path / "out"), expected)


@pytest.mark.parametrize("recording", [OdomAndTfDb3Recording, MountOnlyTfDb3Recording])
def test_auto_takes_the_pose_topic_for_a_camera_tf_does_not_place(mcap_reference, tmp_path, monkeypatch, recording):
    """/odom plus tf that does not reach the camera (odom -> base_link only) or reaches only its fixed
    mounting (no map, nothing moving): the odometry recording's keyframes and poses, nothing to report."""
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", recording)
    directory = write_recording(tmp_path / "both")

    result = ingest(directory, write_params(tmp_path / "auto.yaml", pose_source="auto"), tmp_path / "out")
    assert result.problems == {}
    assert result.stats == expected_result.stats
    _assert_same_poses(read_keyframes(tmp_path / "out"), expected)


STALLED = "no transform of 'front_optical' into 'odom' at the frame's stamp (none around it within pose.max_gap)"
# Frames 12..19 of GAP: frame 11 is 50 ms after the last transform (frame 10's second odometry), within
# the 0.1 s a pose history holds its last pose; frame 19 is paired before frame 20's transform arrives.
STALLED_FRAMES = len(GAP) - 1


def test_auto_fills_a_tf_gap_from_the_pose_topic_and_says_so(mcap_reference, tmp_path, monkeypatch):
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", TfGapDb3Recording)
    directory = write_recording(tmp_path / "gap")

    result = ingest(directory, write_params(tmp_path / "auto.yaml", pose_source="auto"), tmp_path / "out")
    assert result.problems == {NO_MAP: 1, f"pose.source auto: {STALLED}: the pose topic's pose used": STALLED_FRAMES}
    assert result.stats == expected_result.stats
    _assert_same_poses(read_keyframes(tmp_path / "out"), expected)


MAP_ODOM = Pose((4.0, -2.0, 0.0), (0.0, 0.0, math.sin(math.pi / 8), math.cos(math.pi / 8)), "map")  # turned 45°


class MappedTfGapDb3Recording(TfGapDb3Recording):
    """TfGap with a localization's map -> odom (fixed here) on /tf_static: poses are in map."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        located = _transform("map", "odom", 0, MAP_ODOM.position, MAP_ODOM.orientation)
        Db3Recording.write(self, "/tf_static", self.tf_type, {"transforms": [located]}, recordings.START_NS - 1)


def test_a_pose_topic_standing_in_for_tf_is_brought_into_the_target_frame(mcap_reference, tmp_path, monkeypatch):
    """The odometry (in odom) fills the gap in map, through tf's map -> odom: every keyframe's pose is
    the odometry run's composed with map -> odom, none left in odom."""
    expected_result, expected = mcap_reference
    monkeypatch.setattr(recordings, "Recording", MappedTfGapDb3Recording)
    directory = write_recording(tmp_path / "gap")

    result = ingest(directory, write_params(tmp_path / "auto.yaml", pose_source="auto"), tmp_path / "out")
    stalled = STALLED.replace("'odom'", "'map'")
    assert result.problems == {f"pose.source auto: {stalled}: the pose topic's pose used": STALLED_FRAMES}
    frames = read_keyframes(tmp_path / "out")
    assert len(frames) == len(expected) and {frame.pose.frame_id for frame in frames} == {"map"}
    for frame, reference in zip(frames, expected):
        in_map = compose(MAP_ODOM, reference.pose)
        assert frame.stamp_ns == reference.stamp_ns
        assert frame.pose.position == pytest.approx(in_map.position, abs=1e-9)
        assert frame.pose.orientation == pytest.approx(in_map.orientation, abs=1e-9)


def test_pose_source_tf_reports_every_frame_it_leaves_without_a_pose(tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "Recording", TfGapDb3Recording)
    directory = write_recording(tmp_path / "gap")

    result = ingest(directory, write_params(tmp_path / "tf.yaml", pose_source="tf"), tmp_path / "out")
    assert result.problems == {NO_MAP: 1, f"pose.source tf: {STALLED}: frame kept 2D": STALLED_FRAMES}
    frames = read_keyframes(tmp_path / "out")
    stalled = {recordings.stamp(index) for index in GAP if index != GAP[0]}
    assert frames and all((frame.pose is None) == (frame.stamp_ns in stalled) for frame in frames)


GARBLED = (3, 7, 21)  # frames whose depth message is cut short


class GarbledDepthDb3Recording(Db3Recording):
    """The run as .db3 with the depth messages of the GARBLED frames cut short, each to another length."""

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        index = (log_time_ns - recordings.START_NS) // (100 * recordings.MS)
        if topic != "/front/depth/image_raw" or index not in GARBLED:
            return super().write(topic, type_name, message, log_time_ns)
        if topic not in self.connections:
            self.connections[topic] = self.writer.add_connection(topic, type_name, typestore=HUMBLE)
        self.writer.write(self.connections[topic], log_time_ns, b"\x00\x01\x00\x00" + bytes(index))  # errors differ
        return None


def test_the_undecodable_messages_of_a_topic_are_one_problem_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "Recording", GarbledDepthDb3Recording)
    directory = write_recording(tmp_path / "garbled")
    result = ingest(directory, write_params(tmp_path / "p.yaml"), tmp_path / "out")
    undecodable = {problem: count for problem, count in result.problems.items() if "undecodable" in problem}
    assert len(undecodable) == 1
    ((problem, count),) = undecodable.items()
    assert problem.startswith("undecodable sensor_msgs/msg/Image message on /front/depth/image_raw skipped: ")
    assert count == len(GARBLED)  # each garbled message counted, under the first one's error
    assert result.frames_read == recordings.FRAMES  # the colour frames of the garbled depth frames are kept


def test_a_tf_only_recording_read_with_pose_source_tf_but_no_transforms_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(recordings, "Recording", Db3Recording)
    directory = write_recording(tmp_path / "db3")
    result = ingest(directory, write_params(tmp_path / "p.yaml", pose_source="tf"), tmp_path / "out")
    assert any("holds no /tf or /tf_static transforms" in problem for problem in result.problems)
    assert all(frame.pose is None for frame in read_keyframes(tmp_path / "out"))


# --- the transform tree -----------------------------------------------------------------------------------


def _yaw(degrees: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(math.radians(degrees) / 2), math.cos(math.radians(degrees) / 2))


def test_lookup_composes_the_chain_through_the_common_ancestor_and_interpolates():
    tree = TransformTree(max_gap=1.0)
    second = 1_000_000_000
    tree.add("map", "odom", 0, Pose((1.0, 0.0, 0.0), _yaw(90), "map"), static=True)
    tree.add("odom", "base_link", 0, Pose((0.0, 0.0, 0.0), _yaw(0), "odom"), static=False)
    tree.add("odom", "base_link", second, Pose((2.0, 0.0, 0.0), _yaw(90), "odom"), static=False)
    tree.add("/base_link", "camera", 0, Pose((0.5, 0.0, 1.0), _yaw(0), "base_link"), static=True)

    halfway = tree.lookup("map", "camera", second // 2)  # base at (1, 0, 0) in odom, turned 45 degrees
    base = Pose((1.0, 0.0, 0.0), _yaw(45), "odom")
    expected = compose(compose(Pose((1.0, 0.0, 0.0), _yaw(90), "map"), base), Pose((0.5, 0.0, 1.0), _yaw(0), "x"))
    assert halfway.frame_id == "map"
    assert halfway.position == pytest.approx(expected.position, abs=1e-9)
    assert halfway.orientation == pytest.approx(expected.orientation, abs=1e-9)

    # Between two branches: the camera seen from odom is the base's pose composed with the mounting.
    in_odom = tree.lookup("odom", "camera", second)
    assert in_odom.position == pytest.approx((2.0, 0.5, 1.0), abs=1e-9)
    # The inverse direction: map's origin seen from the camera, back to identity when composed.
    inverse = tree.lookup("camera", "map", second)
    round_trip = compose(tree.lookup("map", "camera", second), inverse)
    assert round_trip.position == pytest.approx((0.0, 0.0, 0.0), abs=1e-9)


def test_unknown_frames_and_times_outside_the_history_give_no_pose():
    tree = TransformTree(max_gap=0.5)
    tree.add("odom", "base_link", 0, Pose((0.0, 0.0, 0.0), _yaw(0), "odom"), static=False)
    tree.add("odom", "base_link", 10_000_000_000, Pose((1.0, 0.0, 0.0), _yaw(0), "odom"), static=False)
    assert tree.lookup("odom", "camera", 0) is None  # not connected
    assert tree.lookup("odom", "base_link", 5_000_000_000) is None  # a 10 s gap is not interpolated
    assert tree.lookup("odom", "base_link", 0).position == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="two different frames"):
        tree.add("odom", "/odom", 0, Pose((0.0, 0.0, 0.0), _yaw(0), "odom"), static=True)


def test_the_tree_says_which_frames_it_knows_and_where_their_chains_lead():
    tree = TransformTree()
    tree.add("base_link", "camera", 0, Pose((0.5, 0.0, 1.0), _yaw(0), "base_link"), static=True)
    assert tree.has_frame("camera") and tree.has_frame("/base_link") and not tree.has_frame("odom")
    assert tree.root("camera") == "base_link" and not tree.moves("camera")  # only the mounting
    assert tree.root("elsewhere") == "elsewhere" and not tree.connected("map", "camera")
    tree.add("odom", "base_link", 0, Pose((0.0, 0.0, 0.0), _yaw(0), "odom"), static=False)
    assert tree.root("camera") == "odom" and tree.moves("camera") and tree.connected("odom", "camera")
    tree.add("map", "landmark", 0, Pose((1.0, 0.0, 0.0), _yaw(0), "map"), static=True)
    assert tree.has_frame("map") and not tree.connected("map", "camera")  # two trees


def test_service_and_action_types_keep_their_interface_kind():
    assert ros2_type_name("sensor_msgs/Image") == "sensor_msgs/msg/Image"  # ROS 1 and older MCAP schema names
    assert ros2_type_name("sensor_msgs/msg/Image") == "sensor_msgs/msg/Image"
    assert ros2_type_name("vilasr_ros/srv/SpatialQuery_Event") == "vilasr_ros/srv/SpatialQuery_Event"
    assert ros2_type_name("vilasr_ros/action/SpatialQuery_FeedbackMessage") == (
        "vilasr_ros/action/SpatialQuery_FeedbackMessage"
    )
    assert ros2_type_name("Untyped") == "Untyped"
