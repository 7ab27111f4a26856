"""Buffers by time: the nearest item to a stamp, poses interpolated to a frame's stamp, and a guard
that tells a stream's late, far-future and jumped stamps apart."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from vilasr_ros.core.poses import Pose, interpolate

Item = TypeVar("Item")


class StampedBuffer(Generic[Item]):
    """The ``capacity`` most recently added items, sorted by stamp (ns), thread-safe; finds the nearest to a stamp.

    Beyond capacity the item added longest ago goes, whatever its stamp: after
    stamps jump back the new (older-stamped) items are kept, not the stale ones.
    """

    def __init__(self, capacity: int, max_bytes: int | None = None, size: Callable[[Item], int] | None = None) -> None:
        """``max_bytes`` (with ``size``, an item's bytes): also evict while the items hold more than that,
        always keeping the newest."""
        if (max_bytes is None) != (size is None):
            raise ValueError("max_bytes and size go together")
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._size = size
        self._bytes = 0
        self._stamps: list[int] = []
        self._items: list[Item] = []
        self._added: list[int] = []  # arrival number of each item, in stamp order
        self._arrivals = itertools.count()
        self._lock = threading.Lock()

    def add(self, stamp_ns: int, item: Item) -> None:
        with self._lock:
            position = bisect.bisect_right(self._stamps, stamp_ns)
            self._stamps.insert(position, stamp_ns)
            self._items.insert(position, item)
            self._added.insert(position, next(self._arrivals))
            if self._size is not None:
                self._bytes += self._size(item)
            while len(self._stamps) > self._capacity or (
                self._max_bytes is not None and self._bytes > self._max_bytes and len(self._stamps) > 1
            ):
                oldest = self._added.index(min(self._added))
                if self._size is not None:
                    self._bytes -= self._size(self._items[oldest])
                del self._stamps[oldest], self._items[oldest], self._added[oldest]

    def total(self, size: Callable[[Item], int]) -> int:
        """The sum of ``size(item)`` over the items (e.g. their bytes)."""
        with self._lock:
            return sum(size(item) for item in self._items)

    def clear(self) -> None:
        with self._lock:
            self._stamps.clear()
            self._items.clear()
            self._added.clear()
            self._bytes = 0

    def discard_after(self, stamp_ns: int) -> None:
        """Drop the items stamped after ``stamp_ns`` (the time line a jump back left behind)."""
        with self._lock:
            keep = bisect.bisect_right(self._stamps, stamp_ns)
            if self._size is not None:
                self._bytes -= sum(self._size(item) for item in self._items[keep:])
            del self._stamps[keep:], self._items[keep:], self._added[keep:]

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

    def last_stamp(self) -> int | None:
        """The largest stamp held, or None when empty."""
        with self._lock:
            return self._stamps[-1] if self._stamps else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._stamps)


class PoseHistory:
    """Recent poses of one frame (e.g. the robot base in ``odom``), interpolated to any stamp within them."""

    def __init__(
        self, capacity: int = 400, max_gap_ns: int = 500_000_000, max_extrapolation_ns: int = 100_000_000
    ) -> None:
        self._buffer: StampedBuffer[Pose] = StampedBuffer(capacity)
        self._max_gap_ns = max_gap_ns
        self._max_extrapolation_ns = max_extrapolation_ns

    def add(self, stamp_ns: int, pose: Pose) -> None:
        self._buffer.add(stamp_ns, pose)

    def clear(self) -> None:
        self._buffer.clear()

    def discard_after(self, stamp_ns: int) -> None:
        """Drop the poses stamped after ``stamp_ns``."""
        self._buffer.discard_after(stamp_ns)

    def newest_stamp(self) -> int | None:
        """The latest stamp held (ns), or None when empty."""
        return self._buffer.last_stamp()

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


ACCEPT, LATE, AHEAD, JUMPED_BACK, JUMPED_FORWARD = "accept", "late", "ahead", "jumped back", "jumped forward"
JUMP_CONFIRMATIONS = 3  # frames in a row that must agree before a time jump is followed


@dataclass(frozen=True)
class StampVerdict:
    """What :meth:`StampGuard.check` decided about one stamp."""

    verdict: str  # accept, late, ahead (dropped), jumped back, jumped forward (accepted: a new time line)
    offset_s: float  # the stamp minus the stream's reference, in seconds

    @property
    def accepted(self) -> bool:
        return self.verdict in (ACCEPT, JUMPED_BACK, JUMPED_FORWARD)


class StampGuard:
    """Judges one stream's stamps against its newest accepted stamp (the reference).

    A stamp up to ``back_tolerance_ns`` before and ``forward_tolerance_ns`` after
    the reference is accepted. One outside that window is dropped (late or
    ahead) unless ``confirmations`` stamps in a row lie outside it in the same
    direction and agree among themselves (each within the tolerances of the one
    before): then time jumped (a bag replayed in a loop, a simulator reset, a
    clock set), the stream follows the new time line and the caller resets what
    it buffered. So a single far-future stamp never moves the reference, and a
    jump back is not mistaken for a few late frames.
    """

    def __init__(
        self, back_tolerance_ns: int, forward_tolerance_ns: int, confirmations: int = JUMP_CONFIRMATIONS
    ) -> None:
        self._back = back_tolerance_ns
        self._forward = forward_tolerance_ns
        self._confirmations = confirmations
        self._reference: int | None = None
        self._candidates: list[int] = []  # consecutive stamps outside the window, agreeing with each other

    @property
    def reference_ns(self) -> int | None:
        return self._reference

    def check(self, stamp_ns: int) -> StampVerdict:
        """The verdict on the stream's next stamp (ns)."""
        if self._reference is None:
            self._reference = stamp_ns
            return StampVerdict(ACCEPT, 0.0)
        offset = stamp_ns - self._reference
        if -self._back <= offset <= self._forward:
            self._reference = max(self._reference, stamp_ns)
            self._candidates.clear()
            return StampVerdict(ACCEPT, offset / 1e9)
        if self._candidates and not self._agrees(self._candidates[-1], stamp_ns, offset):
            self._candidates.clear()
        self._candidates.append(stamp_ns)
        if len(self._candidates) < self._confirmations:
            return StampVerdict(LATE if offset < 0 else AHEAD, offset / 1e9)
        self._reference = max(self._candidates)
        self._candidates.clear()
        return StampVerdict(JUMPED_BACK if offset < 0 else JUMPED_FORWARD, offset / 1e9)

    def reset(self) -> None:
        """Forget the reference (the next stamp is accepted as the first)."""
        self._reference = None
        self._candidates.clear()

    def _agrees(self, previous: int, stamp_ns: int, offset: int) -> bool:
        same_side = (previous < self._reference) == (offset < 0)
        return same_side and -self._back <= stamp_ns - previous <= self._forward
