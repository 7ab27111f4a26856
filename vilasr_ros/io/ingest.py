"""Offline input: a recorded run or a folder of frames fed to the keyframe store, written as a keyframe folder.

What ``vilasr-ros ingest SOURCE [--params-file F] --out DIR [--camera NAME] [--max-keyframes N]`` runs.

The parameter file is the node's (``/**: ros__parameters: ...``): the
``keyframes.*`` thresholds, ``cameras.*`` topics and ``pose.*`` source apply
as they do live; parameters it leaves out take their defaults. SOURCE is:

- a recording: an ``.mcap`` file, a rosbag2 directory (``metadata.yaml``; MCAP
  or sqlite3 storage), a rosbag2 ``.db3`` file in its directory, or a ROS 1
  ``.bag`` file (MCAP through ``mcap``, the others through ``rosbags``).
  Each camera's colour (raw or compressed), depth (raw or compressedDepth) and
  camera_info topics and the poses are read in log-time order and paired as the
  live node pairs them (:mod:`vilasr_ros.keyframes.pairing`). Poses: with
  ``pose.source`` tf, ``/tf`` + ``/tf_static`` (:mod:`vilasr_ros.io.tf_tree`, ROS 2
  tf2_msgs or ROS 1 tf messages: the camera's optical frame in
  ``frames.target_frame``, interpolated to its stamp; without that frame in tf,
  in the top frame of the camera's chain, e.g. odom, said once); with odometry /
  pose, the pose topic (nav_msgs/Odometry or geometry_msgs/PoseStamped) composed
  with each camera's ``extrinsic``; auto reads both and, frame by frame, uses tf
  where it places the camera, else the topic (only when a camera has an
  ``extrinsic``); a frame left without a pose while the recording has transforms
  is reported with the reason; ``--camera`` restricts to one camera;
- a keyframe folder (:mod:`vilasr_ros.io.keyframe_folder`), e.g. a previous
  output, re-filtered with the parameters;
- a folder of images ``*.png`` / ``*.jpg`` of one camera (``--camera``, default
  the first of ``cameras.names``; its ``frame_id`` and ``depth_scale`` apply),
  taken in name order, with optional
  ``depth/<same stem>.png`` (16-bit, sensor units) or ``.npy`` (float32 metres),
  ``camera_info.yaml`` (the camera_calibration format: image_width,
  image_height, camera_matrix, distortion_model, distortion_coefficients) and
  ``stamps.txt`` (one stamp in seconds per image in name order, optionally
  after the file name: ``frame_001.png 12.5``; without it, 0.1 s apart from 0).

Unreadable files, missing topics and messages that do not decode or convert
are skipped and counted with their reason; a source that cannot be read at all
raises :class:`IngestError`, an invalid parameter :class:`ConfigError`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import cv2
import numpy as np

from vilasr_ros.config import CameraConfig, CamerasConfig, ConfigError, NodeConfig
from vilasr_ros.config.params_file import ParamsFileError, read_params_file
from vilasr_ros.core.camera import CameraIntrinsics, Frame
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose, compose
from vilasr_ros.io import messages
from vilasr_ros.io.bags import Bag, BagError, BagMessage, bag_storage, is_bag
from vilasr_ros.io.camera_files import load_camera_info, load_depth
from vilasr_ros.io.cameras import pairing_settings
from vilasr_ros.io.images import ImageConversionError
from vilasr_ros.io.keyframe_folder import is_keyframe_folder, read_keyframes, write_keyframes
from vilasr_ros.io.tf_tree import TF_STATIC_TOPIC, TF_TOPIC, TransformTree
from vilasr_ros.keyframes.pairing import FramePairing, PoseLookup, TopicPoses, no_pose
from vilasr_ros.keyframes.store import KeyframeStore, StoreStats

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
DEFAULT_PERIOD_NS = 100_000_000  # image folders without stamps.txt
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
ODOMETRY = "nav_msgs/msg/Odometry"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
ROS1_TF_MESSAGE = "tf/msg/tfMessage"  # the ROS 1 tf package's type in older bags: the same fields
RECORDING_KINDS = ("mcap", "sqlite3", "rosbag1")
Report = Callable[[str], None]


class IngestError(ValueError):
    """The source, the parameter file or the output cannot be used; the message says which and why."""


@dataclass(frozen=True)
class IngestResult:
    """What one ingestion read, kept and wrote."""

    source: Path
    kind: str  # a recording's storage ("mcap", "sqlite3", "rosbag1"), "keyframes" or "images"
    frames_read: int  # colour frames read and offered to the store
    stats: StoreStats  # offered, admitted, rejected by reason, per camera and in total
    written: int  # keyframes written
    index: Path  # the keyframes.json written
    problems: dict[str, int]  # what was skipped or noted, with how often


def ingest(
    source: str | Path,
    params_file: str | Path | None,
    out_dir: str | Path,
    camera: str | None = None,
    max_keyframes: int | None = None,
) -> IngestResult:
    """Feed ``source`` through a keyframe store configured by ``params_file`` (None: the defaults) and write
    its keyframes, or ``select(max_keyframes)`` of them, to ``out_dir`` as a keyframe folder.

    Raises :class:`IngestError` when the source, the parameter file or the
    output cannot be used or no frame could be read, :class:`ConfigError` for
    an invalid parameter; nothing is written then.
    """
    source = Path(source)
    if max_keyframes is not None and max_keyframes < 1:
        raise IngestError(f"--max-keyframes must be >= 1, got {max_keyframes}")
    problems: Counter[str] = Counter()

    def report(message: str) -> None:
        problems[message] += 1

    config, cameras = _load_params_file(params_file, report) if params_file else _defaults()
    kind = _source_kind(source)
    if kind in RECORDING_KINDS:
        selected = _select_cameras(cameras, camera)
        store = KeyframeStore(config.keyframes, cameras=[c.name for c in selected])
        frames_read = _ingest_bag(source, config, selected, store, report)
    elif kind == "keyframes":
        store = KeyframeStore(config.keyframes)
        frames_read = _offer_all(store, _keyframe_folder_frames(source, camera), report)
    else:
        camera_config = _folder_camera(cameras, camera or config.cameras.names[0])
        store = KeyframeStore(config.keyframes, cameras=[camera_config.name])
        frames_read = _offer_all(store, _image_folder_frames(source, camera_config, report), report)
    if frames_read == 0:
        first = next(iter(problems), None)
        raise IngestError(f"no frame could be read from {source}" + (f" ({first})" if first else ""))
    keyframes = store.keyframes() if max_keyframes is None else store.select(max_keyframes)
    try:
        index = write_keyframes(keyframes, out_dir)
    except (DataError, OSError) as error:
        raise IngestError(f"cannot write the keyframe folder: {error}") from error
    return IngestResult(source, kind, frames_read, store.stats(), len(keyframes), index, dict(problems))


def _load_params_file(path: str | Path, report: Report) -> tuple[NodeConfig, tuple[CameraConfig, ...]]:
    """The node configuration and cameras of a parameter file; unknown parameters are reported and ignored."""
    try:
        params = read_params_file(path)
    except ParamsFileError as error:
        raise IngestError(str(error)) from None
    if params.unknown:
        report(f"params file {params.path}: ignored unknown parameter(s) {', '.join(params.unknown)}")
    return params.config, params.cameras


# --- sources -----------------------------------------------------------------------------------


def _source_kind(source: Path) -> str:
    if not source.exists():
        raise IngestError(f"{source} does not exist")
    if is_bag(source):
        try:
            return bag_storage(source)
        except BagError as error:
            raise IngestError(str(error)) from error
    if source.is_file():
        raise IngestError(f"{source} is not a recording (.mcap, .db3, .bag); give one or a folder")
    if is_keyframe_folder(source):
        return "keyframes"
    if _images(source):
        return "images"
    if any(source.glob("*.mcap")):
        return "mcap"
    raise IngestError(
        f"{source} holds no recording (.mcap, metadata.yaml), no keyframes.json and no "
        f"{' / '.join('*' + suffix for suffix in IMAGE_SUFFIXES)} images"
    )


def _offer_all(store: KeyframeStore, frames: Iterable[Frame], report: Report) -> int:
    count = 0
    for frame in frames:
        count += 1
        _offer(store, frame, report)
    return count


def _offer(store: KeyframeStore, frame: Frame, report: Report) -> None:
    admission = store.offer(frame)
    if admission.category == "bad input":
        report(f"camera {frame.camera}: frame rejected: {admission.reason}")


def _keyframe_folder_frames(directory: Path, camera: str | None) -> list[Frame]:
    try:
        frames = read_keyframes(directory)
    except DataError as error:
        raise IngestError(str(error)) from error
    if camera is not None:
        chosen = [frame for frame in frames if frame.camera == camera]
        if frames and not chosen:
            found = ", ".join(sorted({frame.camera for frame in frames}))
            raise IngestError(f"{directory} has no keyframes of camera {camera!r} (cameras: {found})")
        frames = chosen
    return sorted(frames, key=lambda frame: frame.stamp_ns)


def _images(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def _image_folder_frames(directory: Path, camera: CameraConfig, report: Report) -> Iterator[Frame]:
    images = _images(directory)
    stamps = _stamps(directory / "stamps.txt", images)
    calibration = directory / "camera_info.yaml"
    intrinsics = _camera_info(calibration) if calibration.exists() else None
    for path, stamp_ns in zip(images, stamps):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            report(f"cannot read image {path}: skipped")
            continue
        yield Frame(
            camera=camera.name,
            stamp_ns=stamp_ns,
            frame_id=camera.frame_id or camera.name,
            rgb=cv2.cvtColor(image, cv2.COLOR_BGR2RGB),
            depth=_folder_depth(directory / "depth", path.stem, report),
            depth_scale=camera.depth_scale,
            intrinsics=intrinsics,
        )


def _stamps(path: Path, images: list[Path]) -> list[int]:
    if not path.exists():
        return [index * DEFAULT_PERIOD_NS for index in range(len(images))]
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
        if rows and all(len(row) == 2 for row in rows):
            named = {name: _seconds_to_ns(seconds) for name, seconds in rows}
            missing = [image.name for image in images if image.name not in named]
            if missing:
                raise ValueError(f"no stamp for {', '.join(missing[:3])}")
            return [named[image.name] for image in images]
        if any(len(row) != 1 for row in rows):
            raise ValueError("lines must all be '<seconds>' or all '<file name> <seconds>'")
        if len(rows) != len(images):
            raise ValueError(f"{len(rows)} stamp line(s) for {len(images)} image(s)")
        return [_seconds_to_ns(row[0]) for row in rows]
    except (OSError, UnicodeDecodeError, ValueError, InvalidOperation, OverflowError) as error:
        raise IngestError(
            f"bad {path} (one stamp in seconds per image, optionally after its file name): {error}"
        ) from error


def _seconds_to_ns(text: str) -> int:
    stamp = int(Decimal(text) * 1_000_000_000)
    if stamp < 0:
        raise ValueError(f"negative stamp {text}")
    return stamp


def _camera_info(path: Path) -> CameraIntrinsics:
    try:
        return load_camera_info(path)
    except DataError as error:
        raise IngestError(str(error)) from error


def _folder_depth(directory: Path, stem: str, report: Report) -> np.ndarray | None:
    if not directory.is_dir():
        return None
    for path in (directory / f"{stem}.png", directory / f"{stem}.npy"):
        if path.is_file():
            try:
                return load_depth(path)
            except DataError as error:
                report(f"{error}: frame kept without depth")
                return None
    report(f"no depth for {stem} in {directory}: frame kept without depth")
    return None


# --- recordings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Role:
    """What a topic is to the ingestion: a camera's colour, depth or camera_info, or the base pose."""

    kind: str  # colour, depth, camera_info or pose
    parameter: str  # the parameter that names the topic
    camera: CameraConfig | None = None
    pairing: FramePairing | None = None


