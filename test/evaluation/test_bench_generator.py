"""The benchmark generator: deterministic, at least 8 families and 400 items, every answer re-derived here from
the stored geometry (object boxes, keyframe poses and calibration) without the generator's code."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from vilasr_ros.cli import main
from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.benchmark import (
    BenchmarkError,
    generate_keyframe_benchmark,
    generate_sim_benchmark,
    keyframe_scene,
    load_benchmark,
    sim_scene,
)
from vilasr_ros.evaluation.traces import ideal_trace, random_trace
from vilasr_ros.io.keyframe_folder import read_keyframes, write_keyframes
from vilasr_ros.reasoning.engine import ReasoningEngine
from vilasr_ros.reasoning.replay_backend import ReplayBackend

pytestmark = pytest.mark.slow  # generates benchmarks (rooms ray-cast) and replays them

SEEN_FRACTION = 0.002  # of an image's pixels: the generator's documented "seen" threshold


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The same 400-item benchmark written twice, and the seconds the first generation took."""
    first, second = tmp_path_factory.mktemp("bench_a") / "bench", tmp_path_factory.mktemp("bench_b") / "bench"
    started = time.monotonic()
    generate_sim_benchmark(first, seed=11, items=400, scenes=10)
    seconds = time.monotonic() - started
    generate_sim_benchmark(second, seed=11, items=400, scenes=10)
    return first, second, seconds


def file_hashes(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def records_of(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "items.jsonl").read_text().splitlines()]


def test_same_seed_same_files_and_enough_items(generated):
    first, second, seconds = generated
    hashes = file_hashes(first)
    assert hashes == file_hashes(second)
    assert len([name for name in hashes if name.endswith(".png")]) >= 2 * 6 * 10  # colour and depth per keyframe
    records = records_of(first)
    assert len(records) == 400 and len({r["id"] for r in records}) == 400
    families = {r["family"] for r in records}
    assert len(families) >= 8
    assert {r["problem_type"] for r in records} == {"multiple choice", "regression"}
    print(f"400 items generated in {seconds:.1f} s")


def test_another_seed_gives_another_benchmark(generated, tmp_path):
    generate_sim_benchmark(tmp_path / "other", seed=12, items=20, scenes=1)
    assert records_of(tmp_path / "other")[0]["question"] != records_of(generated[0])[0]["question"] or (
        file_hashes(tmp_path / "other")["scenes/scene_000/rgb/000001.png"]
        != file_hashes(generated[0])["scenes/scene_000/rgb/000001.png"]
    )


# --- an independent re-derivation of every answer ------------------------------------------------


def plural(category: str) -> str:
    return {"bookshelf": "bookshelves"}.get(category, category + "s")


def forward_of(quaternion) -> np.ndarray:
    """The optical axis (camera z) in map of a camera with orientation (x, y, z, w)."""
    x, y, z, w = quaternion
    return np.array([2 * (x * z + y * w), 2 * (y * z - x * w), 1 - 2 * (x * x + y * y)])


def signed_degrees(facing, toward) -> float:
    return math.degrees(
        math.atan2(facing[0] * toward[1] - facing[1] * toward[0], facing[0] * toward[0] + facing[1] * toward[1])
    )


def chosen_text(record: dict) -> str:
    """The answer as text: the chosen option without its letter, or the number."""
    if not record["options"]:
        return record["answer"]
    letter = record["answer"]
    (option,) = [o for o in record["options"] if o.startswith(letter + ". ")]
    return option[3:]


