"""GRPO's KL estimate and advantages, and rejection sampling's choice (pure functions of modules that load torch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vilasr_ros.training.grpo import advantages, k3
from vilasr_ros.training.rollouts import Rollout
from vilasr_ros.training.rrs import select

pytestmark = pytest.mark.model  # importing the trainer loads torch and transformers


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
