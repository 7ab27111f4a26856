"""A small transform tree from recorded ``/tf`` and ``/tf_static`` (offline ingest; live, tf2 does this).

Each child frame has one parent (as in tf2). Dynamic transforms keep a short history per edge and are
interpolated to the asked stamp (position linearly, rotation by slerp, at most ``max_gap`` between
neighbours); static ones hold at any time. A lookup composes the chain from the source frame up to
the common ancestor with the target frame and back down.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vilasr_ros.core.poses import Pose
from vilasr_ros.keyframes.sync import PoseHistory

TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"
HISTORY = 2000  # transforms kept per dynamic edge (tf2's default buffer holds 10 s; 2000 is 20 s at 100 Hz)


class TransformTree:
    """Frames connected by stamped transforms; :meth:`lookup` gives one frame's pose in another."""

    def __init__(self, max_gap: float = 0.5) -> None:
        self._max_gap_ns = round(max_gap * 1e9)
        self._parents: dict[str, str] = {}
        self._static: dict[str, Pose] = {}  # child -> its pose in its parent
        self._dynamic: dict[str, PoseHistory] = {}

    @property
    def empty(self) -> bool:
        return not self._parents

    def add(self, parent: str, child: str, stamp_ns: int, child_in_parent: Pose, static: bool) -> None:
        """Record ``child``'s pose in ``parent`` at ``stamp_ns`` (any time when ``static``); a new parent
        for a known child replaces the old edge (tf2 does the same)."""
        parent, child = _frame(parent), _frame(child)
        if not parent or not child or parent == child:
            raise ValueError(f"a transform needs two different frames, got {parent!r} -> {child!r}")
        if self._parents.get(child) != parent:
            self._static.pop(child, None)
            self._dynamic.pop(child, None)
            self._parents[child] = parent
        if static:
            self._static[child] = child_in_parent
        else:
            history = self._dynamic.setdefault(child, PoseHistory(HISTORY, self._max_gap_ns))
            history.add(stamp_ns, child_in_parent)

    def add_message(self, msg: Any, static: bool) -> None:
        """Every transform of a tf2_msgs/TFMessage or ROS 1 tf/tfMessage (ROS field names, duck-typed)."""
        for transform in msg.transforms:
            t, r = transform.transform.translation, transform.transform.rotation
            stamp = transform.header.stamp
            pose = Pose((t.x, t.y, t.z), (r.x, r.y, r.z, r.w), _frame(transform.header.frame_id))
            self.add(
                transform.header.frame_id,
                transform.child_frame_id,
                stamp.sec * 1_000_000_000 + stamp.nanosec,
                pose,
                static,
            )

    def lookup(self, target: str, source: str, stamp_ns: int) -> Pose | None:
        """The pose of frame ``source`` in frame ``target`` at ``stamp_ns``; None when the frames are not
        connected or a transform on the way is not known near that time."""
        target, source = _frame(target), _frame(source)
        source_chain, target_chain = self._chain(source), self._chain(target)
        common = next((frame for frame in source_chain if frame in target_chain), None)
        if common is None:
            return None
        source_in_common = self._pose_in_ancestor(source_chain, common, stamp_ns)
        target_in_common = self._pose_in_ancestor(target_chain, common, stamp_ns)
        if source_in_common is None or target_in_common is None:
            return None
        return Pose.from_matrix(np.linalg.inv(target_in_common) @ source_in_common, target)

    def has_frame(self, frame: str) -> bool:
        """Whether any transform names ``frame`` (as parent or child)."""
        frame = _frame(frame)
        return frame in self._parents or frame in self._parents.values()

    def connected(self, target: str, source: str) -> bool:
        """Whether the chains of ``source`` and ``target`` meet (a lookup may still find no transform in time)."""
        target_chain = self._chain(_frame(target))
        return any(frame in target_chain for frame in self._chain(_frame(source)))

    def root(self, frame: str) -> str:
        """The top of ``frame``'s chain: the frame its parents lead to."""
        return self._chain(_frame(frame))[-1]

    def moves(self, frame: str) -> bool:
        """Whether a dynamic transform lies between ``frame`` and its :meth:`root` (else the chain is only
        fixed mountings, which say nothing of where the robot is)."""
        return any(child not in self._static for child in self._chain(_frame(frame))[:-1])

    def camera_pose(self, target: str):
        """A :data:`~vilasr_ros.keyframes.pairing.PoseLookup` giving camera frames' poses in ``target``
        (the extrinsic parameter is not needed: tf holds the camera's mounting)."""

        def lookup(camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
            return self.lookup(target, camera_frame, stamp_ns)

        return lookup

    def _chain(self, frame: str) -> list[str]:
        chain = [frame]
        while chain[-1] in self._parents and len(chain) <= len(self._parents):  # the bound stops a cycle
            chain.append(self._parents[chain[-1]])
        return chain

    def _pose_in_ancestor(self, chain: list[str], ancestor: str, stamp_ns: int) -> np.ndarray | None:
        matrix = np.eye(4)
        for child in chain[: chain.index(ancestor)]:
            edge = self._static.get(child)
            if edge is None:
                history = self._dynamic.get(child)
                edge = history.at(stamp_ns) if history is not None else None
            if edge is None:
                return None
            matrix = edge.to_matrix() @ matrix
        return matrix


def _frame(frame_id: str) -> str:
    """A tf frame id without the leading '/' that ROS 1 allowed."""
    return frame_id.lstrip("/")
