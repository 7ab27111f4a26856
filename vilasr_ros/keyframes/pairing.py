"""One camera's colour frames paired with depth, calibration and pose as messages arrive, live or from a bag.

A colour frame is paired with the depth image of nearest stamp within the
depth tolerance and with the latest camera_info. It waits (at most twice the
tolerance plus 0.1 s after its arrival, and while at most ``MAX_PENDING``
frames wait) for a depth image, the first camera_info, or (with a pose topic)
a pose stamped at or after it, then goes on without them. Its pose is looked up when it is released. Arrival
times are passed in (``time.monotonic()`` live, the log time of a recording),
so a recorded run is paired exactly as the live node would have paired it.

Depth is used only when it is registered to the colour image: its frame_id is
the colour image's (or the camera is declared ``depth_registered``) and its
size passes :func:`~vilasr_ros.core.camera.depth_problem`. Unregistered depth
is dropped and reported through ``on_problem``; its colour frame goes on
without depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vilasr_ros.core.camera import CameraIntrinsics, Frame, depth_problem
from vilasr_ros.core.poses import Pose, compose
from vilasr_ros.keyframes.sync import PoseHistory, StampedBuffer

DEPTH_BUFFER = 30
# Bytes of depth kept for pairing per camera, outside keyframes.max_bytes (a fixed overhead): 26 720p 16-bit
# images, 13 float ones; the newest image is always kept, however large.
DEPTH_BUFFER_BYTES = 48 * 2**20
MAX_PENDING = 5  # colour frames waiting for depth / camera_info; more go on without them

# (camera optical frame, stamp in ns, the camera's extrinsic in the base frame) -> pose in a fixed frame
PoseLookup = Callable[[str, int, Pose | None], Pose | None]
# (short category for counters, full message) of a dropped depth image
ProblemReport = Callable[[str, str], None]


@dataclass(frozen=True)
class PairingSettings:
    """What pairing needs to know of one camera."""

    camera: str  # the camera's name (Frame.camera)
    frame_id: str  # the optical frame; '' takes the colour header's frame_id
    depth_scale: float  # metres per unit of uint16 depth
    expects_depth: bool  # a depth topic is configured: colour frames wait briefly for it
    expects_camera_info: bool  # a camera_info topic is configured: colour frames wait for the first one
    depth_tolerance: float  # seconds between a colour frame and its depth image
    extrinsic: Pose | None = None  # the optical frame in the base frame, for poses from a base pose topic
    depth_registered: bool = False  # depth is registered although its frame_id differs from the colour's


class FramePairing:
    """Turns one camera's colour, depth and camera_info arrivals into frames ready for the keyframe store."""

    def __init__(
        self,
        settings: PairingSettings,
        camera_pose: PoseLookup,
        on_problem: ProblemReport | None = None,
        pose_pending: Callable[[int], bool] | None = None,
    ) -> None:
        """``pose_pending(stamp_ns)``: True while no pose at or after that stamp has arrived yet (a pose topic
        that lags the images): the frame then waits for one like it waits for depth, instead of taking the
        last pose before it (off by the robot's motion since)."""
        self.settings = settings
        self._camera_pose = camera_pose
        self._pose_pending = pose_pending
        self._on_problem = on_problem
        self._depth_tolerance_ns = round(settings.depth_tolerance * 1e9)
        self._wait_s = 2 * settings.depth_tolerance + 0.1
        self._depth: StampedBuffer[_Depth] = StampedBuffer(
            DEPTH_BUFFER, max_bytes=DEPTH_BUFFER_BYTES, size=lambda depth: depth.image.nbytes
        )
        self._pending: list[_PendingFrame] = []
        self._intrinsics: CameraIntrinsics | None = None
        self._extrinsic = settings.extrinsic

    @property
    def held_bytes(self) -> int:
        """Bytes of the colour frames waiting and the depth images buffered for pairing."""
        return sum(pending.rgb.nbytes for pending in self._pending) + self._depth.total(lambda d: d.image.nbytes)

    def clear(self, after_ns: int | None = None) -> None:
        """Forget buffered depth and waiting frames (time jumped back): those stamped after ``after_ns``
        (the old time line; what already came on the new one is kept), or all of them."""
        if after_ns is None:
            self._depth.clear()
            self._pending = []
        else:
            self._depth.discard_after(after_ns)
            self._pending = [pending for pending in self._pending if pending.stamp_ns <= after_ns]

    def add_camera_info(self, intrinsics: CameraIntrinsics, now: float) -> list[Frame]:
        """Use ``intrinsics`` from now on; returns the frames that were waiting only for them."""
        self._intrinsics = intrinsics
        return self._release(now, flush_stale=False)

    def add_depth(self, stamp_ns: int, depth: np.ndarray, now: float, frame_id: str = "") -> list[Frame]:
        """Keep a depth image for pairing (``frame_id``: its header's; '' when unknown, not checked);
        returns the frames that were waiting for it."""
        self._depth.add(stamp_ns, _Depth(depth, frame_id))
        return self._release(now, flush_stale=False)

    def add_colour(self, stamp_ns: int, header_frame_id: str, rgb: np.ndarray, now: float) -> list[Frame]:
        """Queue a colour frame; returns the frames ready now (it, when nothing is missing, and stale ones)."""
        frame_id = self.settings.frame_id or header_frame_id or self.settings.camera
        self._pending.append(_PendingFrame(stamp_ns, frame_id, rgb, now, header_frame_id))
        return self._release(now, flush_stale=True)

    def flush(self) -> list[Frame]:
        """Every waiting frame, with whatever it could be paired with (the end of a recording)."""
        frames = [self._frame(pending, self._nearest_depth(pending)) for pending in self._pending]
        self._pending = []
        return frames

    def _release(self, now: float, flush_stale: bool) -> list[Frame]:
        ready, waiting = [], []
        for pending in self._pending:
            depth = self._nearest_depth(pending)
            missing = (
                (self.settings.expects_depth and depth is None)
                or (self.settings.expects_camera_info and self._intrinsics is None)
                or (self._pose_pending is not None and self._pose_pending(pending.stamp_ns))
            )
            give_up = flush_stale and now - pending.received > self._wait_s
            if missing and not give_up and len(self._pending) <= MAX_PENDING:
                waiting.append(pending)
            else:
                ready.append(self._frame(pending, depth))
        self._pending = waiting
        return ready

    def _nearest_depth(self, pending: _PendingFrame) -> _Depth | None:
        return self._depth.nearest(pending.stamp_ns, self._depth_tolerance_ns) if self.settings.expects_depth else None

    def _registered(self, pending: _PendingFrame, depth: _Depth | None) -> np.ndarray | None:
        """The depth image when it is registered to the pending colour frame; else None (and reported)."""
        if depth is None:
            return None
        header = pending.header_frame_id
        if depth.frame_id and header and depth.frame_id != header and not self.settings.depth_registered:
            self._report(
                "depth frame mismatch",
                f"depth in frame {depth.frame_id!r} is not registered to the colour frame {header!r}: dropped "
                f"(use an aligned depth topic, or set cameras.{self.settings.camera}.depth_registered if it is)",
            )
            return None
        height, width = pending.rgb.shape[:2]
        problem = depth_problem(depth.image, self.settings.depth_scale, width, height)
        if problem is not None:
            self._report("depth not registered", f"depth dropped, the colour frame kept: {problem}")
            return None
        return depth.image

    def _report(self, category: str, message: str) -> None:
        if self._on_problem is not None:
            self._on_problem(category, message)

    def _frame(self, pending: _PendingFrame, depth: _Depth | None) -> Frame:
        return Frame(
            camera=self.settings.camera,
            stamp_ns=pending.stamp_ns,
            frame_id=pending.frame_id,
            rgb=pending.rgb,
            depth=self._registered(pending, depth),
            depth_scale=self.settings.depth_scale,
            intrinsics=self._intrinsics,
            pose=self._camera_pose(pending.frame_id, pending.stamp_ns, self._extrinsic),
        )