def expected_answer(record: dict, scene: dict, keyframes: list[dict]) -> str:
    """The answer text this item must have, computed from the stored boxes, poses and visibility."""
    objects = {o["label"]: o for o in scene["objects"]}
    question, family = record["question"], record["family"]
    unit = ""

    def centre(label):
        return np.array(objects[label]["centre"])

    if family == "object_count":
        (wanted,) = re.match(r"How many (.+) are there in the room\?", question).groups()
        return str(sum(plural(o["category"]) == wanted for o in scene["objects"]))
    if family == "abs_distance":
        a, b = re.match(
            r"What is the distance between the centres of the (.+) and the (.+), in metres\?", question
        ).groups()
        value, unit = f"{np.linalg.norm(centre(a) - centre(b)):.2f}", " m"
    elif family == "object_size":
        (a,) = re.match(r"How long is the longest dimension .* of the (.+), in centimetres\?", question).groups()
        value, unit = f"{round(max(objects[a]['size']) * 100)}", " cm"
    elif family == "route_length":
        a, b, c = re.search(r"from the (.+) to the (.+) and then to the (.+) \(centre", question).groups()
        value = f"{np.linalg.norm((centre(a) - centre(b))[:2]) + np.linalg.norm((centre(b) - centre(c))[:2]):.2f}"
        unit = " m"
    elif family == "rel_distance":
        word, target = re.match(
            r"Which of these objects is (closest to|farthest from) the (.+) \(measuring", question
        ).groups()
        labels = [o[3:] for o in record["options"]]
        distances = [np.linalg.norm(centre(label) - centre(target)) for label in labels]
        return labels[int(np.argmin(distances) if word == "closest to" else np.argmax(distances))]
    elif family == "rel_direction":
        a, b, c = re.match(
            r"If I am standing at the (.+) and facing the (.+), is the (.+) to my left", question
        ).groups()
        angle = signed_degrees(centre(b) - centre(a), centre(c) - centre(a))
        return "back" if abs(angle) > 135 else "left" if angle > 0 else "right"
    elif family == "turn_direction":
        frame = int(re.search(r"where image (\d+) was taken", question).group(1))
        (target,) = re.search(r"to face the (.+)\?", question).groups()
        pose = keyframes[frame - 1]["pose"]
        angle = signed_degrees(forward_of(pose["orientation"]), centre(target) - np.array(pose["position"]))
        if record["problem_type"] == "regression":
            return f"{abs(angle):.0f}"
        return "left" if angle > 0 else "right"
    elif family == "appearance_order":
        shown = re.match(r"In which order do these objects first appear in the images: (.+)\?", question).group(1)
        first = {}
        for number, (seen, frame) in enumerate(zip(scene["visibility"], keyframes), start=1):
            width, height = frame["intrinsics"]["size"]
            for entry in seen:
                if entry["pixels"] >= SEEN_FRACTION * width * height:
                    first.setdefault(entry["label"], number)
        labels = shown.split(", ")
        assert len({first[label] for label in labels}) == 3
        return ", ".join(sorted(labels, key=first.get))
    else:
        raise AssertionError(f"unexpected family {family}")
    return value + unit if record["options"] else value


def check_benchmark(directory: Path) -> list[dict]:
    manifest = json.loads((directory / "benchmark.json").read_text())
    scenes = {scene["name"]: scene for scene in manifest["scenes"]}
    keyframes = {
        name: json.loads((directory / scene["keyframes"] / "keyframes.json").read_text())["keyframes"]
        for name, scene in scenes.items()
    }
    records = records_of(directory)
    for record in records:
        scene = scenes[record["scene"]]
        assert chosen_text(record) == expected_answer(record, scene, keyframes[record["scene"]]), record["id"]
        if record["options"]:
            assert record["problem_type"] == "multiple choice"
            assert len(set(record["options"])) == len(record["options"])
            assert [o[0] for o in record["options"]] == list("ABCDEFGH"[: len(record["options"])])
        check_boxes(record, scene, keyframes[record["scene"]])
    return records


def check_boxes(record: dict, scene: dict, keyframes: list[dict]) -> None:
    """Every ground-truth box lies within the projection of its object's 3D box, in model pixels."""
    objects = {o["label"]: o for o in scene["objects"]}
    assert {box["label"] for box in record["boxes"]} <= set(record["objects"])
    for box in record["boxes"]:
        frame = keyframes[box["index"] - 1]
        width, height = record["model_sizes"][box["index"] - 1]
        camera_width, camera_height = frame["intrinsics"]["size"]
        k = np.array(frame["intrinsics"]["K"])
        x, y, z, w = frame["pose"]["orientation"]
        rotation = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
            ]
        )
        item = objects[box["label"]]
        c, s = math.cos(item["yaw"]), math.sin(item["yaw"])
        sx, sy, sz = (v / 2 for v in item["size"])
        corners = np.array(
            [
                [
                    item["centre"][0] + c * a * sx - s * b * sy,
                    item["centre"][1] + s * a * sx + c * b * sy,
                    item["centre"][2] + h * sz,
                ]
                for a in (-1, 1)
                for b in (-1, 1)
                for h in (-1, 1)
            ]
        )
        camera = (corners - np.array(frame["pose"]["position"])) @ rotation
        if (camera[:, 2] <= 0.05).any():
            continue  # partly behind the camera: the corner box is unbounded
        u = (k[0, 0] * camera[:, 0] / camera[:, 2] + k[0, 2]) * width / camera_width
        v = (k[1, 1] * camera[:, 1] / camera[:, 2] + k[1, 2]) * height / camera_height
        x1, y1, x2, y2 = box["bbox_2d"]
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert x1 >= u.min() - 1.5 and x2 <= u.max() + 1.5 and y1 >= v.min() - 1.5 and y2 <= v.max() + 1.5, record["id"]
    drawn = record["trace"]["boxes"]
    assert [b["label"] for b in drawn] == [
        label for label in record["objects"] if any(b["label"] == label for b in record["boxes"])
    ]
    assert all(b in record["boxes"] for b in drawn)


