"""Weight-only quantization of the language model with torchao (where bitsandbytes does not run).

bitsandbytes' aarch64 wheels fail at their first kernel on Jetson Orin; torchao's
weight-only schemes run on plain PyTorch kernels instead:

* ``torchao-int8``: int8 weights, one scale per output channel (CPU or CUDA);
* ``torchao-int4``: int4 weights in groups of 128 with the tinygemm CUDA kernel
  (CUDA and bfloat16 only).

Only the language model's linear layers and the output head are quantized: the
vision encoder runs once per image and keeps its precision.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import torch

from vilasr_ros.reasoning.backend import BackendError

TORCHAO_SCHEMES = ("torchao-int8", "torchao-int4")
TORCHAO_PIN = "torchao==0.18.0"
INT4_GROUP_SIZE = 128


def check_torchao(scheme: str, device: torch.device, dtype: torch.dtype) -> None:
    """Raise :class:`BackendError` saying why ``scheme`` cannot run here (before the weights are loaded)."""
    if scheme not in TORCHAO_SCHEMES:
        raise BackendError(f"unknown torchao scheme {scheme!r}; expected one of {', '.join(TORCHAO_SCHEMES)}")
    if importlib.util.find_spec("torchao") is None:
        raise BackendError(
            f"backend.quantization={scheme} needs the torchao package, which is not installed: "
            f"pip install {TORCHAO_PIN} (or set backend.quantization to none)"
        )
    if scheme == "torchao-int4":
        if device.type != "cuda":
            raise BackendError(
                f"backend.quantization=torchao-int4 runs the tinygemm int4 kernel, which needs a CUDA GPU; the "
                f"device is {device}. Use torchao-int8 on the CPU."
            )
        if dtype != torch.bfloat16:
            raise BackendError(f"backend.quantization=torchao-int4 needs backend.dtype bfloat16, got {dtype}")


def _is_language_linear(module: torch.nn.Module, name: str) -> bool:
    return isinstance(module, torch.nn.Linear) and (name.startswith("model.language_model.") or name == "lm_head")


def apply_torchao(model: Any, scheme: str) -> None:
    """Quantize the language model's linear layers of ``model`` in place (``check_torchao`` passed)."""
    try:
        quantization = importlib.import_module("torchao.quantization")
        if scheme == "torchao-int8":
            config = quantization.Int8WeightOnlyConfig()
        else:
            config = quantization.Int4WeightOnlyConfig(
                group_size=INT4_GROUP_SIZE, int4_packing_format="tile_packed_to_4d"
            )
        quantization.quantize_(model, config, filter_fn=_is_language_linear)
    except Exception as error:
        raise BackendError(
            f"backend.quantization={scheme}: torchao could not quantize the model ({type(error).__name__}: {error}); "
            f"install a torchao release built for torch {torch.__version__}"
        ) from error