def _ingest_bag(
    path: Path, config: NodeConfig, cameras: tuple[CameraConfig, ...], store: KeyframeStore, report: Report
) -> int:
    try:
        bag = Bag(path) if bag_storage(path) == "mcap" else _rosbags_bag(path)
    except BagError as error:
        raise IngestError(str(error)) from error
    poses, tf, camera_pose = _pose_source(config, report)
    roles: dict[str, list[_Role]] = {}
    pairings = []
    for camera in cameras:
        pairing = FramePairing(
            pairing_settings(camera, config.cameras.depth_tolerance, config.frames.base_frame),
            camera_pose,
            on_problem=lambda category, message, name=camera.name: report(f"camera {name}: {message}"),
            pose_pending=poses.pending if poses is not None and tf is None else None,  # a pose topic only
        )
        pairings.append(pairing)
        prefix = f"cameras.{camera.name}"
        for kind, topic in (
            ("colour", camera.image_topic),
            ("depth", camera.depth_topic),
            ("camera_info", camera.camera_info_topic),
        ):
            if topic:
                roles.setdefault(topic, []).append(_Role(kind, f"{prefix}.{_TOPIC_PARAMETER[kind]}", camera, pairing))
    if poses is not None and any(camera.extrinsic_values() for camera in cameras):
        roles.setdefault(config.pose.topic, []).append(_Role("pose", "pose.topic"))
    if tf is not None:
        roles.setdefault(TF_TOPIC, []).append(_Role("tf", "pose.source"))
        roles.setdefault(TF_STATIC_TOPIC, []).append(_Role("tf_static", "pose.source"))
    accepted: dict[str, bool] = {}
    frames_read = 0
    for message in bag.messages(set(roles), report):
        if message.topic not in accepted:
            accepted[message.topic] = _check_type(message, roles[message.topic], config, report)
        if not accepted[message.topic]:
            continue
        for role in roles[message.topic]:
            ready = _handle(message, role, poses, tf, report)
            if ready is not None and role.kind == "colour":
                frames_read += 1
            for frame in ready or []:
                _offer(store, frame, report)
    for pairing in pairings:
        for frame in pairing.flush():
            _offer(store, frame, report)
    if tf is not None and not tf.tree.empty and not tf.topic_needed:  # auto: tf placed every frame
        roles = {topic: [role for role in kinds if role.kind != "pose"] for topic, kinds in roles.items()}
    _check_topics(bag, {topic: kinds for topic, kinds in roles.items() if kinds}, cameras, report)
    if config.pose.source == "tf" and tf.tree.empty:
        report(f"pose.source tf: {bag.path} holds no {TF_TOPIC} or {TF_STATIC_TOPIC} transforms: frames stay 2D")
    return frames_read


