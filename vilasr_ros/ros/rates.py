"""Event rates over a sliding window, from periodic samples of a growing counter (camera frame rates
in the diagnostics)."""

from __future__ import annotations

from collections import deque

RATE_WINDOW_S = 5.0


class RateWindow:
    """Events per second over about the last ``window`` seconds of a counter sampled now and then.

    ``update(count, now)`` takes the counter's value at monotonic time ``now`` and returns the rate
    since the newest sample at least ``window`` s old (or the oldest sample, while there is none);
    None until two samples span some time. A counter that goes back (reset) starts over.
    """

    def __init__(self, window: float = RATE_WINDOW_S) -> None:
        if not window > 0:
            raise ValueError(f"the rate window must be > 0 s, got {window}")
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def update(self, count: int, now: float) -> float | None:
        if self._samples and (count < self._samples[-1][1] or now < self._samples[-1][0]):
            self._samples.clear()
        self._samples.append((now, count))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()
        first_time, first_count = self._samples[0]
        if now <= first_time:
            return None
        return (count - first_count) / (now - first_time)
