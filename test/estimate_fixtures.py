"""A plain object estimate for tests that need one without running the geometry."""

from __future__ import annotations

from typing import Any

from vilasr_ros.geometry import OBJECT, SpatialEstimate


def object_estimate(label: str, **fields: Any) -> SpatialEstimate:
    """A valid 3D object estimate of ``label`` in ``map`` (image 2, drawn on source 1 of camera front);
    ``fields`` override any field of :class:`SpatialEstimate`."""
    defaults: dict[str, Any] = {
        "label": label,
        "kind": OBJECT,
        "image_index": 2,
        "source_index": 1,
        "camera": "front",
        "camera_frame_id": "front_optical",
        "keyframe_stamp_ns": 0,
        "bbox_px": (10.0, 20.0, 110.0, 220.0),
        "segment_px": (0.0, 0.0, 0.0, 0.0),
        "has_depth": True,
        "has_pose": True,
        "valid_3d": True,
        "frame_id": "map",
        "position": (1.0, 2.0, 0.5),
    }
    return SpatialEstimate(**{**defaults, **fields})