_TOPIC_PARAMETER = {"colour": "image_topic", "depth": "depth_topic", "camera_info": "camera_info_topic"}
_ACCEPTED_TYPES = {
    "colour": (IMAGE, COMPRESSED),
    "depth": (IMAGE, COMPRESSED),
    "camera_info": (CAMERA_INFO,),
    "pose": (ODOMETRY, POSE_STAMPED),
    "tf": (TF_MESSAGE, ROS1_TF_MESSAGE),
    "tf_static": (TF_MESSAGE, ROS1_TF_MESSAGE),
}


def _rosbags_bag(path: Path):
    from vilasr_ros.io.rosbags_reader import RosbagsBag  # rosbags is needed only for .db3 and .bag recordings

    return RosbagsBag(path)


def _pose_source(config: NodeConfig, report: Report) -> tuple[TopicPoses | None, _TfPoses | None, PoseLookup]:
    """The pose topic's history and/or the transform tree of /tf + /tf_static, and the lookup frames use:
    ``tf`` reads the tree, ``odometry`` / ``pose`` the topic, ``auto`` the tree for each frame it places
    and the topic (with each camera's extrinsic) for the others (:class:`_TfPoses`)."""
    source = config.pose.source
    if source == "none":
        return None, None, no_pose
    poses = TopicPoses(config.pose.max_gap) if source != "tf" else None
    if source not in ("tf", "auto"):
        return poses, None, poses.camera_pose
    tf = _TfPoses(TransformTree(config.pose.max_gap), config.frames.target_frame, poses, report)
    return poses, tf, tf.camera_pose


