"""Smoke tests of the three training stages on a tiny model (each under a minute on a CPU).

Stage 1's loss falls on the deployment's tokens; stage 2 writes only correct
traces, reflective first; stage 3 samples through the engine, logs rewards
and changes the policy; every output folder loads through the node's loader.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from vilasr_ros.cli import main
from vilasr_ros.config import EngineConfig
from vilasr_ros.evaluation.benchmark import generate_sim_benchmark, load_benchmark
from vilasr_ros.reasoning.backend import Backend
from vilasr_ros.reasoning.replay_backend import ReplayBackend, ReplaySession
from vilasr_ros.reasoning.transformers_backend import TransformersBackend
from vilasr_ros.sim.tiny_model import build_tiny_qwen
from vilasr_ros.training.curves import read_curves
from vilasr_ros.training.data import ItemStore, read_records, run_item, synth_trace, write_records, write_sft_data
from vilasr_ros.training.grpo import GRPOSettings, train_grpo
from vilasr_ros.training.rrs import sample_traces
from vilasr_ros.training.sft import train_sft
from vilasr_ros.training.trainer import TrainSettings

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    bench = root / "bench"
    generate_sim_benchmark(
        bench, seed=11, items=4, scenes=2, frames=2, width=224, height=168, families=("object_size", "rel_direction")
    )
    model = build_tiny_qwen(root / "init", seed=0, hidden_size=64, heads=4, rope_theta=100.0, split_digits=True)
    return root, bench, model


def _loads_and_answers(model_dir, bench) -> None:
    """The node's loader takes the folder, and the engine runs a query with it."""
    backend = TransformersBackend(str(model_dir), device="cpu", decode="dynamic")
    item = load_benchmark(bench)[0]
    outcome = run_item(
        item, ItemStore().frames(str(bench), item), backend, EngineConfig(max_new_tokens=8, temperature=0.0)
    )
    assert outcome.result is not None and outcome.result.turns
    backend.close()


def test_stage1_loss_falls_resumes_and_loads(world):
    root, bench, model = world
    write_sft_data(bench, root / "sft.jsonl", seed=0, reflect_share=0.5)
    records = read_records(root / "sft.jsonl")[:2]
    out = root / "stage1"
    settings = TrainSettings(steps=10, lr=5e-3, warmup=0, accumulate=2, save_every=100)
    summary = train_sft(model, records, out, settings, progress=None)
    assert summary.steps == 10
    # every step sees the same two conversations: the loss must fall on them, by more than a nat
    assert summary.last_loss < summary.first_loss - 1.0
    assert len(read_curves(out / "curves.jsonl")) == 10 and (out / "curves.png").is_file()
    resumed = train_sft(model, records, out, TrainSettings(**{**settings.__dict__, "steps": 12}), progress=None)
    assert resumed.steps == 12 and len(read_curves(out / "curves.jsonl")) == 12
    _loads_and_answers(out, bench)


class Alternating(Backend):
    """Sessions replaying a fixed cycle of transcripts (stands in for a sampling model)."""

    name = "replay"

    def __init__(self, cycle: list[list[str]]) -> None:
        self.cycle = cycle
        self.started = 0

    def start(self, system_prompt: str):
        turns = self.cycle[self.started % len(self.cycle)]
        self.started += 1
        return ReplaySession({"": turns})


