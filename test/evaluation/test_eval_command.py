"""`vilasr-ros eval` end to end on a generated benchmark: ideal replays score 100%, random replays score chance
(computed from the items' options and answer ranges), an interrupted run resumes to the same table, the tiny
random model runs to the end, and the 3D estimates of the ideal drawings stay within the objects' extents."""

from __future__ import annotations

import io
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from vilasr_ros.cli import main
from vilasr_ros.evaluation import scoring
from vilasr_ros.evaluation.benchmark import generate_sim_benchmark, load_benchmark
from vilasr_ros.evaluation.questions import FAMILIES
from vilasr_ros.evaluation.runner import EvalSettings, run_evaluation
from vilasr_ros.evaluation.scoring import mra_thresholds

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    """64 items over all 8 families in 2 simulated rooms."""
    path = tmp_path_factory.mktemp("eval_bench") / "bench"
    generate_sim_benchmark(path, seed=5, items=64, scenes=2)
    return path


def run(bench: Path, out: Path, *options: str) -> int:
    return main(["eval", str(bench), "--out", str(out), "--backend", "replay", *options])


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]


def without_times(table: dict) -> dict:
    """A table without the wall-clock column (the only field that differs between identical runs)."""
    rows = [table["overall"], *table["families"].values()]
    return {
        "rows": [{k: v for k, v in row.items() if k != "mean_seconds"} for row in rows],
        "names": list(table["families"]),
    }


def test_ideal_traces_score_everything(bench, tmp_path, capsys):
    assert run(bench, tmp_path / "ideal", "--trace", "ideal") == 0
    table = json.loads((tmp_path / "ideal" / "table.json").read_text())
    assert set(table["families"]) == set(FAMILIES) and table["overall"]["count"] == 64
    assert table["overall"]["score"] == 1.0 and all(row["score"] == 1.0 for row in table["families"].values())
    assert table["overall"]["stop_reasons"] == {"answered": 64}
    found = records(tmp_path / "ideal")
    assert all(r["format_valid"] and r["revisions"] == 0 and r["turns"] == 2 and r["model_calls"] == 2 for r in found)
    assert all(r["boxes"] >= 1 for r in found)
    output = capsys.readouterr()
    assert (
        "| **overall** | 64 | 100.0 |" in output.out
        and "eval [##########] 64/64 items" in output.err
        and "accuracy 100.0%" in output.err
    )
    assert (tmp_path / "ideal" / "table.md").read_text().startswith("| family | count | score |")


def test_the_ideal_drawings_give_3d_answers_within_the_objects_extents(bench, tmp_path):
    """The estimates lie on the drawn objects (rendered depth is exact), so a centre-to-centre distance
    moves by at most the two objects' half diagonals, a floor route by the legs' half floor diagonals."""
    assert run(bench, tmp_path / "ideal", "--trace", "ideal") == 0
    manifest = json.loads((bench / "benchmark.json").read_text())
    objects = {(scene["name"], o["label"]): o for scene in manifest["scenes"] for o in scene["objects"]}
    items = {item.id: item for item in load_benchmark(bench)}
    checked = {family: 0 for family in ("abs_distance", "object_size", "route_length")}
    for record in records(tmp_path / "ideal"):
        if record["family"] not in checked:
            assert "estimated_value" not in record
            continue
        item = items[record["id"]]
        sizes = [objects[(item.extra["scene"], label)]["size"] for label in item.extra["objects"]]
        truth, value = item.extra["truth"]["value"], record["estimated_value"]
        half = [0.5 * math.sqrt(sx * sx + sy * sy + sz * sz) for sx, sy, sz in sizes]
        half_floor = [0.5 * math.hypot(sx, sy) for sx, sy, _ in sizes]
        if record["family"] == "abs_distance":
            assert abs(value - truth) <= half[0] + half[1], record
        elif record["family"] == "route_length":
            assert abs(value - truth) <= half_floor[0] + 2 * half_floor[1] + half_floor[2], record
        else:
            assert value <= 100 * 2 * half[0] + 1.0, record  # no visible extent exceeds the object's diagonal
        assert 0.0 <= record["estimated_score"] <= 1.0
        checked[record["family"]] += 1
    assert all(count >= 5 for count in checked.values()), checked
    table = json.loads((tmp_path / "ideal" / "table.json").read_text())
    assert set(f for f, row in table["families"].items() if row.get("mean_estimated_score") is not None) == set(checked)