class _TfPoses:
    """Camera poses from the recorded transform tree, for ``pose.source`` tf (``topic`` None) and auto.

    A frame's pose is its camera frame's pose in ``frames.target_frame``; when tf does not connect the
    target to the camera but a moving transform leads from the camera to the top of its chain (odom ->
    base_link without map), the pose in that top frame, noted once. In auto, a frame tf does not place
    (its camera frame is not in tf, or no transform near its stamp) takes the topic's pose. Every frame
    left without a pose while the recording has transforms is reported with the reason. A topic pose
    standing in for tf's is brought into tf's frame (odom into map), so that the run's poses share one.
    """

    def __init__(self, tree: TransformTree, target: str, topic: TopicPoses | None, report: Report) -> None:
        self.tree = tree
        self.target = target
        self.topic = topic
        self.topic_needed = False  # auto: some frame's pose was asked of the topic
        self._report = report
        self._noted: set[str] = set()

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        target, reason = self._target(camera_frame)
        if target is not None:
            pose = self.tree.lookup(target, camera_frame, stamp_ns)
            if pose is not None:
                return pose
            reason = (
                f"no transform of {camera_frame!r} into {target!r} at the frame's stamp "
                "(none around it within pose.max_gap)"
            )
        if self.topic is None:
            self._report(f"pose.source tf: {reason}: frame kept 2D")
            return None
        self.topic_needed = True
        pose = self.topic.camera_pose(camera_frame, stamp_ns, extrinsic)
        if pose is not None and target is not None:  # tf places the camera in ``target``, only not at this time
            topic_frame = self.tree.lookup(target, pose.frame_id, stamp_ns)  # so the run's poses share a frame
            if topic_frame is None:
                self._report(
                    f"pose.source auto: {reason}, and tf does not place the pose topic's frame {pose.frame_id!r} "
                    f"in {target!r}: frame kept 2D"
                )
                return None
            self._report(f"pose.source auto: {reason}: the pose topic's pose used")
            return compose(topic_frame, pose)
        if pose is None and not self.tree.empty:
            self._report(f"pose.source auto: {reason}, and the pose topic gave no pose: frame kept 2D")
        return pose

    def _target(self, camera_frame: str) -> tuple[str | None, str]:
        """The frame tf gives ``camera_frame``'s pose in, or None and why tf cannot place it."""
        if not self.tree.has_frame(camera_frame):
            return None, f"tf has no frame {camera_frame!r}"
        if self.tree.connected(self.target, camera_frame):
            return self.target, ""
        root = self.tree.root(camera_frame)
        missing = (
            f"tf has no frame {self.target!r}"
            if not self.tree.has_frame(self.target)
            else f"tf does not connect {self.target!r} with {camera_frame!r}"
        )
        if not self.tree.moves(camera_frame):
            return None, f"{missing} and only fixed transforms lead from {camera_frame!r} up to {root!r}"
        note = f"{missing}; poses are in {root!r}"
        if note not in self._noted:
            self._noted.add(note)
            self._report(note)
        return root, ""


