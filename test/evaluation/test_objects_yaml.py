"""The objects YAML of a recorded run: the spellings and layouts teams write, the default category, clear errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from vilasr_ros.evaluation.benchmark import (
    BenchmarkError,
    category_of,
    generate_keyframe_benchmark,
    load_objects_yaml,
    sim_scene,
)
from vilasr_ros.io.keyframe_folder import write_keyframes


def load(tmp_path, document):
    path = tmp_path / "objects.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return load_objects_yaml(path)


def geometry(item) -> tuple:
    return (item.label, item.category, item.shape, item.centre, item.size, item.yaw)


CANONICAL = {"label": "desk", "centre": [1.5, -2.0, 0.375], "size": [1.2, 0.6, 0.75], "yaw": 0.25}


@pytest.mark.parametrize(
    "entry",
    [
        {"label": "desk", "center": [1.5, -2.0, 0.375], "size": [1.2, 0.6, 0.75], "yaw": 0.25},
        {"label": "desk", "position": [1.5, -2.0, 0.375], "dimensions": [1.2, 0.6, 0.75], "yaw": 0.25},
        {"label": "desk", "centre": {"x": 1.5, "y": -2.0, "z": 0.375}, "size": [1.2, 0.6, 0.75], "yaw": 0.25},
        {"label": "desk", "box": {"center": [1.5, -2.0, 0.375], "dimensions": [1.2, 0.6, 0.75], "yaw": 0.25}},
        {"label": "desk", "centre": [1.5, -2.0, 0.375], "size": [1.2, 0.6, 0.75], "yaw_deg": math.degrees(0.25)},
    ],
)
def test_spellings_of_the_same_box_load_alike(tmp_path, entry):
    (expected,), _ = load(tmp_path, {"objects": [CANONICAL]})
    (found,), frame_id = load(tmp_path, {"frame_id": "map", "objects": [entry]})
    assert geometry(found)[:5] == geometry(expected)[:5] and found.yaw == pytest.approx(0.25)
    assert frame_id == "map"


def test_min_max_corners_give_an_axis_aligned_box(tmp_path):
    objects, frame_id = load(
        tmp_path,
        "- label: shelf\n  min: [1.0, 2.0, 0.0]\n  max: [1.6, 2.4, 1.8]\n"
        "- label: bin\n  shape: cylinder\n  box: {min: [-1, -1, 0], max: [-0.6, -0.6, 0.5]}\n",
    )
    assert frame_id == "map"  # a bare list: the map frame
    shelf, bin_ = objects
    # centre = (min + max) / 2, size = max - min, worked by hand
    assert shelf.centre == pytest.approx((1.3, 2.2, 0.9)) and shelf.size == pytest.approx((0.6, 0.4, 1.8))
    assert shelf.yaw == 0.0 and shelf.shape == "box"
    assert bin_.centre == pytest.approx((-0.8, -0.8, 0.25)) and bin_.size == pytest.approx((0.4, 0.4, 0.5))
    assert bin_.shape == "cylinder"


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("chair 1", "chair"),
        ("chair_2", "chair"),
        ("red chair 3", "chair"),
        ("Office_Chair", "chair"),
        ("chair #12", "chair"),
        ("lamp", "lamp"),
        ("potted plant", "plant"),
    ],
)
def test_the_default_category_drops_instance_numbers(label, category):
    assert category_of(label) == category


def test_categories_group_numbered_labels_and_explicit_ones_win(tmp_path):
    objects, _ = load(
        tmp_path,
        [
            {"label": "chair 1", "centre": [0, 0, 0.4], "size": [0.5, 0.5, 0.8]},
            {"label": "chair_2", "centre": [1, 0, 0.4], "size": [0.5, 0.5, 0.8]},
            {"label": "sofa 1", "category": "couch", "centre": [3, 0, 0.4], "size": [2, 1, 0.8]},
        ],
    )
    assert [item.category for item in objects] == ["chair", "chair", "couch"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("label: chair", "a list of objects, or a mapping with a list 'objects'"),
        ("objects: []", "lists no objects"),
        ("- chair", "object 1: expected a mapping"),
        ("- {centre: [0, 0, 0], size: [1, 1, 1]}", "object 1: needs a non-empty label"),
        ("- {label: a, centre: [0, 0, 0]}", "needs centre .* and size"),
        ("- {label: a, centre: [0, 0], size: [1, 1, 1]}", "object 1: centre needs 3 values"),
        ("- {label: a, centre: [0, 0, x], size: [1, 1, 1]}", "centre must be numbers"),
        ("- {label: a, centre: [0, 0, 0], center: [0, 0, 0], size: [1, 1, 1]}", "centre and center say the same"),
        ("- {label: a, size: [1, 1, 1], dimensions: [1, 1, 1], position: [0, 0, 0]}", "size and dimensions"),
        ("- {label: a, min: [0, 0, 0]}", "min and max corners go together"),
        ("- {label: a, min: [0, 0, 0], max: [1, 1, 1], yaw: 0.3}", "not both"),
        ("- {label: a, min: [0, 0, 0], max: [1, -1, 1]}", "sizes must be positive"),
        ("- {label: a, box: [0, 0, 0, 1, 1, 1]}", "box must be a mapping"),
        ("- {label: a, centre: [0, 0, 0], box: {size: [1, 1, 1]}}", "under 'box:' or beside the label"),
        ("- {label: a, centre: [0, 0, 0], size: [1, 1, 1], yaw: .nan}", "yaw must be finite"),
        ("- {label: a, centre: [0, 0, 0], size: [1, 1, 1], shape: sphere}", "shape must be one of"),
        ("- {label: '7', centre: [0, 0, 0], size: [1, 1, 1]}", "give 'category'"),
        (
            "- {label: a, centre: [0, 0, 0], size: [1, 1, 1]}\n- {label: a, centre: [1, 0, 0], size: [1, 1, 1]}",
            "'a' is repeated",
        ),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, document, message):
    with pytest.raises(BenchmarkError, match=message) as error:
        load(tmp_path, document)
    assert "objects.yaml" in str(error.value)


def test_a_bare_list_with_us_spellings_and_numbered_labels_makes_a_benchmark(tmp_path):
    scene = sim_scene("run", np.random.default_rng(4), 3, 160, 120)
    write_keyframes(scene.frames, tmp_path / "run")
    entries = []
    for number, item in enumerate(scene.objects):
        geometry_fields = (
            {"center": list(item.centre), "dimensions": list(item.size), "yaw": item.yaw}
            if number % 2
            else {"box": {"position": list(item.centre), "size": list(item.size), "yaw_deg": math.degrees(item.yaw)}}
        )
        entries.append({"label": f"{item.category}_{number + 1}", "shape": item.shape, **geometry_fields})
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump(entries))
    generate_keyframe_benchmark(tmp_path / "bench", tmp_path / "run", tmp_path / "objects.yaml", items=16)
    manifest = json.loads((tmp_path / "bench" / "benchmark.json").read_text())
    (written,) = manifest["scenes"]
    assert [o["category"] for o in written["objects"]] == [item.category for item in scene.objects]
    for found, item in zip(written["objects"], scene.objects):
        assert found["centre"] == pytest.approx(list(item.centre)) and found["size"] == pytest.approx(list(item.size))
        assert found["yaw"] == pytest.approx(item.yaw)
