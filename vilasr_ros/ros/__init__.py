"""ROS 2 glue: the only sub-package that imports rclpy."""
