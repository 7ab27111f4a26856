"""What each backend tells the node's diagnostics (``Backend.status``): model, device (or what stands for
one), dtype, and on a CUDA device the memory PyTorch holds there."""

from __future__ import annotations

import pytest

from vilasr_ros.reasoning.openai_backend import OpenAIBackend
from vilasr_ros.reasoning.replay_backend import ReplayBackend


def test_server_and_replay_backends_report_what_they_are():
    assert OpenAIBackend("https://example.org/v1", "vilasr").status() == {
        "device": "remote (openai server)",
        "server": "https://example.org/v1",
        "model": "vilasr",
    }
    assert ReplayBackend(["<answer> 1 </answer>"]).status() == {"device": "none (replay)"}


@pytest.mark.model
def test_the_transformers_backend_on_the_cpu_reports_its_device_and_no_gpu_memory(tiny_model_dir):
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend  # torch: only where a model loads

    backend = TransformersBackend(str(tiny_model_dir), device="cpu")
    try:
        assert backend.status() == {"model": str(tiny_model_dir), "device": "cpu", "dtype": "float32"}
    finally:
        backend.close()


@pytest.mark.model
def test_the_transformers_backend_on_cuda_reports_the_memory_its_weights_hold(tiny_model_dir):
    import torch

    from vilasr_ros.reasoning.transformers_backend import TransformersBackend

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    backend = TransformersBackend(str(tiny_model_dir), device="cuda")
    weights_mb = sum(p.numel() * p.element_size() for p in backend.model.parameters()) / 1e6
    status = backend.status()
    backend.close()
    assert status["device"].startswith("cuda") and status["dtype"] == "bfloat16"
    allocated = float(status["GPU memory allocated MB"])
    reserved = float(status["GPU memory reserved MB"])
    assert allocated >= round(weights_mb) - 1  # the weights at least (rounded to whole MB)
    assert allocated <= reserved + 1 and reserved <= float(status["GPU memory total MB"])
    assert "GPU memory allocated MB" not in backend.status()  # freed: nothing to report