@dataclass(frozen=True)
class _PendingFrame:
    """A converted colour frame waiting (briefly) for its depth image or calibration."""

    stamp_ns: int
    frame_id: str
    rgb: np.ndarray
    received: float  # arrival time in seconds (monotonic clock live, log time offline)
    header_frame_id: str = ""  # the colour message's own frame_id ('' when unknown)


@dataclass(frozen=True)
class _Depth:
    """A buffered depth image and its header's frame_id ('' when unknown)."""

    image: np.ndarray
    frame_id: str


class TopicPoses:
    """Base poses from an odometry or pose topic, interpolated to a frame's stamp and composed with the
    camera's extrinsic (its optical frame in the base frame); a :data:`PoseLookup` as ``camera_pose``."""

    def __init__(self, max_gap: float) -> None:
        self._history = PoseHistory(max_gap_ns=round(max_gap * 1e9))
        self.latest: Pose | None = None
        self._latest_stamp = 0

    def add(self, stamp_ns: int, base_pose: Pose) -> None:
        self._history.add(stamp_ns, base_pose)
        self.latest = base_pose
        self._latest_stamp = stamp_ns

    def clear(self, after_ns: int | None = None) -> None:
        """Forget the poses stamped after ``after_ns`` (time jumped back: the old time line), or all."""
        if after_ns is None:
            self._history.clear()
        else:
            self._history.discard_after(after_ns)
        if after_ns is None or self._latest_stamp > after_ns:
            self.latest = None

    def pending(self, stamp_ns: int) -> bool:
        """True while poses arrive but none at or after ``stamp_ns`` yet (a frame stamped then should wait)."""
        newest = self._history.newest_stamp()
        return newest is not None and newest < stamp_ns

    def camera_pose(self, camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> Pose | None:
        if extrinsic is None:
            return None
        base = self._history.at(stamp_ns)
        return None if base is None else compose(base, extrinsic)


def no_pose(camera_frame: str, stamp_ns: int, extrinsic: Pose | None) -> None:
    """The :data:`PoseLookup` of a run without poses: frames stay 2D."""
    return None
