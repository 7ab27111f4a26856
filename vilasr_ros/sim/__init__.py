"""A synthetic robot world for the demo and tests (plain Python; its ROS publisher is vilasr_ros.ros.demo)."""
