"""`vilasr-ros reason`: image files in, result.json and drawings out."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # each test runs the command in a subprocess

TURNS = [
    "<think> Find the chair. </think> Action: Object Mapper\n```json\n"
    '[{"index": 1, "bbox_2d": [100, 50, 300, 250], "label": "chair"}]\n```',
    "<think> Now the path. </think> Action: Path Tracer\n```json\n"
    '[{"index": 2, "start_point_2d": [10, 10], "end_point_2d": [600, 400], "label": "route"}]\n```',
    "<think> Close. </think> Action: Answer\n<answer> 2.5 m </answer>",
]


def reason(*args, cwd=REPO_ROOT):
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from vilasr_ros.cli import main; sys.exit(main(sys.argv[1:]))",
            "reason",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def images(tmp_path):
    paths = []
    for number, size in enumerate([(720, 1280), (480, 640)]):
        path = tmp_path / f"frame{number}.png"
        cv2.imwrite(str(path), np.full((*size, 3), 60 + 40 * number, np.uint8))
        paths.append(str(path))
    return paths


def test_replay_writes_result_json_and_drawn_images(tmp_path, images):
    transcript = tmp_path / "transcript.json"
    transcript.write_text(json.dumps(TURNS))
    out = tmp_path / "out"
    result = reason(
        "--image",
        images[0],
        "--image",
        images[1],
        "--question",
        "How far is the chair?",
        "--answer-type",
        "numeric",
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    assert document["answer"] == "2.5 m" and document["numeric_answer"] == 2.5 and document["numeric_unit"] == "m"
    assert document["stop_reason"] == "answered" and document["choice"] is None
    assert [turn["action"] for turn in document["turns"]] == ["Object Mapper", "Path Tracer", "Answer"]
    first = document["turns"][0]["new_images"][0]
    assert first == {
        "index": 3,
        "base_index": 1,
        "source_index": 1,
        "path": "image_03.png",
        "boxes": [{"label": "chair", "bbox_2d": [100.0, 50.0, 300.0, 250.0]}],
        "lines": [],
    }
    assert document["turns"][0]["user_text"].startswith(
        "\nThe index of the given image is 3 (width: 784, height: 420)."
    )
    second = document["turns"][1]["new_images"][0]
    assert second["index"] == 4 and second["lines"][0]["end_point_2d"] == [600.0, 400.0]
    assert document["turns"][2]["user_text"] is None
    assert document["images"][0]["width"] == 784 and document["images"][0]["source_width"] == 1280
    drawn = cv2.imread(str(out / "image_03.png"))
    assert drawn.shape == (420, 784, 3)
    assert not (out / "image_01.png").exists()
    assert [entry["index"] for entry in document["model_images"]] == [1, 2, 3, 4]
    assert (out / "model_images" / "image_03.png").read_bytes() == (out / "image_03.png").read_bytes()
    assert document["conversation_text"].endswith("<|im_start|>assistant\n" + TURNS[2])
    assert set(document["work"]) >= {"prefill_tokens", "vision_patches", "decoded_tokens", "min_prefill_tokens"}


def test_bad_inputs_get_clear_errors(tmp_path, images):
    missing = reason(
        "--image",
        str(tmp_path / "nope.png"),
        "--question",
        "q",
        "--backend",
        "replay",
        "--transcript",
        "t.json",
        "--out",
        str(tmp_path),
    )
    assert missing.returncode == 2 and "cannot read image" in missing.stderr
    no_transcript = reason("--image", images[0], "--question", "q", "--backend", "replay", "--out", str(tmp_path))
    assert no_transcript.returncode == 2 and "--backend replay needs --transcript" in no_transcript.stderr
    bad_turns = reason(
        "--image",
        images[0],
        "--question",
        "q",
        "--max-turns",
        "0",
        "--backend",
        "replay",
        "--transcript",
        "t.json",
        "--out",
        str(tmp_path),
    )
    assert bad_turns.returncode == 2 and "engine.max_turns must be >= 1" in bad_turns.stderr
    assert "Traceback" not in missing.stderr + no_transcript.stderr + bad_turns.stderr


def test_a_tool_error_is_written_too(tmp_path, images):
    transcript = tmp_path / "t.json"
    transcript.write_text(json.dumps(["<think> no idea </think> Action: Object Mapper\n```json\n[oops]\n```"]))
    result = reason(
        "--image",
        images[0],
        "--question",
        "q",
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1
    document = json.loads((tmp_path / "out" / "result.json").read_text())
    assert document["stop_reason"] == "tool_error" and "not a valid literal" in document["error"]


def test_depth_camera_info_and_pose_give_3d_estimates(tmp_path):
    image = tmp_path / "wall.png"
    cv2.imwrite(str(image), np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    depth = tmp_path / "wall_depth.png"
    cv2.imwrite(str(depth), np.full((480, 640), 2000, np.uint16))  # a wall 2 m away, millimetres
    info = tmp_path / "camera.yaml"
    info.write_text(
        "image_width: 640\nimage_height: 480\ncamera_name: test\n"
        "camera_matrix: {rows: 3, cols: 3, data: [300, 0, 320, 0, 300, 240, 0, 0, 1]}\n"
        "distortion_model: plumb_bob\ndistortion_coefficients: {rows: 1, cols: 5, data: [0, 0, 0, 0, 0]}\n"
    )
    transcript = tmp_path / "t.json"
    transcript.write_text(
        json.dumps(
            [
                "<think> The sign. </think> Action: Object Mapper\n```json\n"
                '[{"index": 1, "bbox_2d": [302, 218, 342, 258], "label": "sign"}]\n```',
                "<think> Done. </think> Action: Answer\n<answer> 2 m </answer>",
            ]
        )
    )
    out = tmp_path / "out"
    result = reason(
        "--image",
        str(image),
        "--depth",
        str(depth),
        "--camera-info",
        str(info),
        "--pose",
        "1 0 0 0 0 0 1",
        "--question",
        "How far is the sign?",
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    (sign,) = json.loads((out / "result.json").read_text())["estimates"]
    assert sign["label"] == "sign" and sign["kind"] == "object" and sign["valid_3d"] is True
    assert sign["frame_id"] == "map" and sign["image_index"] == 2 and sign["source_index"] == 1
    assert sign["position"] == pytest.approx([1.0, 0.0, 2.0], abs=0.02)  # camera at x=1 m, looking along +z
    assert sign["bbox_px"] == pytest.approx([300.1, 220.2, 339.9, 260.2], abs=0.5)  # 644x476 model px -> 640x480

    without_pose = reason(
        "--image",
        str(image),
        "--depth",
        str(depth),
        "--camera-info",
        str(info),
        "--question",
        "q",
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(out),
    )
    assert without_pose.returncode == 0
    (sign,) = json.loads((out / "result.json").read_text())["estimates"]
    assert (
        sign["valid_3d"] is False and sign["has_depth"] is True and sign["position"][2] == pytest.approx(2.0, abs=0.02)
    )


def test_camera_data_options_are_checked(tmp_path, images):
    common = ["--question", "q", "--backend", "replay", "--transcript", "t.json", "--out", str(tmp_path)]
    two_images = ["--image", images[0], "--image", images[1]]
    miscount = reason(*two_images, "--pose", "0 0 0 0 0 0 1", *common)
    assert miscount.returncode == 2 and "give --pose once per --image (2), got 1" in miscount.stderr
    bad_pose = reason("--image", images[0], "--pose", "1 2 3", *common)
    assert bad_pose.returncode == 2 and "a pose must be 'x y z qx qy qz qw'" in bad_pose.stderr
    bad_info = tmp_path / "info.yaml"
    bad_info.write_text("image_width: 640\n")
    not_calibration = reason("--image", images[0], "--camera-info", str(bad_info), *common)
    assert not_calibration.returncode == 2 and "is not a camera_calibration YAML" in not_calibration.stderr


def test_reason_on_a_keyframe_folder_uses_its_depth_calibration_and_poses(tmp_path):
    from vilasr_ros.core.camera import CameraIntrinsics, Frame
    from vilasr_ros.core.poses import Pose
    from vilasr_ros.io.keyframe_folder import write_keyframes

    k = np.array([[300.0, 0, 320], [0, 300.0, 240], [0, 0, 1]])
    frames = [
        Frame(
            camera="front",
            stamp_ns=n * 10**9,
            frame_id="front_optical",
            rgb=np.random.default_rng(n).integers(0, 256, (480, 640, 3), dtype=np.uint8),
            depth=np.full((480, 640), 2000, np.uint16),
            intrinsics=CameraIntrinsics(k=k, width=640, height=480),
            pose=Pose((float(n), 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), "map"),
        )
        for n in range(2)
    ]
    write_keyframes(frames, tmp_path / "keyframes")
    transcript = tmp_path / "t.json"
    transcript.write_text(
        json.dumps(
            [
                "<think> The sign, twice. </think> Action: Object Mapper\n```json\n"
                '[{"index": 2, "bbox_2d": [302, 218, 342, 258], "label": "sign"}]\n```',
                "<think> Done. </think> Action: Answer\n<answer> 2 m </answer>",
            ]
        )
    )
    result = reason(
        "--keyframes",
        str(tmp_path / "keyframes"),
        "--question",
        "Where is the sign?",
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(tmp_path / "out"),
    )
    assert result.returncode == 0, result.stderr
    (sign,) = json.loads((tmp_path / "out" / "result.json").read_text())["estimates"]
    assert sign["valid_3d"] and sign["source_index"] == 2
    assert sign["position"] == pytest.approx([1.0, 0.0, 2.0], abs=0.02)  # drawn on the second keyframe, 1 m further
    # the object as a box (here a patch of the wall the box was drawn on), its uncertainty and an approach pose
    assert sign["box_center"] == pytest.approx([1.0, 0.0, 2.0], abs=0.05)
    assert len(sign["box_size"]) == 3 and sign["box_yaw"] is not None and len(sign["box_covariance"]) == 3
    assert set(sign["approach_pose"]) == {"position", "yaw"}
