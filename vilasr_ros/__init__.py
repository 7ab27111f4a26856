"""vilasr_ros: spatial reasoning by drawing (ViLaSR) for ROS 2.

The generated interfaces (``vilasr_ros.msg``, ``.srv``, ``.action``) are
installed by colcon next to the hand-written modules. ``extend_path`` lets a
source checkout placed first on ``sys.path`` still find them in the install.
Only ``vilasr_ros.ros`` imports rclpy.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
__version__ = "0.1.0"
