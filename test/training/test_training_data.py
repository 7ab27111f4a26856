"""Stage-1 traces, GRPO arithmetic and rejection-sampling selection: no model needed."""

from __future__ import annotations

import numpy as np
import pytest

from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.behaviour import count_revisions, format_problems
from vilasr_ros.evaluation.benchmark import generate_sim_benchmark, load_benchmark
from vilasr_ros.reasoning import protocol
from vilasr_ros.reasoning.replay_backend import ReplayBackend
from vilasr_ros.training.data import ItemStore, read_records, run_item, synth_trace, write_sft_data


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    generate_sim_benchmark(out, seed=5, items=16, scenes=2, frames=3, width=224, height=168)
    return out


@pytest.mark.parametrize("reflect", [False, True])
def test_synthesised_traces_run_through_the_engine_to_the_true_answer(bench, reflect):
    store = ItemStore()
    rng = np.random.default_rng(1)
    for item in load_benchmark(bench):
        turns = synth_trace(item, rng, reflect)
        outcome = run_item(item, store.frames(str(bench), item), ReplayBackend(turns), EngineConfig())
        result = outcome.result
        texts = [turn.text for turn in result.turns]
        sources = {image.index: image.source_index for image in result.images}
        assert item.score(result.answer) == 1.0, (item.id, turns)
        assert format_problems(texts) == []
        boxes = item.extra["trace"]["boxes"]
        # the last box drawn for each label is the object's true box, on the keyframe where it shows most
        final = {}
        for text in texts:
            for call in protocol.parse_turn(text).items:
                if isinstance(call, protocol.BoxCall):
                    final[call.label] = (sources[call.index], [round(v) for v in call.bbox_2d])
        assert final == {box["label"]: (box["index"], box["bbox_2d"]) for box in boxes}
        revisions = count_revisions(texts, sources.get)
        assert revisions == (1 if reflect and boxes else 0)


def test_sft_data_file_holds_the_share_of_reflective_traces(bench, tmp_path):
    count = write_sft_data(bench, tmp_path / "data.jsonl", seed=3, reflect_share=0.5)
    records = read_records(tmp_path / "data.jsonl")
    assert count == len(records) == 16
    assert 0 < sum(record["reflective"] for record in records) < 16
    assert all(record["turns"][-1].rstrip().endswith("</answer>") for record in records)
