"""Launch the vilasr node.

    ros2 launch vilasr_ros vilasr.launch.py [params_file:=...] [namespace:=...] [model:=...]
        [use_sim_time:=true] [rviz:=true]
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription


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
    share = get_package_share_directory("vilasr_ros")
    default_params = os.path.join(share, "config", "vilasr.yaml")
    return LaunchDescription(
        [
            DeclareLaunchArgument("params_file", default_value=default_params, description="Node parameter file"),
            DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
            DeclareLaunchArgument(
                "model", default_value="", description="Override backend.model (Hugging Face id or local path)"
            ),
            DeclareLaunchArgument("use_sim_time", default_value="false", description="Use /clock time"),
            DeclareLaunchArgument("rviz", default_value="false", description="Also start RViz with rviz/vilasr.rviz"),
            OpaqueFunction(function=_node),
            Node(
                package="rviz2",
                executable="rviz2",
                arguments=["-d", os.path.join(share, "rviz", "vilasr.rviz")],
                condition=IfCondition(LaunchConfiguration("rviz")),
                parameters=[{"use_sim_time": LaunchConfiguration("use_sim_time")}],
            ),
        ]
    )
