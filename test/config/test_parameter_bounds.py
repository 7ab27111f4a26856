"""The bounds of numeric parameters, declared once in the schema: validation and the ROS ranges."""

from __future__ import annotations

import math

import pytest

from vilasr_ros.config import (
    Bounds,
    ConfigError,
    EngineConfig,
    KeyframeConfig,
    NodeConfig,
    camera_parameter_bounds,
    parameter_bounds,
    parameter_defaults,
)


def test_bounds_say_what_they_accept():
    assert Bounds(1, 100).problem("backend.jpeg_quality", 101) == "backend.jpeg_quality must be in 1..100, got 101"
    assert Bounds(1, 100).problem("backend.jpeg_quality", 100) is None
    top_p = Bounds(0.0, 1.0, exclusive_minimum=True)
    assert top_p.problem("engine.top_p", 0.0) == "engine.top_p must be in (0.0, 1.0], got 0.0"
    assert top_p.problem("engine.top_p", 1.0) is None
    assert Bounds(0.0).problem("query.lookback", math.inf) == "query.lookback must be a finite number >= 0.0, got inf"
    assert Bounds(0.0).problem("query.lookback", math.nan) is not None
    assert Bounds(-1).problem("engine.seed", -2) == "engine.seed must be >= -1, got -2"


def test_every_bound_is_enforced_by_the_schema_at_its_edge():
    bounds = parameter_bounds()
    defaults = parameter_defaults()
    assert {"engine.top_p", "keyframes.min_sharpness", "query.queue_size", "geometry.endpoint_radius"} <= set(bounds)
    for name, bound in bounds.items():
        real = isinstance(defaults[name], float)
        step = 1e-9 if real else 1
        if bound.minimum is not None:
            below = bound.minimum if bound.exclusive_minimum else bound.minimum - step
            with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
                NodeConfig.from_parameters({name: float(below) if real else int(below)})
        if bound.maximum is not None:
            above = bound.maximum + step
            with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
                NodeConfig.from_parameters({name: float(above) if real else int(above)})


def test_cross_field_rules_stay_beside_the_bounds():
    with pytest.raises(ConfigError, match="keyframes.max_interval"):
        KeyframeConfig(min_interval=3.0, max_interval=2.0)
    assert EngineConfig(temperature=0.0).temperature == 0.0


def test_camera_bounds_are_named_per_camera():
    assert camera_parameter_bounds("front") == {"cameras.front.depth_scale": Bounds(0.0, None, True)}