def test_stage2_keeps_only_correct_traces_reflective_first_then_trains(world):
    root, bench, model = world
    rng = np.random.default_rng(0)
    items = load_benchmark(bench)
    kept_file = root / "rrs.jsonl"
    written = []
    for item in items:
        correct_plain = synth_trace(item, rng, reflect=False)
        correct_reflective = synth_trace(item, rng, reflect=True)
        wrong = correct_plain[:-1] + ["<think> guess </think> Action: Answer\n<answer> 12345 </answer>"]
        malformed = ["Action: Answer <answer> " + item.answer + " </answer>"]
        cycle = [wrong, correct_plain, malformed, correct_reflective]
        summary = sample_traces(bench, Alternating(cycle), root / "one.jsonl", k=4, keep=1, limit=None, progress=None)
        records = [r for r in read_records(root / "one.jsonl") if r["id"] == item.id]
        # of the four, two are correct and well-formed; the reflective one is preferred
        assert [r["turns"] for r in records] == [correct_reflective]
        assert summary.sampled == 4 * len(items)
        written += records
    write_records(kept_file, written)
    store = ItemStore()
    for record in read_records(kept_file):
        item = store.item(record["benchmark"], record["id"])
        outcome = run_item(
            item, store.frames(record["benchmark"], item), ReplayBackend(record["turns"]), EngineConfig()
        )
        assert item.score(outcome.result.answer) == 1.0
    out = root / "stage2"
    train_sft(model, kept_file, out, TrainSettings(steps=2, lr=1e-3, warmup=0), stage="rrs", progress=None)
    _loads_and_answers(out, bench)


def test_stage2_command_samples_with_the_model_through_the_engine(world, tmp_path):
    root, bench, model = world
    code = main(
        [
            "train",
            "rrs",
            "--model",
            str(model),
            "--bench",
            str(bench),
            "--out",
            str(tmp_path / "rrs"),
            "--limit",
            "1",
            "--k",
            "2",
            "--max-new-tokens",
            "12",
            "--steps",
            "1",
            "--device",
            "cpu",
        ]
    )
    records = (
        read_records(tmp_path / "rrs" / "rrs_traces.jsonl")
        if (tmp_path / "rrs" / "rrs_traces.jsonl").stat().st_size
        else []
    )
    assert code == (0 if records else 1)
    for record in records:  # whatever a random model wrote, only correct traces are kept
        item = ItemStore().item(record["benchmark"], record["id"])
        assert record["score"] >= 1.0 and item.score(record["turns"][-1]) == 1.0


def test_stage3_logs_rewards_and_changes_the_policy(world):
    root, _, model = world
    bench = root / "choice"
    generate_sim_benchmark(
        bench, seed=12, items=1, scenes=1, frames=2, width=224, height=168, families=("rel_direction",)
    )
    # a policy that answers A or B, about as often: the item's answer is one of them, so some rollouts of a
    # group are right and some wrong, and the rewards differ
    records = []
    items = load_benchmark(bench)
    assert items[0].answer in "AB"
    for item in items:
        for letter in "AB":
            records.append(
                {
                    "benchmark": str(bench.resolve()),
                    "id": item.id,
                    "turns": [f"<think> I look. </think> Action: Answer\n<answer> {letter} </answer>"],
                }
            )
    warm = root / "warm"
    train_sft(model, records, warm, TrainSettings(steps=60, lr=1e-2, warmup=0, accumulate=len(records)), progress=None)
    out = root / "stage3"
    summary = train_grpo(
        warm,
        bench,
        out,
        TrainSettings(steps=2, lr=1e-3, warmup=0, save_every=1),
        GRPOSettings(group=6, max_new_tokens=24, temperature=0.7),
        progress=None,
    )
    curves = read_curves(out / "curves.jsonl")
    assert [c["step"] for c in curves] == [1, 2]
    for curve in curves:
        assert 0.0 <= curve["reward"] <= 1.5 and 0.0 <= curve["accuracy"] <= 1.0 and curve["kl"] >= 0.0
    assert 0.0 < summary.mean_reward < 1.5  # some rollouts right, some wrong
    assert summary.changed > 0.0
    state = json.loads((out / "training.json").read_text())
    assert state["stage"] == "grpo" and state["beta"] == 0.01
    _loads_and_answers(out, bench)
    before = TransformersBackend(str(warm), device="cpu").model.state_dict()
    after = TransformersBackend(str(out), device="cpu").model.state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)
