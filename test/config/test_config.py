"""The node's configuration schema: defaults, validation and the flat ROS names."""

import math

import pytest

from vilasr_ros.config import ConfigError, NodeConfig, parameter_defaults, parameter_descriptions


def test_defaults_are_valid_and_match_the_reference_evaluation():
    config = NodeConfig()
    assert config.backend.kind == "transformers"
    assert config.backend.model == "AntResearchNLP/ViLaSR"
    assert (config.engine.max_turns, config.engine.max_images, config.engine.max_pixels) == (10, 45, 351232)
    assert (config.engine.temperature, config.engine.top_p) == (0.75, 0.9)
    assert config.query.max_keyframes == 16


def test_every_parameter_has_a_description():
    docs = parameter_descriptions()
    assert set(docs) == set(parameter_defaults())
    assert all(len(text) > 10 for text in docs.values())


def test_flat_round_trip():
    values = parameter_defaults()
    values["engine.max_turns"] = 4
    values["frames.target_frame"] = "odom"
    config = NodeConfig.from_parameters(values)
    assert config.engine.max_turns == 4
    assert config.frames.target_frame == "odom"
    assert config.to_parameters() == values


def test_missing_names_keep_defaults_and_ints_become_floats():
    config = NodeConfig.from_parameters({"query.timeout": 30})
    assert config.query.timeout == 30.0 and isinstance(config.query.timeout, float)
    assert config.engine == NodeConfig().engine


@pytest.mark.parametrize(
    "name, value",
    [
        ("backend.kind", "llama"),
        ("backend.device", "gpu"),
        ("backend.device", "cuda:x"),
        ("backend.dtype", "int4"),
        ("backend.attn_implementation", "flash"),
        ("backend.quantization", "2bit"),
        ("backend.model", "  "),
        ("backend.request_timeout", 0.0),
        ("backend.request_timeout", math.nan),
        ("backend.max_retries", -1),
        ("engine.max_turns", 0),
        ("engine.max_images", 0),
        ("engine.max_pixels", 100),
        ("engine.temperature", -0.1),
        ("engine.temperature", math.inf),
        ("engine.top_p", 0.0),
        ("engine.top_p", 1.5),
        ("engine.max_new_tokens", 0),
        ("engine.seed", -2),
        ("query.max_keyframes", 0),
        ("query.lookback", -1.0),
        ("query.timeout", 0.0),
        ("query.queue_size", -1),
        ("frames.target_frame", ""),
        ("frames.base_frame", "/base_link"),
    ],
)
def test_invalid_values_are_rejected_with_the_parameter_named(name, value):
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        NodeConfig.from_parameters({name: value})


def test_backend_specific_requirements():
    with pytest.raises(ConfigError, match="backend.transcript"):
        NodeConfig.from_parameters({"backend.kind": "replay"})
    with pytest.raises(ConfigError, match="backend.url"):
        NodeConfig.from_parameters({"backend.kind": "openai", "backend.url": "localhost:8000"})
    replay = NodeConfig.from_parameters({"backend.kind": "replay", "backend.transcript": "t.json", "backend.model": ""})
    assert replay.backend.transcript == "t.json"


def test_wrong_types_and_unknown_names_are_rejected():
    with pytest.raises(ConfigError, match="engine.max_turns must be of type int"):
        NodeConfig.from_parameters({"engine.max_turns": "ten"})
    with pytest.raises(ConfigError, match="engine.max_turns must be of type int"):
        NodeConfig.from_parameters({"engine.max_turns": True})
    with pytest.raises(ConfigError, match="unknown parameter.*engine.max_turn\\b"):
        NodeConfig.from_parameters({"engine.max_turn": 3})


def test_cameras_and_pose_groups():
    config = NodeConfig.from_parameters(
        {"cameras.names": ["front", "left"], "pose.source": "odometry", "autostart": False}
    )
    assert config.cameras.names == ("front", "left") and config.pose.source == "odometry" and config.autostart is False
    for values, message in [
        ({"cameras.names": []}, "cameras.names must name at least one camera"),
        ({"cameras.names": ["front", "front"]}, "duplicates"),
        ({"cameras.names": ["front/left"]}, "letters, digits and '_'"),
        ({"cameras.names": "front"}, "cameras.names must be a list of strings"),
        ({"pose.source": "gps"}, "pose.source must be one of"),
        ({"autostart": "yes"}, "autostart must be of type bool"),
    ]:
        with pytest.raises(ConfigError, match=message):
            NodeConfig.from_parameters(values)


def test_per_camera_parameters_and_extrinsics():
    from vilasr_ros.config import CameraConfig, camera_parameter_defaults

    assert set(camera_parameter_defaults("front")) >= {"cameras.front.image_topic", "cameras.front.extrinsic"}
    camera = CameraConfig.from_parameters(
        "front", {"cameras.front.transport": "compressed", "cameras.front.extrinsic": "0.2 0 1.1 0 0 1.5707963"}
    )
    position, quaternion = camera.extrinsic_values()
    assert position == (0.2, 0.0, 1.1)
    assert quaternion == pytest.approx((0.0, 0.0, math.sqrt(0.5), math.sqrt(0.5)), abs=1e-6)
    assert CameraConfig.from_parameters("front", {"cameras.front.extrinsic": "1 2 3 0 0 0 2"}).extrinsic_values()[
        1
    ] == (0, 0, 0, 1)
    assert CameraConfig(name="front").extrinsic_values() is None
    for values, message in [
        ({"cameras.front.extrinsic": "1 2 3"}, r"cameras\.front\.extrinsic must be"),
        ({"cameras.front.extrinsic": "1 2 3 0 0 0 0"}, "zero length"),
        ({"cameras.front.transport": "theora"}, r"cameras\.front\.transport must be one of"),
        ({"cameras.front.depth_scale": 0.0}, r"cameras\.front\.depth_scale"),
        ({"cameras.front.image_topic": " "}, r"cameras\.front\.image_topic must name a topic"),
    ]:
        with pytest.raises(ConfigError, match=message):
            CameraConfig.from_parameters("front", values)
