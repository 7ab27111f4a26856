"""Keyframes on disk: a folder of plain files that round-trips frames exactly (pixels and metadata).

Layout::

    keyframes.json      the index (below)
    rgb/<id>.png        colour, 8-bit RGB (stored as an ordinary PNG)
    depth/<id>.png      depth in sensor units, 16-bit grey (uint16 depth, 0 = no reading), or
    depth/<id>.npy      depth in metres, float32 (NaN / inf = no reading)

``<id>`` is the keyframe id, zero-padded to six digits. ``keyframes.json``::

    {"format": "vilasr_ros keyframes", "version": 1,
     "keyframes": [
       {"id": 7, "camera": "front", "stamp_ns": 1700000000123456789, "frame_id": "front_optical",
        "rgb": "rgb/000007.png", "depth": "depth/000007.png", "depth_scale": 0.001,
        "intrinsics": {"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "D": [k1, k2, t1, t2, k3],
                       "model": "plumb_bob", "size": [width, height]},
        "pose": {"position": [x, y, z], "orientation": [qx, qy, qz, qw], "frame_id": "odom"},
        "admission": {"category": "moved", "reason": "moved 0.52 m", "sharpness": 812.4, "novelty": 0.31}},
       ...]}

``depth``, ``intrinsics`` and ``pose`` are null when unknown; ``pose`` is the
camera optical frame's pose in ``pose.frame_id``. ``admission`` (why the store
kept the frame) is written for keyframes of a store and ignored on reading.
File names are relative to the folder. Entries are in the order written (time
order for a store's keyframes).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics, Frame, frame_problem
from vilasr_ros.core.errors import DataError
from vilasr_ros.core.poses import Pose
from vilasr_ros.io.camera_files import load_depth
from vilasr_ros.keyframes.frames import Keyframe


class KeyframeFolderError(DataError):
    """A keyframe folder cannot be written or read; the message names the file and what is wrong with it."""


INDEX = "keyframes.json"
FORMAT = "vilasr_ros keyframes"
VERSION = 1


def is_keyframe_folder(directory: str | Path) -> bool:
    """True when ``directory`` holds a keyframes.json."""
    return (Path(directory) / INDEX).is_file()


def write_keyframes(keyframes: Iterable[Keyframe | Frame], directory: str | Path) -> Path:
    """Write ``keyframes`` (a store's keyframes, or frames numbered 1, 2, ...) as a keyframe folder.

    ``directory`` is created when missing; a previous keyframe folder in it is
    replaced, any other non-empty directory is refused. Returns the path of
    keyframes.json. Raises :class:`KeyframeFolderError` for an invalid frame or a
    directory it must not write into.
    """
    directory = Path(directory)
    items = [
        (item.id, item.frame, item) if isinstance(item, Keyframe) else (number, item, None)
        for number, item in enumerate(keyframes, start=1)
    ]
    for keyframe_id, frame, _ in items:
        problem = frame_problem(frame)
        if problem is not None:
            raise KeyframeFolderError(f"cannot write keyframe {keyframe_id}: {problem}")
    ids = [keyframe_id for keyframe_id, _, _ in items]
    if len(set(ids)) != len(ids):
        raise KeyframeFolderError(f"keyframe ids must be unique, got {ids}")
    _prepare(directory)
    entries = [_write_entry(directory, keyframe_id, frame, keyframe) for keyframe_id, frame, keyframe in items]
    index = directory / INDEX
    index.write_text(json.dumps({"format": FORMAT, "version": VERSION, "keyframes": entries}, indent=1) + "\n")
    return index


def read_keyframes(directory: str | Path) -> list[Frame]:
    """The frames of a keyframe folder, in file order.

    Raises :class:`KeyframeFolderError` naming the file and what is wrong with it.
    """
    directory = Path(directory)
    entries = _read_index(directory)
    return [_read_entry(directory, entry, number) for number, entry in enumerate(entries, start=1)]


def _prepare(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise KeyframeFolderError(f"{directory} is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not is_keyframe_folder(directory):
            raise KeyframeFolderError(
                f"{directory} is not empty and holds no {INDEX}: refusing to write keyframes into it"
            )
        for entry in _read_index(directory):
            for key in ("rgb", "depth"):
                if isinstance(entry.get(key), str):
                    _inside(directory, entry[key]).unlink(missing_ok=True)
        (directory / INDEX).unlink()
    (directory / "rgb").mkdir(parents=True, exist_ok=True)
    (directory / "depth").mkdir(exist_ok=True)


def _write_entry(directory: Path, keyframe_id: int, frame: Frame, keyframe: Keyframe | None) -> dict[str, Any]:
    stem = f"{keyframe_id:06d}"
    rgb_name = f"rgb/{stem}.png"
    if not cv2.imwrite(str(directory / rgb_name), cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)):
        raise KeyframeFolderError(f"cannot write {directory / rgb_name}")
    depth_name = None
    if frame.depth is not None and frame.depth.dtype == np.uint16:
        depth_name = f"depth/{stem}.png"
        if not cv2.imwrite(str(directory / depth_name), frame.depth):
            raise KeyframeFolderError(f"cannot write {directory / depth_name}")
    elif frame.depth is not None:
        depth_name = f"depth/{stem}.npy"
        np.save(directory / depth_name, frame.depth, allow_pickle=False)
    entry: dict[str, Any] = {
        "id": int(keyframe_id),
        "camera": frame.camera,
        "stamp_ns": int(frame.stamp_ns),
        "frame_id": frame.frame_id,
        "rgb": rgb_name,
        "depth": depth_name,
        "depth_scale": float(frame.depth_scale),
        "intrinsics": None,
        "pose": None,
    }
    if frame.intrinsics is not None:
        intrinsics = frame.intrinsics
        entry["intrinsics"] = {
            "K": intrinsics.k.tolist(),
            "D": list(intrinsics.distortion),
            "model": intrinsics.distortion_model,
            "size": [intrinsics.width, intrinsics.height],
        }
    if frame.pose is not None:
        entry["pose"] = {
            "position": list(frame.pose.position),
            "orientation": list(frame.pose.orientation),
            "frame_id": frame.pose.frame_id,
        }
    if keyframe is not None:
        entry["admission"] = {
            "category": keyframe.category,
            "reason": keyframe.reason,
            "sharpness": keyframe.sharpness,
            "novelty": keyframe.novelty,
        }
    return entry


def _read_index(directory: Path) -> list[dict[str, Any]]:
    index = directory / INDEX
    try:
        document = json.loads(index.read_text())
    except FileNotFoundError:
        raise KeyframeFolderError(f"{directory} is not a keyframe folder: {INDEX} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KeyframeFolderError(f"cannot read {index}: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyframeFolderError(f'{index} is not a vilasr_ros keyframe index (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise KeyframeFolderError(
            f"{index} has version {document.get('version')!r}; this reader knows version {VERSION}"
        )
    entries = document.get("keyframes")
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise KeyframeFolderError(f'{index}: "keyframes" must be a list of objects')
    return entries


def _read_entry(directory: Path, entry: dict[str, Any], number: int) -> Frame:
    where = f"{directory / INDEX}, keyframe {entry.get('id', f'#{number}')}"
    try:
        rgb = _read_rgb(_inside(directory, entry["rgb"]))
        depth = None if entry["depth"] is None else load_depth(_inside(directory, entry["depth"]))
        frame = Frame(
            camera=entry["camera"],
            stamp_ns=entry["stamp_ns"],
            frame_id=entry["frame_id"],
            rgb=rgb,
            depth=depth,
            depth_scale=entry["depth_scale"],
            intrinsics=None if entry["intrinsics"] is None else _intrinsics(entry["intrinsics"]),
            pose=None if entry["pose"] is None else _pose(entry["pose"]),
        )
    except KeyError as error:
        raise KeyframeFolderError(f"{where}: missing field {error}") from None
    except (KeyframeFolderError, TypeError, ValueError) as error:
        raise KeyframeFolderError(f"{where}: {error}") from None
    problem = frame_problem(frame)
    if problem is not None:
        raise KeyframeFolderError(f"{where}: {problem}")
    return frame


def _inside(directory: Path, name: Any) -> Path:
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise KeyframeFolderError(f"file names must be relative paths inside the folder, got {name!r}")
    return directory / name


def _read_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise KeyframeFolderError(f"cannot read colour image {path}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise KeyframeFolderError(f"{path} must be an 8-bit RGB image, got {image.dtype} of shape {image.shape}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _intrinsics(fields: dict[str, Any]) -> CameraIntrinsics:
    width, height = fields["size"]
    return CameraIntrinsics(
        k=np.array(fields["K"], dtype=np.float64),
        width=width,
        height=height,
        distortion=tuple(fields["D"]),
        distortion_model=fields["model"],
    )


def _pose(fields: dict[str, Any]) -> Pose:
    pose = Pose(tuple(fields["position"]), tuple(fields["orientation"]), fields["frame_id"])
    stored = tuple(float(value) for value in fields["orientation"])
    if math.isclose(math.fsum(value * value for value in stored), 1.0, abs_tol=1e-12):
        # Written from a Pose, so already unit: keep it bit for bit (normalising again can move the last bit).
        object.__setattr__(pose, "orientation", stored)
    return pose