def expected_chance(item) -> float:
    """The mean score of the random replay's answer: one option in n; a number uniform in the answer range
    scored with MRA (the chance that it falls within each threshold's band around the truth)."""
    if item.options:
        return 1 / len(item.options)
    low, high = item.extra["answer_range"]
    truth = float(scoring.answer_text(item.answer))
    bands = [(1 - float(t)) * abs(truth) for t in mra_thresholds()]
    return float(np.mean([max(0.0, min(high, truth + b) - max(low, truth - b)) / (high - low) for b in bands]))


def test_random_traces_score_near_chance(bench, tmp_path):
    items = {item.id: item for item in load_benchmark(bench)}
    scores, expected = [], []
    for seed in range(3):
        out = tmp_path / f"random{seed}"
        assert run(bench, out, "--trace", "random", "--seed", str(seed), "--workers", "2") == 0
        for record in records(out):
            scores.append(record["score"])
            expected.append(expected_chance(items[record["id"]]))
    assert len(scores) == 3 * 64
    mean = float(np.mean(expected))
    # Each score lies in [0, 1] with mean p: its variance is at most p (1 - p).
    sigma = math.sqrt(sum(p * (1 - p) for p in expected)) / len(expected)
    print(f"random replays: mean score {np.mean(scores):.3f}, chance {mean:.3f}, sigma {sigma:.3f}")
    assert 0.15 < mean < 0.5
    assert abs(np.mean(scores) - mean) < 3.5 * sigma, (np.mean(scores), mean, sigma)


def test_an_interrupted_run_resumes_to_the_same_table(bench, tmp_path, capsys):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run(bench, whole, "--trace", "random", "--workers", "3") == 0
    assert run(bench, parts, "--trace", "random", "--limit", "20") == 0
    assert len(records(parts)) == 20
    with (parts / "records.jsonl").open("a") as handle:
        handle.write('{"id": "scene_001-009-half a line')  # killed in the middle of a write
    capsys.readouterr()
    assert run(bench, parts, "--trace", "random") == 0
    assert "44 item(s) answered now, 20 recorded before, of 64" in capsys.readouterr().out
    ids = [r["id"] for r in records(parts)]
    assert len(ids) == len(set(ids)) == 64  # nothing answered twice
    assert run(bench, parts, "--trace", "random") == 0
    assert "0 item(s) answered now, 64 recorded before" in capsys.readouterr().out
    first, second = (json.loads((out / "table.json").read_text()) for out in (whole, parts))
    assert without_times(first) == without_times(second)
    by_id = {r["id"]: r for r in records(whole)}
    assert all(
        {k: v for k, v in r.items() if k != "seconds"} == {k: v for k, v in by_id[r["id"]].items() if k != "seconds"}
        for r in records(parts)
    )

    assert run(bench, parts, "--trace", "random", "--seed", "9") == 2  # other settings: refused
    assert "holds a run with other settings (seed)" in capsys.readouterr().err


class StopAfter(io.StringIO):
    """A terminal-like progress stream that sets ``stop`` (as Ctrl-C does) after ``lines`` status updates."""

    def __init__(self, stop: threading.Event, lines: int) -> None:
        super().__init__()
        self.stop, self.lines = stop, lines

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines -= text.startswith("\r")
        if self.lines <= 0:
            self.stop.set()
        return super().write(text)


def test_a_stopped_run_records_only_finished_items_and_resumes(bench, tmp_path):
    items = load_benchmark(bench)
    settings = EvalSettings(backend="replay", trace="random")
    stop = threading.Event()
    stopped = run_evaluation(items, tmp_path / "run", settings, root=bench, progress=StopAfter(stop, 6), stop=stop)
    assert stopped.interrupted and 5 <= stopped.ran < 64 and len(records(tmp_path / "run")) == stopped.ran
    resumed = run_evaluation(items, tmp_path / "run", settings, root=bench)
    assert resumed.resumed == stopped.ran and resumed.ran == 64 - stopped.ran and not resumed.interrupted
    whole = run_evaluation(items, tmp_path / "whole", settings, root=bench)
    assert without_times(resumed.table) == without_times(whole.table)


