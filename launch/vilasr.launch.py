"""Launch the vilasr node.

    ros2 launch vilasr_ros vilasr.launch.py [params_file:=...] [namespace:=...] [model:=...] [use_sim_time:=true]
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _node(context, *args, **kwargs):
    overrides = {"use_sim_time": LaunchConfiguration("use_sim_time").perform(context).lower() == "true"}
    model = LaunchConfiguration("model").perform(context)
    if model:
        overrides["backend.model"] = model
    return [
        Node(
            package="vilasr_ros",
            executable="vilasr_node",
            name="vilasr",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), overrides],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description() -> LaunchDescription:
    default_params = os.path.join(get_package_share_directory("vilasr_ros"), "config", "vilasr.yaml")
    return LaunchDescription(
        [
            DeclareLaunchArgument("params_file", default_value=default_params, description="Node parameter file"),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
            DeclareLaunchArgument(
                "model", default_value="", description="Override backend.model (Hugging Face id or local path)"
            ),
            DeclareLaunchArgument("use_sim_time", default_value="false", description="Use /clock time"),
            OpaqueFunction(function=_node),
        ]
    )
