"""The geometry layer's entry point: a query's final drawings -> fused metric estimates."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from vilasr_ros.config import GeometryConfig
from vilasr_ros.core.camera import Frame
from vilasr_ros.core.conversation import Box, ConversationImage, Line
from vilasr_ros.core.poses import Pose, RigidTransform
from vilasr_ros.geometry.depth import DepthRange
from vilasr_ros.geometry.errors import GeometryError
from vilasr_ros.geometry.estimates import OBJECT, PATH, EstimationResult, SkippedDrawing, SpatialEstimate
from vilasr_ros.geometry.fusion import fuse_clusters, object_distances
from vilasr_ros.geometry.lifting import (
    KeyframeView,
    LiftingSettings,
    estimate_object,
    estimate_path,
    keyframe_problem,
    prepare_keyframe,
)
from vilasr_ros.geometry.object_points import ObjectSettings
from vilasr_ros.geometry.objects import object_boxes
from vilasr_ros.geometry.transforms import Polar, polar_optical, polar_rep103


def estimate_drawings(
    images: Sequence[ConversationImage],
    frames: Sequence[Frame | None],
    target_frame: str,
    *,
    base_pose: Pose | None = None,
    base_frame: str = "base_link",
    config: GeometryConfig | None = None,
) -> EstimationResult:
    """Lift every box and line of a query's conversation to an estimate, and fuse them per label.

    - ``images``: the engine's final conversation images (``ReasoningResult.images``);
      for each keyframe, a label's latest drawing on it counts (a later call
      that redraws a label replaces it, as the model sees it).
    - ``frames``: the keyframes' frames in conversation order: ``frames[i]``
      is source image ``i + 1`` (what the reasoning loop was given); ``None``
      where no frame is known.
      Each frame's pose (camera optical frame) must be in ``target_frame``
      to give ``valid_3d`` estimates.
    - ``base_pose``: the robot base (``base_frame``, REP 103) in ``target_frame``;
      ranges and bearings are from it when given, else from the camera.

    Returns the fused estimates (one per label and kind, per distinct
    instance), the per-drawing views, the distances between objects and the
    drawings that could not be estimated, with why. Bad data never raises: it
    degrades an estimate (flags and ``note``) or skips a drawing.
    Raises :class:`GeometryError` on wrong argument types only.
    """
    config = GeometryConfig() if config is None else config
    images, frames = _checked_arguments(images, frames, target_frame, base_pose, base_frame, config)
    settings, base_note = _lifting_settings(config, target_frame, base_pose, base_frame)
    keyframes: dict[int, KeyframeView | str] = {}  # source index -> checked keyframe, or why it is unusable
    views: list[SpatialEstimate] = []
    skipped: list[SkippedDrawing] = []
    for image, item in final_drawings(images):
        if image.source_index not in keyframes:
            keyframes[image.source_index] = _keyframe_view(image, frames, target_frame)
        estimate = _estimate(item, image, keyframes[image.source_index], settings)
        if isinstance(estimate, SkippedDrawing):
            skipped.append(estimate)
        else:
            views.append(_with_note(estimate, base_note))

    def measure(position: np.ndarray, representative: SpatialEstimate) -> Polar:
        """Range and bearing of a fused position: from the base, else from the representative view's camera."""
        if settings.base_from_target is not None:
            return polar_rep103(settings.base_from_target.apply(position), base_frame)
        keyframe = keyframes[representative.source_index]
        assert isinstance(keyframe, KeyframeView) and keyframe.camera_to_target is not None  # fused views are valid_3d
        return polar_optical(keyframe.camera_to_target.inverse().apply(position), representative.camera_frame_id)

    fused = fuse_clusters(views, config.fusion_radius, measure)
    object_settings = ObjectSettings(min_depth=config.min_depth, max_depth=config.max_depth)
    estimates, boxes = object_boxes(fused, keyframes, object_settings, config.approach_standoff)
    return EstimationResult(estimates, views, object_distances(estimates, boxes), skipped)


def final_drawings(images: Sequence[ConversationImage]) -> list[tuple[ConversationImage, Box | Line]]:
    """Each keyframe's final boxes and lines: per source image, kind and label, those of the latest image drawn.

    Ordered by image index, then as drawn.
    """
    latest: dict[tuple[int, str, str], ConversationImage] = {}
    for image in sorted(images, key=lambda image: image.index):
        for item in [*image.boxes, *image.lines]:
            latest[(image.source_index, type(item).__name__, item.label)] = image
    drawings = []
    winners = {id(image): image for image in latest.values()}
    for image in sorted(winners.values(), key=lambda image: image.index):
        for item in [*image.boxes, *image.lines]:
            if latest[(image.source_index, type(item).__name__, item.label)] is image:
                drawings.append((image, item))
    return drawings


