"""Parameter descriptors generated from the schema (ranges, read-only) and the review of runtime
changes (applied where safe, refused with a reason otherwise), on an rclpy node in the test process."""

from __future__ import annotations

import pytest
import rclpy
from rclpy.parameter import Parameter

from vilasr_ros.config import ConfigError
from vilasr_ros.ros.parameters import declare_node_parameters, review_parameter_change

pytestmark = pytest.mark.ros


@pytest.fixture
def plain_node():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    nodes = []

    def create(*overrides: Parameter):
        node = rclpy.create_node("vilasr_params", context=context, parameter_overrides=list(overrides))
        nodes.append(node)
        return node

    try:
        yield create
    finally:
        for node in nodes:
            node.destroy_node()
        rclpy.shutdown(context=context)


def test_descriptors_carry_the_schema_ranges_and_read_only(plain_node):
    node = plain_node(Parameter("cameras.names", value=["front"]))
    declare_node_parameters(node)
    top_p = node.describe_parameter("engine.top_p")
    assert (top_p.floating_point_range[0].from_value, top_p.floating_point_range[0].to_value) == (0.0, 1.0)
    quality = node.describe_parameter("backend.jpeg_quality")
    assert (quality.integer_range[0].from_value, quality.integer_range[0].to_value) == (1, 100)
    assert quality.read_only and not top_p.read_only
    assert node.describe_parameter("cameras.front.depth_scale").floating_point_range[0].from_value == 0.0
    assert not node.describe_parameter("frames.target_frame").floating_point_range
    # rclpy itself refuses a value outside the range.
    (result,) = node.set_parameters([Parameter("engine.max_turns", value=0)])
    assert not result.successful and "engine.max_turns" in result.reason


@pytest.mark.parametrize(
    ("value", "rectified"), [(True, True), (False, False), ("true", True), ("auto", False), ("false", False)]
)
def test_rectified_takes_a_boolean_as_yaml_and_the_command_line_write_it(plain_node, value, rectified):
    node = plain_node(
        Parameter("cameras.names", value=["front"]),
        Parameter("cameras.front.image_topic", value="/front/image_raw"),
        Parameter("cameras.front.rectified", value=value),
    )
    settings = declare_node_parameters(node)
    assert settings.cameras[0].is_rectified is rectified
    assert node.describe_parameter("cameras.front.rectified").dynamic_typing


def test_rectified_refuses_other_words_clearly(plain_node):
    node = plain_node(Parameter("cameras.names", value=["front"]), Parameter("cameras.front.rectified", value="yes"))
    with pytest.raises(ConfigError, match=r"cameras\.front\.rectified must be one of auto, true, false"):
        declare_node_parameters(node)


def test_an_out_of_range_start_value_is_a_config_error_naming_the_bounds(plain_node):
    node = plain_node(Parameter("engine.max_turns", value=0))
    with pytest.raises(ConfigError, match=r"engine\.max_turns must be >= 1"):
        declare_node_parameters(node)


def test_runtime_changes_are_applied_where_safe_and_refused_with_a_reason_elsewhere(plain_node):
    node = plain_node(Parameter("cameras.names", value=["front"]))
    current = declare_node_parameters(node)

    def review(*changes: Parameter, configured: bool = True):
        return review_parameter_change(node, list(changes), current if configured else None, queue_limit=4)

    result, settings = review(Parameter("keyframes.min_sharpness", value=55.0), Parameter("query.timeout", value=9.0))
    assert result.successful and settings.node.keyframes.min_sharpness == 55.0 and settings.node.query.timeout == 9.0
    assert settings.node.engine == current.node.engine

    result, settings = review(Parameter("engine.temperature", value=0.1))
    assert not result.successful and settings is None
    assert result.reason.startswith("engine.temperature cannot change while the node is configured (the reasoning")
    result, _ = review(Parameter("cameras.front.depth_scale", value=0.0001))
    assert not result.successful and "camera subscriptions" in result.reason
    result, _ = review(Parameter("query.queue_size", value=5))
    assert not result.successful and "at most 4" in result.reason
    assert review(Parameter("query.queue_size", value=1))[0].successful
    # Invalid as a whole: refused with the schema's reason, configured or not.
    result, _ = review(Parameter("keyframes.min_interval", value=9.0))
    assert not result.successful and "keyframes.max_interval" in result.reason
    # Unconfigured: every valid change is accepted (configure reads them), nothing to apply now.
    result, settings = review(Parameter("engine.temperature", value=0.1), configured=False)
    assert result.successful and settings is None
    assert not review(Parameter("query.queue_size", value=9), configured=False)[0].successful
    # Not ours (rclpy's own): passed through.
    assert review(Parameter("use_sim_time", value=True))[0].successful
