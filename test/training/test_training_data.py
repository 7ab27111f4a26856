"""Stage-1 traces, GRPO arithmetic and rejection-sampling selection: no model needed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.behaviour import count_revisions, format_problems
from vilasr_ros.evaluation.benchmark import generate_sim_benchmark, load_benchmark
from vilasr_ros.reasoning import protocol
from vilasr_ros.reasoning.replay_backend import ReplayBackend
from vilasr_ros.training.data import ItemStore, read_records, run_item, synth_trace, write_sft_data
from vilasr_ros.training.grpo import advantages, k3
from vilasr_ros.training.rollouts import Rollout
from vilasr_ros.training.rrs import select


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


def test_k3_is_a_non_negative_kl_estimate_that_vanishes_at_the_reference():
    logp = torch.log(torch.tensor([0.2, 0.5, 0.9]))
    assert torch.allclose(k3(logp, logp), torch.zeros(3))
    other = torch.log(torch.tensor([0.4, 0.1, 0.8]))
    assert bool((k3(other, logp) > 0).all())
    # its expectation under the policy is KL(policy || reference): check on a two-outcome distribution
    p, q = torch.tensor([0.3, 0.7]), torch.tensor([0.6, 0.4])
    expected = float((p * (p / q).log()).sum())
    assert float((p * k3(q.log(), p.log())).sum()) == pytest.approx(expected, rel=1e-5)


def test_group_advantages_are_normalised_and_zero_for_equal_rewards():
    values = advantages([1.0, 0.0, 0.5, 0.5])
    assert np.mean(values) == pytest.approx(0.0, abs=1e-9)
    assert np.std(values) == pytest.approx(1.0, rel=1e-4)
    assert values[0] > values[2] > values[1]
    assert advantages([0.3, 0.3, 0.3]) == [0.0, 0.0, 0.0]


def _rollout(score: float, revisions: int, valid: bool = True, answer: str | None = "A") -> Rollout:
    return Rollout("x", ["t"], answer, score, valid, revisions, "answered")


def test_rejection_sampling_keeps_correct_well_formed_traces_reflective_first():
    group = [_rollout(1.0, 0), _rollout(0.0, 2), _rollout(1.0, 1), _rollout(1.0, 3, valid=False), _rollout(0.4, 0)]
    kept = select(group, min_score=1.0, keep=2)
    assert [(r.score, r.revisions) for r in kept] == [(1.0, 1), (1.0, 0)]
    assert select(group, min_score=1.0, keep=1) == [group[2]]
    assert [r.score for r in select(group, min_score=0.3, keep=5)] == [1.0, 1.0, 0.4]