def test_no_tools_ablation_and_the_side_by_side(bench, tmp_path, capsys):
    assert run(bench, tmp_path / "tools", "--trace", "ideal", "--limit", "16") == 0
    assert (
        run(
            bench,
            tmp_path / "plain",
            "--trace",
            "ideal",
            "--limit",
            "16",
            "--no-tools",
            "--compare",
            str(tmp_path / "tools"),
        )
        == 0
    )
    plain = records(tmp_path / "plain")
    assert all(r["turns"] == 1 and r["model_calls"] == 1 and r["boxes"] == 0 and r["format_valid"] for r in plain)
    assert all(r["score"] == 1.0 and "estimated_value" not in r for r in plain)  # nothing drawn, nothing estimated
    comparison = (tmp_path / "plain" / "comparison.md").read_text().splitlines()
    assert comparison[0] == "| family | plain | tools | tools: 3D estimates |"
    assert comparison[-1].startswith("| **overall** | 100.0 | 100.0 |")


def test_bad_settings_are_refused(bench, tmp_path, capsys):
    assert run(bench, tmp_path / "a") == 2
    assert "needs exactly one of --trace" in capsys.readouterr().err
    assert main(["eval", str(bench), "--out", str(tmp_path / "b"), "--backend", "transformers", "--workers", "2"]) == 2
    assert "only a server backend" in capsys.readouterr().err
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.txt").write_text("mine")
    assert run(bench, tmp_path / "c", "--trace", "ideal") == 2
    assert "not empty" in capsys.readouterr().err
    assert run(tmp_path / "nothing", tmp_path / "d", "--trace", "ideal") == 2
    assert "does not exist" in capsys.readouterr().err


def test_an_authors_file_runs_through_the_same_path(tmp_path):
    import cv2

    frames = [f"vsi_bench/scene7/frame_{i:02d}.png" for i in range(4)]
    for number, name in enumerate(frames):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(tmp_path / name), np.full((120, 160, 3), 40 * number, np.uint8))
    records_in = [
        {
            "question": "Which is closer to the sofa?",
            "options": ["A. tv", "B. bed"],
            "problem_type": "multiple choice",
            "answer": "<answer>B</answer>",
            "image_path": frames,
            "original_question_type": "object_rel_distance",
        },
        {
            "question": "How many chairs?",
            "problem_type": "regression",
            "answer": "4",
            "image_path": frames,
            "original_question_type": "route_planning_hard",
        },
    ]
    (tmp_path / "vsi_bench.json").write_text(json.dumps(records_in))
    out = tmp_path / "run"
    assert (
        main(["eval", str(tmp_path / "vsi_bench.json"), "--out", str(out), "--backend", "replay", "--trace", "ideal"])
        == 0
    )
    table = json.loads((out / "table.json").read_text())
    assert set(table["families"]) == {"object_rel_distance", "route_planning"}  # difficulty levels merged
    assert table["overall"]["score"] == 1.0
    assert all(r["turns"] == 1 and r["stop_reason"] == "answered" and "estimated_value" not in r for r in records(out))


@pytest.mark.model
def test_the_tiny_random_model_runs_to_the_end(bench, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "tiny"
    code = main(
        [
            "eval",
            str(bench),
            "--out",
            str(out),
            "--backend",
            "transformers",
            "--model",
            str(tiny_model_dir),
            "--device",
            "cpu",
            "--limit",
            "4",
            "--max-new-tokens",
            "12",
            "--temperature",
            "0",
        ]
    )
    assert code == 0
    found = records(out)
    assert len(found) == 4 and all(r["decoded_tokens"] > 0 and r["prefill_tokens"] > 0 for r in found)
    assert all(r["stop_reason"] in ("answered", "tool_error", "max_turns", "max_images") for r in found)
    table = json.loads((out / "table.json").read_text())
    assert table["overall"]["count"] == 4 and (out / "table.md").is_file()
    assert "| **overall** | 4 |" in capsys.readouterr().out
