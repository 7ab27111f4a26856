"""StopReason is what the interfaces promise: the STOP_* constants of the service and the action."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vilasr_ros.core.stop import StopReason

ROOT = Path(__file__).resolve().parents[2]
CONSTANT = re.compile(r'^string STOP_([A-Z_]+)="([a-z_]+)"', re.MULTILINE)


@pytest.mark.parametrize("interface", ["srv/SpatialQuery.srv", "action/SpatialQuery.action"])
def test_every_stop_constant_is_a_stop_reason_and_back(interface):
    constants = dict(CONSTANT.findall((ROOT / interface).read_text()))
    assert constants == {reason.name: reason.value for reason in StopReason}


def test_a_stop_reason_is_its_string():
    assert StopReason.ANSWERED == "answered" and str(StopReason.TIMEOUT) == "timeout"
    assert f"{StopReason.MAX_TURNS}" == "max_turns" and StopReason("cancelled") is StopReason.CANCELLED
