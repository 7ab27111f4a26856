"""Writing ROS 2 messages to an MCAP file as rosbag2 does, without ROS (the demo's ``--record``, tests)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from vilasr_ros.io.bags import BagError

_PRIMITIVES = {
    "bool",
    "byte",
    "char",
    "float32",
    "float64",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "string",
    "wstring",
}


def message_definition(type_name: str, share: Path | None = None) -> str:
    """The ros2msg schema of ``pkg/msg/Type`` as rosbag2 writes it: its .msg text, then every type it uses.

    The .msg files come from the installed ROS packages (``share`` or the ament index).
    """
    package, _, name = type_name.split("/")
    parts, queue, seen = [], [(package, name)], set()
    while queue:
        package, name = queue.pop(0)
        if (package, name) in seen:
            continue
        seen.add((package, name))
        text = _msg_file(package, name, share).read_text()
        parts.append(text if not parts else f"{'=' * 80}\nMSG: {package}/{name}\n{text}")
        for line in text.splitlines():
            tokens = line.split("#")[0].split()
            if len(tokens) < 2 or "=" in tokens[1]:
                continue  # blank, comment or constant
            field_type = re.sub(r"(\[.*\]|<=\d+)$", "", tokens[0])
            if field_type not in _PRIMITIVES and not field_type.startswith("string"):
                queue.append(tuple(field_type.split("/")) if "/" in field_type else (package, field_type))
    return "\n".join(parts)


def _msg_file(package: str, name: str, share: Path | None) -> Path:
    """The .msg file of ``package/name``: under ``share``, else the ament prefixes, else this Python's prefix."""
    prefixes = [share.parent] if share is not None else []
    prefixes += [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes.append(Path(sys.prefix))
    for prefix in prefixes:
        candidate = prefix / "share" / package / "msg" / f"{name}.msg"
        if candidate.is_file():
            return candidate
    raise BagError(f"no message definition for {package}/msg/{name} (looked in {', '.join(map(str, prefixes))})")


class BagWriter:
    """Writes ROS 2 messages (given as dicts with the ROS field names) to an MCAP file, as rosbag2 does."""

    def __init__(self, path: str | Path, share: Path | None = None) -> None:
        from mcap_ros2.writer import Writer

        self._writer = Writer(str(path))
        self._schemas: dict[str, Any] = {}
        self._share = share

    def write(self, topic: str, type_name: str, message: dict, log_time_ns: int) -> None:
        if type_name not in self._schemas:
            self._schemas[type_name] = self._writer.register_msgdef(
                type_name, message_definition(type_name, self._share)
            )
        self._writer.write_message(topic, self._schemas[type_name], message, log_time=log_time_ns)

    def close(self) -> None:
        self._writer.finish()