def _check_type(message: BagMessage, roles: list[_Role], config: NodeConfig, report: Report) -> bool:
    """Whether the topic's recorded type fits every role it has; notes a type the parameters did not name."""
    for role in roles:
        if message.type not in _ACCEPTED_TYPES[role.kind]:
            expected = " or ".join(_ACCEPTED_TYPES[role.kind])
            recorded = message.type or "untyped messages"
            report(f"topic {message.topic} ({role.parameter}) holds {recorded}, not {expected}: skipped")
            return False
        configured = _configured_type(role, config)
        if configured not in (None, message.type):
            report(f"topic {message.topic} holds {message.type}, the parameters name {configured}: read as recorded")
    return True


def _configured_type(role: _Role, config: NodeConfig) -> str | None:
    if role.kind == "pose":
        return {"odometry": ODOMETRY, "pose": POSE_STAMPED}.get(config.pose.source)
    if role.kind == "colour":
        return COMPRESSED if role.camera.transport == "compressed" else IMAGE
    if role.kind == "depth":
        return COMPRESSED if role.camera.depth_transport == "compressedDepth" else IMAGE
    return None


def _handle(
    message: BagMessage, role: _Role, poses: TopicPoses | None, tf: _TfPoses | None, report: Report
) -> list[Frame] | None:
    """Feed one message to its role; the frames now ready (None when the message was skipped)."""
    msg, now = message.msg, message.log_time_ns / 1e9
    compressed = message.type == COMPRESSED
    try:
        if role.kind in ("tf", "tf_static"):
            tf.tree.add_message(msg, static=role.kind == "tf_static")
            return []
        if role.kind == "pose":
            pose_msg = msg.pose.pose if message.type == ODOMETRY else msg.pose
            base_pose = messages.pose(pose_msg, msg.header.frame_id or "odom")
            poses.add(messages.stamp_ns(msg.header.stamp), base_pose)
            return []
        if role.kind == "camera_info":
            return role.pairing.add_camera_info(messages.intrinsics(msg, role.camera.is_rectified), now)
        stamp = messages.stamp_ns(msg.header.stamp)
        if role.kind == "depth":
            return role.pairing.add_depth(stamp, messages.depth_image(msg, compressed), now, msg.header.frame_id)
        rgb = messages.colour_image(msg, compressed)
        return role.pairing.add_colour(stamp, msg.header.frame_id, rgb, now)
    except (ImageConversionError, DataError, AttributeError, ValueError) as error:  # AttributeError: other fields
        report(f"{message.type} on {message.topic} ({role.parameter}) skipped: {error}")
        return None


