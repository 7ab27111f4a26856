"""Build the backend a :class:`BackendConfig` names (heavy imports only for the one chosen)."""

from __future__ import annotations

from vilasr_ros.config import BackendConfig
from vilasr_ros.reasoning.backend import Backend


def create_backend(config: BackendConfig) -> Backend:
    """Load the configured backend; raises :class:`BackendError` when it cannot."""
    if config.kind == "replay":
        from vilasr_ros.reasoning.replay_backend import ReplayBackend

        return ReplayBackend.from_file(config.transcript, config.replay_turn_seconds)
    if config.kind == "openai":
        from vilasr_ros.reasoning.openai_backend import OpenAIBackend

        return OpenAIBackend.from_config(config)
    from vilasr_ros.reasoning.transformers_backend import TransformersBackend

    return TransformersBackend.from_config(config)