def _lifting_settings(
    config: GeometryConfig, target_frame: str, base_pose: Pose | None, base_frame: str
) -> tuple[LiftingSettings, str]:
    """The settings of every drawing's lifting, and a note when the base pose cannot be used."""
    base_from_target = None
    base_note = ""
    if base_pose is not None:
        if base_pose.frame_id == target_frame:
            base_from_target = RigidTransform.from_pose(base_pose).inverse()
        else:
            base_note = f"base pose ignored: it is in {base_pose.frame_id!r}, not {target_frame!r}"
    settings = LiftingSettings(
        target_frame=target_frame,
        limits=DepthRange(config.min_depth, config.max_depth),
        inner_box_fraction=config.inner_box_fraction,
        min_valid_fraction=config.min_valid_fraction,
        endpoint_radius=config.endpoint_radius,
        base_from_target=base_from_target,
        base_frame=base_frame,
    )
    return settings, base_note


def _estimate(
    item: Box | Line, image: ConversationImage, keyframe: KeyframeView | str, settings: LiftingSettings
) -> SpatialEstimate | SkippedDrawing:
    """One drawing's estimate, or why it has none; numerical failures skip the drawing instead of raising."""
    kind = OBJECT if isinstance(item, Box) else PATH
    if isinstance(keyframe, str):
        return SkippedDrawing(item.label, kind, image.index, keyframe)
    try:
        if isinstance(item, Box):
            return estimate_object(item, image, keyframe, settings)
        return estimate_path(item, image, keyframe, settings)
    except (ValueError, ArithmeticError, IndexError, TypeError, cv2.error) as error:
        return SkippedDrawing(item.label, kind, image.index, f"cannot be estimated: {error}")


def _keyframe_view(image: ConversationImage, frames: Sequence[Frame | None], target_frame: str) -> KeyframeView | str:
    """The checked keyframe under ``image``, or why its drawings cannot be estimated."""
    if not 1 <= image.source_index <= len(frames) or frames[image.source_index - 1] is None:
        return f"no keyframe for source image {image.source_index}"
    frame = frames[image.source_index - 1]
    problem = keyframe_problem(frame)
    if problem:
        return problem
    height, width = frame.rgb.shape[:2]
    mapping = image.mapping
    if (mapping.source_width, mapping.source_height) != (width, height):
        return (
            f"image {image.index} was resized from {mapping.source_width}x{mapping.source_height}, "
            f"but keyframe {image.source_index} is {width}x{height}"
        )
    return prepare_keyframe(frame, target_frame)


def _with_note(estimate: SpatialEstimate, note: str) -> SpatialEstimate:
    if not note:
        return estimate
    return dataclasses.replace(estimate, note="; ".join(filter(None, (estimate.note, note))))


def _checked_arguments(
    images: Iterable[object],
    frames: Iterable[object],
    target_frame: object,
    base_pose: object,
    base_frame: object,
    config: object,
) -> tuple[list[ConversationImage], list[Frame | None]]:
    images = _as_list(images, "images")
    frames = _as_list(frames, "frames")
    if not all(isinstance(image, ConversationImage) for image in images):
        raise GeometryError("images must be a sequence of ConversationImage (ReasoningResult.images)")
    if not all(frame is None or isinstance(frame, Frame) for frame in frames):
        raise GeometryError("frames must be a sequence of Frame or None, in conversation order")
    for name, value in (("target_frame", target_frame), ("base_frame", base_frame)):
        if not isinstance(value, str) or not value.strip():
            raise GeometryError(f"{name} must be a non-empty frame id, got {value!r}")
    if base_pose is not None and not isinstance(base_pose, Pose):
        raise GeometryError(f"base_pose must be a Pose or None, got {type(base_pose).__name__}")
    if not isinstance(config, GeometryConfig):
        raise GeometryError(f"config must be a GeometryConfig, got {type(config).__name__}")
    return images, frames  # type: ignore[return-value]


def _as_list(values: Iterable[object], name: str) -> list[object]:
    if isinstance(values, (str, bytes)):
        raise GeometryError(f"{name} must be a sequence, got {type(values).__name__}")
    try:
        return list(values)
    except TypeError as error:
        raise GeometryError(f"{name} must be a sequence, got {type(values).__name__}") from error