def _check_topics(bag: Bag, roles: dict[str, list[_Role]], cameras: tuple[CameraConfig, ...], report: Report) -> None:
    recorded = ", ".join(f"{topic} ({kind})" for topic, kind in sorted(bag.topics.items())) or "none"
    if not any(camera.image_topic in bag.topics for camera in cameras):
        wanted = ", ".join(camera.image_topic for camera in cameras)
        raise IngestError(f"{bag.path} has none of the image topics {wanted}; its topics: {recorded}")
    for topic, topic_roles in roles.items():
        if topic not in bag.topics and not all(role.kind in ("tf", "tf_static") for role in topic_roles):
            names = ", ".join(role.parameter for role in topic_roles)
            report(f"topic {topic} ({names}) is not recorded: not used")


# --- configuration -----------------------------------------------------------------------------


def _defaults() -> tuple[NodeConfig, tuple[CameraConfig, ...]]:
    config = NodeConfig()
    return config, tuple(CameraConfig(name=name) for name in config.cameras.names)


def _select_cameras(cameras: tuple[CameraConfig, ...], name: str | None) -> tuple[CameraConfig, ...]:
    if name is None:
        return cameras
    chosen = tuple(camera for camera in cameras if camera.name == name)
    if not chosen:
        raise IngestError(f"--camera {name!r} is not in cameras.names ({', '.join(c.name for c in cameras)})")
    return chosen


def _folder_camera(cameras: tuple[CameraConfig, ...], name: str) -> CameraConfig:
    for camera in cameras:
        if camera.name == name:
            return camera
    try:
        CamerasConfig(names=(name,))
    except ConfigError as error:
        raise IngestError(f"--camera {name!r}: {error}") from None
    return CameraConfig(name=name)
