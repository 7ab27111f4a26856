"""Launch the vilasr lifecycle node.

    ros2 launch vilasr_ros vilasr.launch.py [params_file:=...] [namespace:=...] [model:=...]
        [use_sim_time:=true] [log_level:=debug] [autostart:=false] [rviz:=true] [large_data:=false]
        [camera:=camera] [image_topic:=...] [camera_info_topic:=...] [depth_topic:=...]

The node is started as a launch_ros LifecycleNode, so other launch files can drive
or watch its transitions (ChangeState / OnStateTransition). autostart:=true (default)
lets the node configure and activate itself; autostart:=false leaves it unconfigured
for a lifecycle manager (or `ros2 lifecycle set`). The topic arguments set the topics
of one camera of the parameter file (camera:=NAME, default 'camera'); empty keeps the
file's value. rviz:=true needs RViz (ros-$ROS_DISTRO-rviz2), which the package does not
depend on.

With large_data (default true) every process this launch starts -- add your camera driver
here to include it -- uses config/fastdds_large_data.xml (64 MB Fast DDS shared-memory
segments), unless the environment already names a Fast DDS profile or transport.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from launch import LaunchDescription

# ROS reads the level in either case (rcutils); launch checks choices exactly, so both are listed.
_LEVELS = ("debug", "info", "warn", "error", "fatal")
LOG_LEVELS = [*_LEVELS, *(level.upper() for level in _LEVELS)]
# Launch arguments that set cameras.<camera>.<name> (empty: the params file's value).
CAMERA_TOPICS = ("image_topic", "camera_info_topic", "depth_topic")


def _is_true(context, name: str) -> bool:
    value = LaunchConfiguration(name).perform(context).strip().lower()
    if value not in ("true", "false"):
        raise RuntimeError(f"launch argument {name} must be true or false, not {value!r}")
    return value == "true"


def _node(context, *args, **kwargs):
    overrides = {"use_sim_time": _is_true(context, "use_sim_time"), "autostart": _is_true(context, "autostart")}
    model = LaunchConfiguration("model").perform(context)
    if model:
        overrides["backend.model"] = model
    camera = LaunchConfiguration("camera").perform(context)
    for argument in CAMERA_TOPICS:
        topic = LaunchConfiguration(argument).perform(context)
        if topic:
            if not camera:
                raise RuntimeError(f"{argument}:={topic} needs camera:=NAME (an entry of cameras.names)")
            overrides[f"cameras.{camera}.{argument}"] = topic
    return [
        LifecycleNode(
            package="vilasr_ros",
            executable="vilasr_node",
            name="vilasr",
            namespace=LaunchConfiguration("namespace"),
            parameters=[LaunchConfiguration("params_file"), overrides],
            ros_arguments=["--log-level", LaunchConfiguration("log_level")],
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
            DeclareLaunchArgument(
                "log_level", default_value="info", choices=LOG_LEVELS, description="Logging level of the node"
            ),
            DeclareLaunchArgument(
                "autostart",
                default_value="true",
                description="Configure and activate at start; false: wait for a lifecycle manager",
            ),
            DeclareLaunchArgument(
                "camera", default_value="camera", description="Camera (entry of cameras.names) the topic arguments set"
            ),
            DeclareLaunchArgument("image_topic", default_value="", description="The camera's colour image topic"),
            DeclareLaunchArgument(
                "camera_info_topic", default_value="", description="The camera's CameraInfo topic (colour image)"
            ),
            DeclareLaunchArgument(
                "depth_topic", default_value="", description="The camera's registered depth image topic"
            ),
            DeclareLaunchArgument(
                "rviz", default_value="false", description="Also start RViz with rviz/vilasr.rviz (needs rviz2)"
            ),
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
