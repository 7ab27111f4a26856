"""Diagnostics of the backend (kind, loaded, queue, last latency, device) and per-camera frame rates:
the rate window on a counter sampled like the diagnostics timer does, and the statuses it feeds."""

from __future__ import annotations

import pytest
from builtin_interfaces.msg import Time

from vilasr_ros.config import KeyframeConfig
from vilasr_ros.keyframes.store import KeyframeStore
from vilasr_ros.reasoning.openai_backend import OpenAIBackend
from vilasr_ros.reasoning.replay_backend import ReplayBackend
from vilasr_ros.ros.conversions import BackendReport, diagnostics_msg
from vilasr_ros.ros.rates import RateWindow


def _values(message) -> dict[str, dict[str, str]]:
    return {status.name: {kv.key: kv.value for kv in status.values} for status in message.status}


def test_rate_is_frames_over_the_last_window_of_samples():
    window = RateWindow(window=5.0)
    assert window.update(0, 100.0) is None  # one sample: no span yet
    count = 0
    for second in range(1, 11):  # 30 frames/s for 10 s, sampled once a second
        count += 30
        rate = window.update(count, 100.0 + second)
    assert rate == pytest.approx(30.0)
    for second in range(11, 17):  # then 10 frames/s for 6 s: the window (5 s) holds only those
        count += 10
        rate = window.update(count, 100.0 + second)
    assert rate == pytest.approx(10.0)
    for second in range(17, 20):  # the camera stops
        rate = window.update(count, 100.0 + second)
    assert rate == pytest.approx(10 * 2 / 5)  # 5 s window: 2 s of 10 frames/s, 3 s of nothing


def test_a_counter_that_restarts_starts_the_rate_over():
    window = RateWindow(window=5.0)
    window.update(500, 0.0)
    window.update(530, 1.0)
    assert window.update(4, 2.0) is None  # a new camera input (reactivated): not a negative rate
    assert window.update(24, 3.0) == pytest.approx(20.0)


def test_a_window_must_be_positive():
    with pytest.raises(ValueError, match="rate window"):
        RateWindow(window=0.0)


def test_diagnostics_report_the_backend_and_each_cameras_frame_rate():
    store = KeyframeStore(KeyframeConfig(), cameras=("front", "rear"))
    backend = OpenAIBackend("http://localhost:8000/v1", "vilasr-7b")
    report = BackendReport(
        kind="openai", loaded=True, state="active", queue_length=2, last_latency_s=3.456, details=backend.status()
    )
    message = diagnostics_msg(
        "/vilasr",
        store.stats(),
        [],
        Time(sec=5),
        rss_bytes=812_345_678,
        backend=report,
        frame_rates={"front": 14.96, "rear": None},
    )
    values = _values(message)
    assert values["/vilasr: camera front"]["frame rate Hz"] == "15.0"
    assert values["/vilasr: camera rear"]["frame rate Hz"] == "unknown"
    status = next(s for s in message.status if s.name == "/vilasr: backend")
    assert status.level == status.OK and status.hardware_id == "remote (openai server)"
    assert values["/vilasr: backend"] == {
        "backend": "openai",
        "model loaded": "True",
        "state": "active",
        "device": "remote (openai server)",
        "server": "http://localhost:8000/v1",
        "model": "vilasr-7b",
        "memory MB": "812",  # the model's memory is the server's: this process's resident memory
        "memory measured": "process RSS",
        "queue length": "2",
        "queries running or waiting": "2",
        "last query latency s": "3.46",
    }


@pytest.mark.parametrize(
    ("details", "loaded", "device", "memory", "measured"),
    [
        (ReplayBackend(["x"]).status(), True, "none (replay)", "300", "process RSS"),
        ({"model": "m", "device": "cpu", "dtype": "float32"}, True, "cpu", "300", "process RSS"),  # transformers
        (
            {"model": "m", "device": "cuda:0", "GPU memory allocated MB": "15000", "GPU memory reserved MB": "16200"},
            True,
            "cuda:0",
            "16200",
            "GPU memory reserved on cuda:0",
        ),
        ({}, False, "none (not loaded)", "300", "process RSS"),  # before configure
        ({}, True, "unknown", "300", "process RSS"),  # a backend that says nothing of itself
    ],
)
def test_the_backend_status_always_names_device_memory_and_queue_length(details, loaded, device, memory, measured):
    store = KeyframeStore(KeyframeConfig(), cameras=("front",))
    report = BackendReport(kind="k", loaded=loaded, state="active", queue_length=3, details=details)
    message = diagnostics_msg("/vilasr", store.stats(), [], Time(), rss_bytes=300_200_000, backend=report)
    values = _values(message)["/vilasr: backend"]
    assert (values["device"], values["memory MB"], values["memory measured"]) == (device, memory, measured)
    assert values["queue length"] == values["queries running or waiting"] == "3"
    assert all(values[key] == value for key, value in details.items())  # the backend's own values kept


def test_without_a_resident_memory_reading_the_memory_is_unknown():
    store = KeyframeStore(KeyframeConfig(), cameras=("front",))
    report = BackendReport(kind="replay", loaded=True, state="active", details=ReplayBackend(["x"]).status())
    values = _values(diagnostics_msg("/vilasr", store.stats(), [], Time(), backend=report))["/vilasr: backend"]
    assert values["memory MB"] == "unknown" and values["memory measured"] == "process RSS"


def test_an_unloaded_backend_is_an_error_and_no_latency_is_said_so():
    store = KeyframeStore(KeyframeConfig(), cameras=("front",))
    report = BackendReport(kind="replay", loaded=False, state="unconfigured", details=ReplayBackend(["x"]).status())
    message = diagnostics_msg("/vilasr", store.stats(), [], Time(), backend=report)
    status = next(s for s in message.status if s.name == "/vilasr: backend")
    assert status.level == status.ERROR and "not loaded" in status.message
    assert _values(message)["/vilasr: backend"]["last query latency s"] == "none yet"
