"""What the demo shows: each answer with its estimates next to the ground truth, and a one-page summary image."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np

from vilasr_ros.core.poses import yaw_of
from vilasr_ros.ros.demo.script import DRIVE, STOP
from vilasr_ros.sim import room as scene


@functools.lru_cache(maxsize=1)
def _stop_depth() -> np.ndarray:
    return scene.render(STOP)[1]


def ground_truth(label: str, estimate) -> tuple[float, float, float] | None:
    """Where the camera at STOP really sees the estimate's pixel (the rendered depth, in odom)."""
    if label not in {item.label for item in scene.OBJECTS}:
        return None
    x1, y1, x2, y2 = estimate.bbox_px
    return scene.surface_point((x1 + x2) / 2, (y1 + y2) / 2, _stop_depth(), STOP)


def print_result(result, question: str) -> list:
    """Print the answer and the estimates next to the ground truth; return the 3D estimates."""
    print(f"\nQ: {question}")
    if not result.success:
        print(f"   failed ({result.stop_reason}): {result.error}")
        return []
    value = f" = {result.numeric_value:.2f} {result.numeric_unit}" if result.has_numeric_value else ""
    choice = f" (option {result.choice})" if result.choice else ""
    seconds = result.latency.sec + result.latency.nanosec / 1e9
    print(f"A: {result.answer}{choice}{value}   [{result.turns_used} turns, {seconds:.2f} s]")
    print(f"   {'estimate':<18}{'position (odom, m)':<24}{'true surface point':<24}{'error':>8}   bearing from robot")
    boxes = [e for e in result.estimates.estimates if e.has_box]
    placed = []
    for estimate in result.estimates.estimates:
        p = estimate.position
        if not estimate.valid_3d:
            print(f"   {estimate.label:<18}(no 3D: {estimate.note})")
            continue
        placed.append(estimate)
        position = f"({p.x:5.2f}, {p.y:5.2f}, {p.z:5.2f})"
        truth = ground_truth(estimate.label, estimate)
        if truth is not None:
            error = math.dist((p.x, p.y, p.z), truth)
            side = "left" if estimate.bearing > 0 else "right"
            print(
                f"   {estimate.label:<18}{position:<24}({truth[0]:5.2f}, {truth[1]:5.2f}, {truth[2]:5.2f})  {error:6.2f} m"
                f"   {math.degrees(estimate.bearing):+5.1f} deg ({side})"
            )
        else:
            end = estimate.end_position
            print(
                f"   {estimate.label:<18}{position:<24}path to ({end.x:.2f}, {end.y:.2f}, {end.z:.2f}), {estimate.length:.2f} m"
            )
    for estimate in boxes:
        truth = next((item for item in scene.OBJECTS if item.label == estimate.label), None)
        centre, size = estimate.box_pose.position, estimate.box_size
        known = f"   true centre ({truth.centre[0]:.2f}, {truth.centre[1]:.2f}, {truth.centre[2]:.2f})" if truth else ""
        print(
            f"   {estimate.label:<18}box centre ({centre.x:.2f}, {centre.y:.2f}, {centre.z:.2f}), "
            f"size {size.x:.2f} x {size.y:.2f} x {size.z:.2f} m{known}"
        )
    for distance in result.estimates.distances:
        gap = f", gap {distance.gap:.2f} m" if math.isfinite(distance.gap) else ""
        print(
            f"   distance {distance.label_a} - {distance.label_b}: {distance.distance:.2f} m "
            f"(+- {distance.stddev:.2f}){gap}"
        )
    return placed


APPROACHED = "red chair"  # the object the questions ask about


def box_footprint(estimate) -> list[tuple[float, float]]:
    """The four corners (x, y) of an estimate message's box, counter-clockwise."""
    o = estimate.box_pose.orientation
    yaw = yaw_of((o.x, o.y, o.z, o.w))
    c, s = math.cos(yaw), math.sin(yaw)
    half_x, half_y = estimate.box_size.x / 2, estimate.box_size.y / 2
    cx, cy = estimate.box_pose.position.x, estimate.box_pose.position.y
    return [
        (cx + c * dx - s * dy, cy + s * dx + c * dy)
        for dx, dy in ((-half_x, -half_y), (half_x, -half_y), (half_x, half_y), (-half_x, half_y))
    ]


def summary_image(drawings: list[str], estimates: list, path: Path) -> None:
    """One page: the drawings the model made, and a top-down map of the estimates against the ground truth."""
    tiles = [cv2.resize(cv2.imread(p), (420, 310)) for p in drawings[:4]]
    tiles += [np.full((310, 420, 3), 255, np.uint8)] * (4 - len(tiles))
    left = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:4])])
    size, scale = left.shape[0], left.shape[0] / 8.5  # metres -> pixels; odom x from -2 to 6.5 upwards

    def to_px(x: float, y: float) -> tuple[int, int]:
        return int(size / 2 - y * scale), int(size - (x + 2.0) * scale)

    plot = np.full((size, size, 3), 255, np.uint8)
    cv2.line(plot, to_px(scene.WALL_X, 3.5), to_px(scene.WALL_X, -3.5), (60, 60, 60), 3)
    for item in scene.OBJECTS:
        (cx, cy, _), (sx, sy, _) = item.centre, item.size
        colour = tuple(int(c) for c in item.colour[::-1])
        cv2.rectangle(plot, to_px(cx + sx / 2, cy + sy / 2), to_px(cx - sx / 2, cy - sy / 2), colour, 2)
        cv2.putText(plot, item.label, to_px(cx - sx / 2 - 0.25, cy + sy / 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)
    cv2.polylines(plot, [np.array([to_px(p.x, p.y) for p in DRIVE])], False, (120, 120, 120), 2)
    cv2.circle(plot, to_px(STOP.x, STOP.y), 6, (0, 0, 0), -1)
    approached: set[str] = set()
    for estimate in estimates:
        centre = to_px(estimate.position.x, estimate.position.y)
        if estimate.kind == estimate.KIND_PATH:
            cv2.arrowedLine(plot, centre, to_px(estimate.end_position.x, estimate.end_position.y), (0, 0, 0), 1)
            continue
        cv2.drawMarker(plot, centre, (0, 0, 0), cv2.MARKER_TILTED_CROSS, 14, 2)
        if estimate.has_box:
            corners = [to_px(x, y) for x, y in box_footprint(estimate)]
            cv2.polylines(plot, [np.array(corners)], True, (0, 0, 0), 1, cv2.LINE_AA)
        if estimate.has_box and estimate.label == APPROACHED and estimate.label not in approached:
            approached.add(estimate.label)  # where a planner would send the robot to reach the chair
            goal = estimate.approach_pose
            yaw = yaw_of((goal.orientation.x, goal.orientation.y, goal.orientation.z, goal.orientation.w))
            tip = (goal.position.x + 0.4 * math.cos(yaw), goal.position.y + 0.4 * math.sin(yaw))
            cv2.arrowedLine(plot, to_px(goal.position.x, goal.position.y), to_px(*tip), (200, 0, 200), 2, tipLength=0.3)
    for line, text in enumerate(
        [
            "top-down, odom frame; grey: robot drive, dot: where it stopped",
            "coloured: ground truth; black: estimated boxes, crosses: surface points",
            f"magenta: approach pose for the {APPROACHED}; arrow: traced path",
        ]
    ):
        cv2.putText(plot, text, (8, 18 + 16 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1)
    cv2.imwrite(str(path), np.hstack([left, plot]))
