"""The node's parameter file, read and written in one place: blocks that apply, round trips, clear errors."""

from __future__ import annotations

import pytest

from vilasr_ros.config import ConfigError
from vilasr_ros.config.params_file import ParamsFileError, read_params_file, write_params_file


def test_a_written_file_reads_back_to_the_same_configuration(tmp_path):
    path = write_params_file(
        tmp_path / "params.yaml",
        {
            "engine.max_turns": 7,
            "frames.target_frame": "odom",
            "cameras": {"names": ["front", "rear"], "front": {"image_topic": "/front/image_rect", "rectified": "true"}},
            "cameras.rear.image_topic": "/rear/image_raw",
        },
    )
    params = read_params_file(path)
    assert params.config.engine.max_turns == 7 and params.config.frames.target_frame == "odom"
    assert [camera.name for camera in params.cameras] == ["front", "rear"]
    assert params.cameras[0].image_topic == "/front/image_rect" and params.cameras[0].is_rectified
    assert params.cameras[1].image_topic == "/rear/image_raw" and params.unknown == ()
    assert path.read_text().startswith("/**:\n  ros__parameters:\n")


def test_blocks_for_every_node_any_node_and_this_node_apply_in_file_order_others_do_not(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(
        "/**:\n  ros__parameters:\n    engine:\n      max_turns: 3\n      max_images: 20\n"
        "other_node:\n  ros__parameters:\n    engine:\n      max_turns: 99\n"
        "robot1:\n  vilasr:\n    ros__parameters:\n      engine:\n        max_turns: 5\n"
        "'*':\n  ros__parameters:\n    query:\n      timeout: 12.5\n      not_a_parameter: 1\n"
    )
    params = read_params_file(path)
    assert params.config.engine.max_turns == 5  # /robot1/vilasr's block comes after /**
    assert params.config.engine.max_images == 20 and params.config.query.timeout == 12.5
    assert params.unknown == ("query.not_a_parameter",)  # reported, not refused (the node ignores it)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "does not exist"),
        ("engine: [unclosed", "cannot read params file"),
        ("other_node:\n  ros__parameters:\n    a: 1\n", "has no parameters for the node"),
        ("/**:\n  ros__parameters: [1, 2]\n", "ros__parameters must be a mapping"),
    ],
)
def test_unreadable_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "params.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ParamsFileError, match=message):
        read_params_file(path)


def test_an_invalid_value_names_the_file_and_the_parameter(tmp_path):
    path = write_params_file(tmp_path / "params.yaml", {"engine.max_turns": "many"})
    with pytest.raises(
        ConfigError, match=r"invalid parameter in .*params\.yaml: engine\.max_turns must be of type int"
    ):
        read_params_file(path)
