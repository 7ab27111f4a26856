"""Repeated ids in an authors' file: the items are named by their place in the file, with a warning, and run."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from vilasr_ros.cli import main
from vilasr_ros.evaluation.authors import RepeatedIdsWarning, load_authors_benchmark


def write_file(tmp_path, ids):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), np.full((168, 224, 3), 90, np.uint8))
    records = []
    for number, key in enumerate(ids):
        record = {
            "question": f"How far is object {number} from the camera?",
            "problem_type": "regression",
            "answer": str(number + 1),
            "image_path": ["a.png"],
            "data_type": "single_view",
        }
        if key is not None:
            record["problem_id"] = key
        records.append(record)
    path = tmp_path / "mmsi_bench.json"
    path.write_text(json.dumps(records))
    return path


def test_unique_ids_are_kept_without_a_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        items = load_authors_benchmark(write_file(tmp_path, [7, "b", None]))
    assert [item.id for item in items] == ["7", "b", "2"]  # no problem_id: the record index


def test_repeated_ids_fall_back_to_the_record_index(tmp_path):
    with pytest.warns(RepeatedIdsWarning, match=r"1 item id\(s\) repeat \('3'\).*mmsi_bench-<record index>"):
        items = load_authors_benchmark(write_file(tmp_path, [3, 3, 5]))
    assert [item.id for item in items] == ["mmsi_bench-0", "mmsi_bench-1", "mmsi_bench-2"]
    assert [item.answer for item in items] == ["1", "2", "3"]  # the order of the file
    with pytest.warns(RepeatedIdsWarning):  # an index that equals another record's id counts as repeated
        assert len({item.id for item in load_authors_benchmark(write_file(tmp_path, [2, 0, None]))}) == 3


def test_a_file_with_repeated_ids_runs_and_resumes(tmp_path, capsys):
    path = write_file(tmp_path, ["q", "q", "q"])
    out = tmp_path / "run"
    command = ["eval", str(path), "--out", str(out), "--backend", "replay", "--trace", "ideal"]
    assert main(command) == 0
    assert "warning: " in capsys.readouterr().err
    found = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in found) == ["mmsi_bench-0", "mmsi_bench-1", "mmsi_bench-2"]
    assert all(r["score"] == 1.0 for r in found)
    assert main(command) == 0  # the same names on a rerun: everything already recorded
    assert "0 item(s) answered now, 3 recorded before" in capsys.readouterr().out
