"""`vilasr-ros reason --backend replay` shows the model exactly what the reference loop shows it.

Each scenario replays scripted assistant turns through the CLI and through a
test-side re-implementation of the authors' evaluation loop
(``reference_loop.py``), then compares ``conversation_text`` byte for byte and
every image of ``model_images`` with the reference's images (resized sources:
mean difference under 1 grey level; drawings: at least 99.8 % of pixels within
2 grey levels).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reference_loop import fetch_image, plot_bounding_boxes, run_reference

from vilasr_ros.cli import main

pytestmark = pytest.mark.slow  # runs `vilasr-ros reason` in subprocesses

PROBLEM_TYPES = {"multiple_choice": "multiple choice", "numeric": "numerical", "free_form": "free-form"}


def scene(width: int, height: int, seed: int, alpha: bool = False) -> Image.Image:
    """A camera-like test image: smooth gradients, a few solid shapes, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height) + 64], axis=2)
    for _ in range(4):
        x0, y0 = rng.integers(0, width - 20), rng.integers(0, height - 20)
        base[y0 : y0 + rng.integers(10, height // 3), x0 : x0 + rng.integers(10, width // 3)] = rng.integers(0, 256, 3)
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    if not alpha:
        return Image.fromarray(pixels, "RGB")
    opacity = np.clip(255 * x / width + 40, 0, 255).astype(np.uint8)  # transparent on the left
    return Image.fromarray(np.dstack([pixels, opacity]), "RGBA")


def tool(action: str, *items: dict) -> str:
    return f"<think> Step: {action}. </think> Action: {action}\n```json\n{json.dumps(list(items))}\n```"


def box(index: int, bbox: list[float], label: str) -> dict:
    return {"index": index, "bbox_2d": bbox, "label": label}


def line(index: int, start: list[float], end: list[float], label: str) -> dict:
    return {"index": index, "start_point_2d": start, "end_point_2d": end, "label": label}


ANSWER = "<think> The drawings settle it. </think> Action: Answer\n<answer> B </answer>"


def replay(
    tmp_path: Path, sources: list[Image.Image], question: str, turns: list[str], *options: str
) -> tuple[dict, Path, int]:
    """Run the CLI on ``sources`` saved as PNG files; return (result.json, out dir, exit code)."""
    paths = []
    for number, source in enumerate(sources, start=1):
        paths.append(tmp_path / f"source_{number:02d}.png")
        source.save(paths[-1])
    transcript = tmp_path / "turns.json"
    transcript.write_text(json.dumps(turns))
    out = tmp_path / "out"
    argv = [
        "reason",
        *[arg for path in paths for arg in ("--image", str(path))],
        "--question",
        question,
        "--backend",
        "replay",
        "--transcript",
        str(transcript),
        "--out",
        str(out),
        *options,
    ]
    code = main(argv)
    return json.loads((out / "result.json").read_text(encoding="utf-8")), out, code


def compare_images(document: dict, out: Path, reference: list[Image.Image]) -> list[tuple[int, float]]:
    """Assert every model image matches the reference's; return (index, figure) per image."""
    assert [entry["index"] for entry in document["model_images"]] == list(range(1, len(reference) + 1))
    figures = []
    for entry, theirs in zip(document["model_images"], reference):
        ours = np.asarray(Image.open(out / entry["file"])).astype(int)
        expected = np.asarray(theirs.convert("RGB")).astype(int)
        assert ours.shape == expected.shape, entry
        difference = np.abs(ours - expected)
        drawn = document["images"][entry["index"] - 1]["base_index"] is not None
        if drawn:
            close = float((difference.max(axis=2) <= 2).mean())
            assert close >= 0.998, (entry, close)
            figures.append((entry["index"], close))
        else:
            mean = float(difference.mean())
            assert mean < 1.0, (entry, mean)
            figures.append((entry["index"], mean))
    return figures


def check(
    tmp_path, sources, question, turns, answer_type="free_form", options=(), style="maze", max_turns=10, video=False
):
    cli_options = [
        "--answer-type",
        answer_type,
        *[arg for option in options for arg in ("--option", option)],
        "--max-turns",
        str(max_turns),
        *(["--video"] if video else []),
    ]
    document, out, code = replay(tmp_path, sources, question, turns, *cli_options)
    episode = run_reference(
        sources, question, turns, PROBLEM_TYPES[answer_type], list(options), style, max_num_steps=max_turns
    )
    assert document["conversation_text"] == episode.sequence
    compare_images(document, out, episode.images)
    return document, episode, code


def test_single_image_rgba_multiple_choice(tmp_path):
    turns = [
        tool("Object Mapper", box(1, [100, 60, 300, 250], "red chair"), box(1, [420, 90, 700, 400], "door")),
        tool("Path Tracer", line(2, [200, 155], [560, 245], "chair to door")),
        ANSWER,
    ]
    document, _, code = check(
        tmp_path,
        [scene(1280, 720, 1, alpha=True)],
        "Which is closer to the door?",
        turns,
        "multiple_choice",
        ("A. the chair", "B. the table"),
    )
    assert code == 0 and document["stop_reason"] == "answered"
    assert (
        "\nB. the table\nThe index of the given image is 1.\nAnswer with the option's letter"
        in document["conversation_text"]
    )


def test_several_views_and_several_new_images_in_one_turn_ordered_boxes_first(tmp_path):
    sources = [scene(640, 480, 2), scene(1280, 720, 3)]
    # The line (image 1) is written before the box (image 2): the reference still makes image 2's drawing first.
    turn = (
        tool("Path Tracer", line(1, [10, 20], [600, 400], "walk"))
        + "\n"
        + tool("Object Mapper", box(2, [50, 50, 400, 300], "sofa"))
    )
    document, episode, code = check(
        tmp_path, sources, "How far is the sofa?", [turn, ANSWER], "numeric", style="multi_view"
    )
    assert code == 0
    three, four = document["turns"][0]["new_images"]
    assert (three["base_index"], four["base_index"]) == (2, 1)
    text = document["conversation_text"]
    assert "The index of the given image is 2 (width: 644, height: 476).\n" in text  # the first image's size
    assert text.endswith("adjust if needed:\n\n<|im_end|>\n<|im_start|>assistant\n" + ANSWER)


def test_video_frames(tmp_path):
    frames = [scene(448, 336, 10 + n) for n in range(4)]
    turns = [tool("Object Mapper", box(3, [40, 30, 200, 180], "stairs")), ANSWER]
    document, _, code = check(tmp_path, frames, "Where are the stairs?", turns, style="vsi_bench", video=True)
    assert code == 0 and "numbered from 1 to 4 in sequence" in document["conversation_text"]


def test_final_prompt_and_an_unclosed_fence(tmp_path):
    unclosed = (
        '<think> I box it first.\n```json\n[{"index": 1, "bbox_2d": [30, 30, 200, 200], "label": "box"}]\n'
        "</think> Action: Object Mapper"
    )
    turns = [unclosed, tool("Object Mapper", box(2, [250, 100, 500, 380], "lamp")), ANSWER]
    document, _, code = check(tmp_path, [scene(800, 600, 4)], "Where is the lamp?", turns, max_turns=3)
    assert code == 0 and document["turns"][0]["new_images"][0]["boxes"][0]["label"] == "box"
    assert document["turns"][1]["user_text"].endswith(
        "Please answer the initial question and structure your response as required:\n"
    )


def test_max_turn_cut_off_runs_no_tool_on_the_last_call(tmp_path):
    turns = [
        tool("Object Mapper", box(1, [30, 30, 200, 200], "box")),
        tool("Object Mapper", box(2, [60, 60, 90, 90], "cup")),
    ]
    document, episode, code = check(tmp_path, [scene(800, 600, 5)], "Where is the cup?", turns, max_turns=2)
    assert code == 1 and document["stop_reason"] == "max_turns" and len(episode.images) == 2


def test_tool_error(tmp_path):
    turns = ["<think> hmm </think> Action: Object Mapper\n```json\n[{'index': 1, 'bbox_2d': [1, 2, 3, 4]}]\n```"]
    document, episode, code = check(tmp_path, [scene(640, 480, 6)], "Where?", turns)
    assert code == 1 and document["stop_reason"] == "tool_error" and episode.finish_reason == "ToolError"


def test_the_45_image_cap(tmp_path):
    # VSI-Bench-like frames (640x480 -> 644x476).
    frames = [scene(640, 480, 20 + n) for n in range(16)]
    call = lambda indices: tool("Object Mapper", *[box(i, [10 + i, 10, 120, 100 + i], f"object {i}") for i in indices])  # noqa: E731
    turns = [call(range(1, 11)), call(range(11, 21)), call(range(21, 33)), ANSWER]
    document, episode, code = check(tmp_path, frames, "How many chairs?", turns, "numeric", style="multi_view")
    assert code == 0 and len(document["model_images"]) == 45 == len(episode.images)
    assert len(document["turns"][2]["new_images"]) == 9  # images 37..45; the last three groups dropped
    assert (
        "The index of the given image is 45 (width: 644, height: 476). Then, you can not invoke"
        in document["conversation_text"]
    )


def test_the_45_image_cap_reached_by_one_of_several_new_images_keeps_the_several_image_framing(tmp_path):
    frames = [scene(224, 168, 40 + n) for n in range(16)]
    call = lambda indices: tool("Object Mapper", *[box(i, [10 + i, 10, 120, 100], f"object {i}") for i in indices])  # noqa: E731
    turns = [call(range(1, 11)), call(range(11, 21)), call(range(21, 29)), call([1, 2]), ANSWER]
    document, episode, code = check(tmp_path, frames, "How many chairs?", turns, "numeric", style="multi_view")
    assert code == 0 and len(document["model_images"]) == 45 == len(episode.images)
    assert len(document["turns"][3]["new_images"]) == 1  # image 45; the call's second image dropped
    assert document["conversation_text"].endswith(
        "structure your response as required:\n\n<|im_end|>\n<|im_start|>assistant\n" + ANSWER
    )


def test_drawings_on_drawings_are_the_references_pixels(tmp_path):
    """Calls that keep what is drawn (new labels, a label re-stated where it was) draw on the drawn base, as the
    reference does: a re-drawn anti-aliased label darkens exactly as in training. Small frames, where a few
    differing label pixels would matter most."""
    source = scene(224, 168, 8)
    turns = [
        tool("Object Mapper", box(1, [20, 20, 90, 80], "chair")),
        tool("Object Mapper", box(2, [110, 30, 200, 140], "door")),
        tool("Path Tracer", line(3, [50, 50], [150, 90], "path")),
        tool("Object Mapper", box(4, [20, 20, 90, 80], "chair"), box(4, [120, 100, 170, 150], "table")),
        ANSWER,
    ]
    document, out, code = replay(tmp_path, [source], "Where is the chair?", turns)
    episode = run_reference([source], "Where is the chair?", turns)
    assert code == 0 and document["conversation_text"] == episode.sequence
    assert len(document["model_images"]) == 5 == len(episode.images)
    for entry, theirs in zip(document["model_images"], episode.images):
        ours = np.asarray(Image.open(out / entry["file"]))
        assert np.array_equal(ours, np.asarray(theirs.convert("RGB"))), entry


def test_deliberate_differences_change_pixels_not_text(tmp_path):
    """Same-label boxes of one call are all kept, and a replaced box disappears (drawn from the pristine frame)."""
    source = scene(640, 480, 7)
    calls = [
        [box(1, [20, 20, 120, 120], "chair"), box(1, [300, 200, 420, 330], "chair")],  # the reference keeps the 2nd
        [box(2, [160, 40, 260, 160], "chair")],  # replaces both; the reference still shows the old one
    ]
    turns = [tool("Object Mapper", *calls[0]), tool("Object Mapper", *calls[1]), ANSWER]
    document, out, code = replay(tmp_path, [source], "Where is the chair?", turns)
    episode = run_reference([source], "Where is the chair?", turns)
    assert code == 0 and document["conversation_text"] == episode.sequence
    root = fetch_image(source, 351232)
    for index, merged in ((2, calls[0]), (3, calls[1])):
        expected = root.copy()  # the reference's drawing rules, on the pristine frame, with our merged list
        plot_bounding_boxes(expected, merged)
        ours = Image.open(out / document["model_images"][index - 1]["file"])
        assert np.array_equal(np.asarray(ours), np.asarray(expected))
        assert not np.array_equal(np.asarray(ours), np.asarray(episode.images[index - 1]))  # the reference differs


@pytest.mark.parametrize("size", [(1280, 720), (640, 480), (333, 257), (60, 40), (3000, 2000)])
def test_resizing_matches_fetch_image(size):
    from vilasr_ros.reasoning.images import resize_for_model

    source = scene(*size, seed=size[0])
    ours, mapping = resize_for_model(np.asarray(source), 351232)
    expected = np.asarray(fetch_image(source, 351232)).astype(int)
    assert ours.shape == expected.shape and (mapping.width, mapping.height) == (ours.shape[1], ours.shape[0])
    assert np.abs(ours.astype(int) - expected).mean() < 1.0
