"""`make demo`'s program end to end: the synthetic room, the node, three questions."""

import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from vilasr_ros.sim import room as demo_scene

pytestmark = pytest.mark.ros


@pytest.mark.parametrize("robot", [demo_scene.RobotPose(), *demo_scene.trajectory(3)])
def test_scene_projection_matches_the_rendered_image_and_depth(robot):
    rgb, depth = demo_scene.render(robot)
    for item in demo_scene.OBJECTS:
        x1, y1, x2, y2 = demo_scene.box_of(item, robot)
        u, v = (x1 + x2) / 2, (y1 + y2) / 2
        point = demo_scene.surface_point(u, v, depth, robot)
        (cx, cy, cz), (sx, sy, sz) = item.centre, item.size
        inside = [abs(p - c) <= s / 2 + 0.02 for p, c, s in zip(point, (cx, cy, cz), (sx, sy, sz))]
        assert all(inside), (item.label, point)  # the box centre's pixel shows the object itself
        assert np.argmax(rgb[int(v), int(u)]) == np.argmax(item.colour), item.label  # shaded, same hue


def test_demo_runs_and_its_estimates_match_the_ground_truth(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "vilasr_ros.ros.demo", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    output = result.stdout
    assert "SCRIPTED reasoning trace" in output  # says plainly that no model ran
    assert re.findall(r"^A: (.*?) ", output, re.MULTILINE) == ["2.8", "B", "A"]
    errors = [float(e) for e in re.findall(r"\)\s+(\d+\.\d+) m\s+[-+]", output, re.MULTILINE)]
    assert len(errors) == 5 and max(errors) < 0.05  # 2 + 2 + 1 objects
    assert "feedback: turn 1 drawing Object Mapper" in output
    images = sorted(tmp_path.glob("annotated_*.png"))
    assert "red chair" in output and "deg (left)" in output  # the chair is to the robot's left
    assert len(images) == 5 and cv2.imread(str(images[0])).shape == (476, 644, 3)
    assert cv2.imread(str(tmp_path / "summary.png")).shape[0] == 620


def test_the_recorded_drive_replays_offline_through_ingest_and_reason(tmp_path):
    from vilasr_ros.ros.demo.__main__ import NAMESPACE, demo_parameters
    from vilasr_ros.ros.demo.recorder import record_drive

    params = demo_parameters(tmp_path, "replay", "", "")
    record_drive(tmp_path / "drive.mcap", NAMESPACE)
    run = [sys.executable, "-c", "import sys; from vilasr_ros.cli import main; sys.exit(main(sys.argv[1:]))"]
    ingest = subprocess.run(
        [
            *run,
            "ingest",
            str(tmp_path / "drive.mcap"),
            "--params-file",
            str(params),
            "--out",
            str(tmp_path / "keyframes"),
            "--max-keyframes",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    reason = subprocess.run(
        [
            *run,
            "reason",
            "--keyframes",
            str(tmp_path / "keyframes"),
            "--target-frame",
            "odom",
            "--question",
            "Which way should the robot turn to face the red chair?",
            "--option",
            "left",
            "--option",
            "right",
            "--backend",
            "replay",
            "--transcript",
            str(tmp_path / "scripted_trace.json"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reason.returncode == 0, reason.stdout + reason.stderr
    import json

    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["choice"] == "A"
    chair = next(e for e in document["estimates"] if e["label"] == "red chair")
    assert chair["valid_3d"] and chair["frame_id"] == "odom"
    x1, y1, x2, y2 = chair["bbox_px"]
    _, depth = demo_scene.render(demo_scene.trajectory(16)[-1])
    truth = demo_scene.surface_point((x1 + x2) / 2, (y1 + y2) / 2, depth, demo_scene.trajectory(16)[-1])
    assert np.allclose(chair["position"], truth, atol=0.05)
