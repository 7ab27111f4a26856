"""Reading rosbag2 sqlite3 (``.db3``) and ROS 1 (``.bag``) recordings without ROS, through ``rosbags``.

The same interface as :class:`vilasr_ros.io.bags.Bag` (``path``, ``topics``, ``messages``): messages
in log-time order, decoded into objects with the ROS field names, problems reported and skipped. ROS 1
messages keep their ROS 1 field names except where ingest reads them (CameraInfo's ``D K R P`` are
also given as ``d k r p``). rosbag2 recordings that do not carry their message definitions (before
Iron) are decoded with the ROS 2 Humble definitions that ``rosbags`` ships.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader, AnyReaderError
from rosbags.typesys import Stores, get_typestore

from vilasr_ros.io.bags import BagError, BagMessage, Report, ros2_type_name

ROS1_SUFFIX = ".bag"
SQLITE_SUFFIX = ".db3"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
IMAGES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def recording_path(path: str | Path) -> Path:
    """What ``rosbags`` opens for ``path``: a ``.bag`` file as is, a rosbag2 directory (for a ``.db3``
    file, the directory holding it and its metadata.yaml)."""
    path = Path(path)
    if path.is_file() and path.suffix == SQLITE_SUFFIX:
        if not (path.parent / "metadata.yaml").is_file():
            raise BagError(f"{path} has no metadata.yaml beside it; give the rosbag2 directory it was recorded in")
        return path.parent
    return path


class RosbagsBag:
    """A rosbag2 (sqlite3 or MCAP storage) or ROS 1 recording opened for reading; ``topics`` maps each
    recorded topic to its type (``pkg/msg/Type``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._source = recording_path(self.path)
        try:
            with self._reader() as reader:
                self.topics = {c.topic: ros2_type_name(c.msgtype) for c in reader.connections}
        except (AnyReaderError, OSError) as error:
            raise BagError(f"cannot read {self.path}: {error}") from error

    def messages(self, topics: set[str], report: Report) -> Iterator[BagMessage]:
        """The messages on ``topics``, decoded, in log-time order; problems go to ``report`` and are skipped
        (the undecodable messages of a topic under one problem, which names the first error, counted)."""
        failed: dict[str, str] = {}  # topic -> its first decoding error
        with self._reader() as reader:
            ros1 = reader.is2 is False
            connections = [c for c in reader.connections if c.topic in topics]
            try:
                for connection, log_time, raw in reader.messages(connections=connections):
                    try:
                        msg = reader.deserialize(raw, connection.msgtype)
                    except Exception as error:  # garbled or truncated data, or a definition that does not parse
                        first = failed.setdefault(connection.topic, repr(error))
                        report(f"undecodable {connection.msgtype} message on {connection.topic} skipped: {first}")
                        continue
                    type_name = ros2_type_name(connection.msgtype)
                    if ros1 and type_name == CAMERA_INFO:
                        msg = _ros2_camera_info(msg)
                    elif type_name in IMAGES:
                        # rosbags gives a view into the whole serialised message: a keyframe would keep it all alive
                        msg.data = np.array(msg.data, dtype=np.uint8)
                    yield BagMessage(connection.topic, type_name, log_time, msg)
            except Exception as error:  # a recording that breaks off: keep what was read
                report(f"{self.path.name} is damaged, the rest is skipped: {type(error).__name__}: {error}")

    def _reader(self) -> AnyReader:
        return AnyReader([self._source], default_typestore=get_typestore(Stores.ROS2_HUMBLE))


def _ros2_camera_info(msg: Any) -> SimpleNamespace:
    """A ROS 1 CameraInfo with the ROS 2 field names (``D K R P`` -> ``d k r p``)."""
    fields = {name: getattr(msg, name) for name in ("header", "height", "width", "distortion_model", "roi")}
    fields.update(d=msg.D, k=msg.K, r=msg.R, p=msg.P, binning_x=msg.binning_x, binning_y=msg.binning_y)
    return SimpleNamespace(**fields)
