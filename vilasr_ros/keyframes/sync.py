"""Buffers by time: the nearest item to a stamp, and poses interpolated to a frame's stamp."""

from __future__ import annotations

import bisect
import threading
from typing import Generic, TypeVar

from vilasr_ros.core.poses import Pose, interpolate

Item = TypeVar("Item")


class StampedBuffer(Generic[Item]):
    """The last ``capacity`` items by stamp (ns), thread-safe; finds the nearest to a stamp."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._stamps: list[int] = []
        self._items: list[Item] = []
        self._lock = threading.Lock()

    def add(self, stamp_ns: int, item: Item) -> None:
        with self._lock:
            position = bisect.bisect_right(self._stamps, stamp_ns)
            self._stamps.insert(position, stamp_ns)
            self._items.insert(position, item)
            if len(self._stamps) > self._capacity:
                del self._stamps[0], self._items[0]

    def nearest(self, stamp_ns: int, tolerance_ns: int) -> Item | None:
        """The item whose stamp is nearest to ``stamp_ns``, if within ``tolerance_ns``."""
        with self._lock:
            position = bisect.bisect_left(self._stamps, stamp_ns)
            best: tuple[int, Item] | None = None
            for index in (position - 1, position):
                if 0 <= index < len(self._stamps):
                    gap = abs(self._stamps[index] - stamp_ns)
                    if gap <= tolerance_ns and (best is None or gap < best[0]):
                        best = (gap, self._items[index])
            return best[1] if best else None

    def bracket(self, stamp_ns: int) -> tuple[tuple[int, Item] | None, tuple[int, Item] | None]:
        """The last item at or before ``stamp_ns`` and the first after it (either may be None)."""
        with self._lock:
            position = bisect.bisect_right(self._stamps, stamp_ns)
            before = (self._stamps[position - 1], self._items[position - 1]) if position > 0 else None
            after = (self._stamps[position], self._items[position]) if position < len(self._stamps) else None
            return before, after

    def __len__(self) -> int:
        with self._lock:
            return len(self._stamps)


class PoseHistory:
    """Recent poses of one frame (e.g. the robot base in ``odom``), interpolated to any stamp within them."""

    def __init__(self, capacity: int = 400, max_gap_ns: int = 500_000_000, max_extrapolation_ns: int = 100_000_000) -> None:
        self._buffer: StampedBuffer[Pose] = StampedBuffer(capacity)
        self._max_gap_ns = max_gap_ns
        self._max_extrapolation_ns = max_extrapolation_ns

    def add(self, stamp_ns: int, pose: Pose) -> None:
        self._buffer.add(stamp_ns, pose)

    def at(self, stamp_ns: int) -> Pose | None:
        """The pose at ``stamp_ns``: interpolated between neighbours at most ``max_gap`` apart, or the
        nearest one when the stamp is within ``max_extrapolation`` of the history's ends; else None."""
        before, after = self._buffer.bracket(stamp_ns)
        if before and after and after[0] - before[0] <= self._max_gap_ns:
            fraction = (stamp_ns - before[0]) / max(1, after[0] - before[0])
            return interpolate(before[1], after[1], fraction)
        for neighbour in (before, after):
            if neighbour and abs(neighbour[0] - stamp_ns) <= self._max_extrapolation_ns:
                return neighbour[1]
        return None
