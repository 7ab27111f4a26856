"""Reading ROS 2 messages from MCAP recordings without ROS (the ``mcap`` and ``mcap-ros2-support`` packages).

A recording is one ``.mcap`` file or a rosbag2 directory (``metadata.yaml``
naming its ``.mcap`` files; without it, every ``.mcap`` file in the directory).
Messages come in log-time order across all files, decoded from CDR into
objects with the ROS field names. Damage is reported and skipped, never
raised mid-way: a file without a valid index (a recording cut short) is read
linearly, in the order it was written; a message that cannot be decoded is
skipped; a file that breaks off ends there, with the messages before kept.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mcap.exceptions import McapError
from mcap.reader import NonSeekingReader, SeekingReader
from mcap.records import Channel, Message, Schema
from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap_ros2.decoder import DecoderFactory

Report = Callable[[str], None]


class BagError(ValueError):
    """A recording cannot be opened at all; the message names the file and why."""


@dataclass(frozen=True)
class BagMessage:
    """One decoded message: its topic, type (``sensor_msgs/msg/Image``), log time (ns) and content."""

    topic: str
    type: str
    log_time_ns: int
    msg: Any


RECORDING_SUFFIXES = (".mcap", ".db3", ".bag")


def is_bag(path: str | Path) -> bool:
    """True for an .mcap, .db3 (rosbag2 sqlite3) or .bag (ROS 1) file, or a directory holding a rosbag2
    metadata.yaml."""
    path = Path(path)
    return (path.is_file() and path.suffix in RECORDING_SUFFIXES) or (path / "metadata.yaml").is_file()


def bag_storage(path: str | Path) -> str:
    """How a recording is stored: ``mcap``, ``sqlite3`` (rosbag2 .db3) or ``rosbag1`` (a ROS 1 .bag);
    a rosbag2 directory says so in its metadata.yaml (without one: MCAP files)."""
    path = Path(path)
    if path.is_file():
        return {".db3": "sqlite3", ".bag": "rosbag1"}.get(path.suffix, "mcap")
    metadata = path / "metadata.yaml"
    if not metadata.is_file():
        return "mcap"
    try:
        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        return str(info.get("storage_identifier", "mcap"))
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise BagError(f"cannot read {metadata}: {error!r}") from error


def bag_files(path: str | Path) -> list[Path]:
    """The .mcap files of a recording: the file itself, or those a rosbag2 directory lists."""
    path = Path(path)
    if path.is_file():
        return [path]
    metadata = path / "metadata.yaml"
    if not metadata.is_file():
        files = sorted(path.glob("*.mcap"))
        if not files:
            raise BagError(f"{path} holds no metadata.yaml and no .mcap file")
        return files
    try:
        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        storage = info.get("storage_identifier", "mcap")
        names = info.get("relative_file_paths") or []
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise BagError(f"cannot read {metadata}: {error!r}") from error
    if storage != "mcap":
        raise BagError(f"{path} is a {storage} bag, not MCAP (read it with vilasr_ros.io.rosbags_reader)")
    files = [path / name for name in names] if names else sorted(path.glob("*.mcap"))
    missing = [str(file) for file in files if not file.is_file()]
    if missing or not files:
        raise BagError(f"{metadata} names missing file(s): {', '.join(missing) or 'none listed, none found'}")
    return files


class Bag:
    """An MCAP recording opened for reading; ``topics`` maps each topic seen so far to its type."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.topics: dict[str, str] = {}
        self._files = bag_files(self.path)
        self._decoders = DecoderFactory()
        self._failed_schemas: set[tuple[str, int]] = set()
        for file in self._files:
            _check_magic(file)

    def messages(self, topics: set[str], report: Report) -> Iterator[BagMessage]:
        """The messages on ``topics``, decoded, in log-time order; problems go to ``report`` and are skipped."""
        streams = [self._file_messages(file, report) for file in self._files]
        for file, schema, channel, message in heapq.merge(*streams, key=lambda item: item[3].log_time):
            if channel.topic not in topics:
                continue
            msg = self._decode(file, schema, channel, message, report)
            if msg is not None:
                yield BagMessage(channel.topic, _type_name(schema), message.log_time, msg)

    def _file_messages(self, file: Path, report: Report) -> Iterator[tuple[Path, Schema | None, Channel, Message]]:
        with open(file, "rb") as stream:
            try:
                summary = SeekingReader(stream).get_summary()
            except Exception as error:  # a damaged footer or summary of any kind: read linearly instead
                report(f"{file.name} has no valid index (recording cut short?), read linearly: {_describe(error)}")
                summary = None
            if summary is not None:
                for channel in summary.channels.values():
                    schema = summary.schemas.get(channel.schema_id)
                    self.topics.setdefault(channel.topic, _type_name(schema))
            stream.seek(0)
            reader = SeekingReader(stream) if summary is not None else NonSeekingReader(stream)
            count = 0
            try:
                for schema, channel, message in reader.iter_messages(log_time_order=summary is not None):
                    self.topics.setdefault(channel.topic, _type_name(schema))
                    count += 1
                    yield file, schema, channel, message
            except Exception as error:  # damaged data: keep what was read (the parser raises many types)
                report(f"{file.name} is damaged after {count} message(s), the rest is skipped: {_describe(error)}")

    def _decode(self, file: Path, schema: Schema | None, channel: Channel, message: Message, report: Report) -> Any:
        key = (str(file), channel.schema_id)
        if key in self._failed_schemas:
            return None
        problem = None
        if channel.message_encoding != MessageEncoding.CDR or schema is None or schema.encoding != SchemaEncoding.ROS2:
            problem = f"encoding {channel.message_encoding!r} with schema {_type_name(schema)!r} is not ROS 2 CDR"
        else:
            try:
                decoder = self._decoders.decoder_for(channel.message_encoding, schema)
            except Exception as error:  # the message definition itself does not parse
                problem = f"cannot parse the message definition of {schema.name}: {_describe(error)}"
        if problem is not None:
            self._failed_schemas.add(key)
            report(f"topic {channel.topic} skipped: {problem}")
            return None
        try:
            return decoder(message.data)
        except Exception as error:  # truncated or garbled CDR
            report(f"undecodable {schema.name} message on {channel.topic} skipped: {error or type(error).__name__}")
            return None


def _check_magic(file: Path) -> None:
    try:
        with open(file, "rb") as stream:
            SeekingReader(stream)  # reads the magic bytes
    except OSError as error:
        raise BagError(f"cannot read {file}: {error.strerror or error}") from error
    except McapError as error:
        raise BagError(f"{file} is not an MCAP file ({error})") from error
    except Exception as error:  # an empty or garbled start
        raise BagError(f"{file} is not an MCAP file ({_describe(error)})") from error


INTERFACE_KINDS = ("msg", "srv", "action")


def _type_name(schema: Schema | None) -> str:
    """rosbag2's spelling of a schema's type: ``pkg/msg/Type`` for ``pkg/Type``; ``pkg/srv/...`` and
    ``pkg/action/...`` (recorded service events, action topics) as they are; '' without a schema."""
    if schema is None:
        return ""
    return ros2_type_name(schema.name)


def ros2_type_name(name: str) -> str:
    """``pkg/msg/Type`` for ``pkg/Type``; ``pkg/<msg|srv|action>/Type`` unchanged."""
    package, _, rest = name.partition("/")
    if not rest:
        return name
    kind, _, type_name = rest.rpartition("/")
    return f"{package}/{kind if kind in INTERFACE_KINDS else 'msg'}/{type_name}"


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# --- writing ------------------------------------------------------------------------------------
