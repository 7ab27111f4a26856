"""Launch the vilasr node.

    ros2 launch vilasr_ros vilasr.launch.py [params_file:=...] [namespace:=...] [model:=...]
        [use_sim_time:=true] [rviz:=true] [large_data:=false]

With large_data (default true) every process this launch starts -- add your camera driver
here to include it -- uses config/fastdds_large_data.xml (64 MB Fast DDS shared-memory
segments), unless the environment already names a Fast DDS profile or transport.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
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


# Fast DDS 3 and Fast DDS 2 read these; any of USER_CHOICES set means the user chose a transport.
PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
USER_CHOICES = (*PROFILE_VARIABLES, "FASTDDS_BUILTIN_TRANSPORTS", "RMW_FASTRTPS_USE_QOS_FROM_XML")


def _large_data(context, *args, **kwargs):
    if LaunchConfiguration("large_data").perform(context).lower() != "true":
        return []
    if any(os.environ.get(name) for name in USER_CHOICES):
        return []
    profile = os.path.join(get_package_share_directory("vilasr_ros"), "config", "fastdds_large_data.xml")
    fast_dds_2 = os.environ.get("ROS_DISTRO", "") in ("humble", "iron", "jazzy")  # FASTRTPS_* there
    return [SetEnvironmentVariable(name, profile) for name in PROFILE_VARIABLES[: 2 if fast_dds_2 else 1]]


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
            DeclareLaunchArgument(
                "large_data",
                default_value="true",
                description="Use the shipped Fast DDS large-data profile (unless the environment names one)",
            ),
            OpaqueFunction(function=_large_data),
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
