"""Time to build 3D object boxes for a 16-keyframe query (issue 12 target: under 20 ms per object).

    python bench/boxes_bench.py [--keyframes 16] [--repeats 5]

A ray-cast room (vilasr_ros.sim.box_scene) with three objects on the floor,
seen by ``keyframes`` 640x480 RGB-D cameras along a curved drive (1 % range
noise, 5 % holes); every object is drawn (its projected bounding box) on
every keyframe that shows it whole. Per object: one ``estimate_object_box``
(``object_points`` on up to 8 of its keyframes, spread over the viewing
directions, and one ``fit_object_box``); per query: one
``estimate_floor_z`` over all keyframes. Figures are the best of
``repeats`` runs (milliseconds), so other load on the machine inflates them
least. ``time_object_boxes`` is what bench/run.py can call.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from vilasr_ros.geometry.boxes import estimate_object_box
from vilasr_ros.geometry.object_points import DepthView, estimate_floor_z
from vilasr_ros.sim.box_scene import Camera, Cuboid, Room, drawn_box

OBJECTS = (
    Cuboid.on_floor("crate", (3.2, 0.6), (0.6, 0.4, 0.5), 30),
    Cuboid.on_floor("cabinet", (4.2, -1.0), (1.0, 0.5, 1.2), -20),
    Cuboid.on_floor("table", (4.6, 1.5), (1.4, 0.8, 0.75), 65),
)
ROOM = Room(OBJECTS, x_range=(-2.0, 6.5), y_range=(-4.0, 4.0))


def keyframe_views(count: int) -> list[tuple[Camera, DepthView]]:
    """``count`` keyframes along a drive from (0, -2) to (2, 2), looking at the objects' middle."""
    views = []
    for index in range(count):
        f = index / max(1, count - 1)
        position = (0.5 + 1.5 * f, -2.0 + 4.0 * f, 1.0)
        camera = Camera.looking_at(position, (4.0, 0.3 - 0.6 * math.sin(math.pi * f), 0.4))
        depth = ROOM.noisy_depth(camera, 0.01, 0.05, seed=index)
        views.append(
            (camera, DepthView(depth, camera.k, (camera.width, camera.height), camera.rotation, camera.position))
        )
    return views


def _whole_in_view(camera: Camera, cuboid: Cuboid) -> bool:
    try:
        pixels = camera.project(cuboid.corners())
    except ValueError:
        return False
    return bool((pixels >= 0).all() and (pixels <= (camera.width, camera.height)).all())


def time_object_boxes(keyframes: int = 16, repeats: int = 5) -> dict:
    """Milliseconds to build the boxes of a ``keyframes``-keyframe query, and how they came out."""
    views = keyframe_views(keyframes)
    drawings = {
        cuboid.label: [(view, drawn_box(camera, cuboid)) for camera, view in views if _whole_in_view(camera, cuboid)]
        for cuboid in OBJECTS
    }
    depth_views = [view for _, view in views]
    floor_ms = min(_timed(lambda: estimate_floor_z(depth_views))[1] for _ in range(repeats))
    floor = estimate_floor_z(depth_views)
    per_object = {}
    for cuboid in OBJECTS:
        drawn = drawings[cuboid.label]
        runs = [_timed(lambda drawn=drawn: estimate_object_box(drawn, floor)) for _ in range(repeats)]
        box = runs[0][0].box
        per_object[cuboid.label] = {
            "views": len(drawings[cuboid.label]),
            "views_read": len(runs[0][0].used),
            "ms": min(ms for _, ms in runs),
            "centre_error_m": float(np.linalg.norm(np.subtract(box.centre, cuboid.centre))),
        }
    return {
        "boxes_keyframes": keyframes,
        "boxes_floor_ms": floor_ms,
        "boxes_ms_per_object_max": max(entry["ms"] for entry in per_object.values()),
        "boxes_per_object": per_object,
    }


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keyframes", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(time_object_boxes(args.keyframes, args.repeats), indent=2))


if __name__ == "__main__":
    main()
