"""The tiny random Qwen2.5-VL with its attention and output sharpened, for tests that compare positions and caches.

At its initial scale the random model barely looks at positions (1-D instead of M-RoPE positions moves its
log-probs by ~1e-4); scaled like this, one token off by one position (or a key written at a wrong cache slot)
moves them by >1e-3 while two exact computations still agree to ~1e-5, so comparisons can tell right from wrong.
"""

from __future__ import annotations

import torch

from vilasr_ros.reasoning.transformers_backend import TransformersBackend


def sharpened(tiny_model_dir, incremental: bool = True, decode: str = "auto") -> TransformersBackend:
    """Load the tiny model through the backend, then scale q/k (x10), o (x5) and the output head (x30) in memory."""
    loaded = TransformersBackend(str(tiny_model_dir), decode=decode, incremental=incremental)
    with torch.no_grad():
        for layer in loaded.model.model.language_model.layers:
            for projection in (layer.self_attn.q_proj, layer.self_attn.k_proj):
                projection.weight.mul_(10.0)
                projection.bias.mul_(10.0)
            layer.self_attn.o_proj.weight.mul_(5.0)
        loaded.model.lm_head.weight.mul_(30.0)
    return loaded