def test_every_answer_follows_from_the_stored_geometry(generated):
    records = check_benchmark(generated[0])
    assert sum(bool(r["boxes"]) for r in records) == len(records)  # every item has its objects drawn somewhere


def test_ideal_traces_score_everything_and_random_traces_score_near_chance(generated):
    import cv2

    items = load_benchmark(generated[0])
    rng = np.random.default_rng(0)
    ideal, random_choice, chance = [], [], []
    images: dict[Path, np.ndarray] = {}
    for item in items:
        frames = [images.setdefault(p, cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)) for p in item.images]
        for trace, scores in ((ideal_trace(item), ideal), (random_trace(item, rng), random_choice)):
            engine = ReasoningEngine(ReplayBackend(trace), EngineConfig(), video=item.prompt_style.value == "video")
            result = engine.run(frames, item.question, item.answer_type, item.options)
            assert result.stop_reason == "answered"
            if scores is ideal or item.options:
                scores.append(item.score(result.answer))
        if item.options:
            chance.append(1 / len(item.options))
    assert ideal == [1.0] * len(items)
    assert abs(np.mean(random_choice) - np.mean(chance)) < 0.08, (np.mean(random_choice), np.mean(chance))


def test_a_recorded_run_with_labelled_objects(tmp_path):
    scene = sim_scene("run", np.random.default_rng(4), 6, 320, 240)
    write_keyframes(scene.frames, tmp_path / "run")
    document = {
        "frame_id": "map",
        "objects": [
            {
                "label": o.label,
                "category": o.category,
                "shape": o.shape,
                "centre": list(o.centre),
                "size": list(o.size),
                "yaw_deg": math.degrees(o.yaw),
            }
            for o in scene.objects
        ],
    }
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump(document))
    summary = generate_keyframe_benchmark(tmp_path / "bench", tmp_path / "run", tmp_path / "objects.yaml", items=60)
    assert summary.items >= 30 and summary.scenes == 1
    records = check_benchmark(tmp_path / "bench")
    assert len({r["family"] for r in records}) >= 7

    # Visibility from surface samples and depth agrees with the renderer's exact object masks.
    sampled = keyframe_scene("run", read_keyframes(tmp_path / "run"), scene.objects)
    ious = []
    for exact, estimate in zip(scene.visibility, sampled.visibility):
        for label, truth in exact.items():
            if truth.pixels >= 400:
                a, b = truth.box, estimate[label].box
                inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
                ious.append(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))
    assert len(ious) >= 10 and np.median(ious) >= 0.9 and min(ious) >= 0.5


def test_objects_yaml_and_settings_are_checked(tmp_path):
    scene = sim_scene("run", np.random.default_rng(4), 3, 160, 120)
    write_keyframes(scene.frames, tmp_path / "run")
    (tmp_path / "bad.yaml").write_text("objects:\n  - label: chair\n    centre: [1, 2]\n    size: [1, 1, 1]\n")
    with pytest.raises(BenchmarkError, match="object 1: centre needs 3 values"):
        generate_keyframe_benchmark(tmp_path / "b", tmp_path / "run", tmp_path / "bad.yaml")
    (tmp_path / "odom.yaml").write_text(
        "frame_id: odom\nobjects:\n  - {label: chair, centre: [1, 2, 0.5], size: [1, 1, 1]}\n"
    )
    with pytest.raises(BenchmarkError, match="pose is in 'map' but the objects are in 'odom'"):
        generate_keyframe_benchmark(tmp_path / "b", tmp_path / "run", tmp_path / "odom.yaml")
    with pytest.raises(BenchmarkError, match="unknown families"):
        generate_sim_benchmark(tmp_path / "c", families=["weather"])


def test_bench_gen_command_writes_a_folder_reason_can_read(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench-gen", "--out", str(out), "--items", "24", "--scenes", "2", "--seed", "3"]) == 0
    assert "wrote 24 items over 2 scene(s)" in capsys.readouterr().out
    frames = read_keyframes(out / "scenes" / "scene_000")
    assert len(frames) == 6 and all(
        f.depth is not None and f.pose is not None and f.intrinsics is not None for f in frames
    )
    assert main(["bench-gen", "--out", str(out), "--items", "24", "--scenes", "2"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["bench-gen", "--out", str(out), "--items", "16", "--scenes", "2", "--force"]) == 0
    assert len(records_of(out)) == 16
