"""Choose a few keyframes that spread over time and viewpoint.

Greedy farthest-point sampling: start from the newest keyframe, then keep
adding the keyframe farthest from every one chosen so far. Each keyframe is a
point made of

- its time, scaled to [0, 1] over the candidates' time span;
- when every candidate has a pose in the same fixed frame: its position,
  divided by the candidates' largest extent along an axis (at least
  ``position_unit``, so jitter below the admission threshold never counts as
  a new viewpoint), and half its optical axis (opposite headings lie 1 apart);
- otherwise: which camera it came from (two cameras lie 1 apart).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vilasr_ros.keyframes.frames import Keyframe


def spread_over_time_and_view(keyframes: Sequence[Keyframe], count: int, position_unit: float) -> list[Keyframe]:
    """Up to ``count`` of ``keyframes``, always with the newest, in time order."""
    ordered = sorted(keyframes, key=_time_order)
    if len(ordered) <= count:
        return ordered
    points = _points(ordered, position_unit)
    chosen = [len(ordered) - 1]
    distance = np.linalg.norm(points - points[-1], axis=1)
    while len(chosen) < count:
        index = int(np.argmax(distance))
        chosen.append(index)
        distance = np.minimum(distance, np.linalg.norm(points - points[index], axis=1))
    return [ordered[index] for index in sorted(chosen)]


def _time_order(keyframe: Keyframe) -> tuple[int, int]:
    return keyframe.stamp_ns, keyframe.id


def _points(ordered: Sequence[Keyframe], position_unit: float) -> np.ndarray:
    stamps = np.array([keyframe.stamp_ns for keyframe in ordered], dtype=np.float64)
    span = stamps[-1] - stamps[0]
    columns = [((stamps - stamps[0]) / span if span > 0 else np.zeros_like(stamps))[:, None]]
    poses = [keyframe.frame.pose for keyframe in ordered]
    if all(pose is not None for pose in poses) and len({pose.frame_id for pose in poses}) == 1:
        positions = np.array([pose.position for pose in poses])
        extent = max(float(np.ptp(positions, axis=0).max()), position_unit)
        columns.append(positions / extent)
        columns.append(0.5 * np.array([pose.viewing_direction() for pose in poses]))
    else:
        cameras = sorted({keyframe.camera for keyframe in ordered})
        if len(cameras) > 1:
            one_hot = np.array([[keyframe.camera == name for name in cameras] for keyframe in ordered], float)
            columns.append(one_hot / np.sqrt(2.0))
    return np.hstack(columns)
