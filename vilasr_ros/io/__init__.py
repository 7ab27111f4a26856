"""Input adapters: what the camera drivers, recordings and files deliver, as plain values. No ROS imports.

- ``images``: raw and compressed image payloads (sensor_msgs encodings, compressedDepth) -> arrays;
- ``messages``: fields of ROS messages (live from rclpy or decoded from a bag) -> core types;
- ``cameras``: a configured camera -> the pairing settings of its frames;
- ``bags`` / ``bag_writer``: rosbag2 MCAP recordings read and written without ROS;
- ``camera_files``: depth images and camera_calibration YAML from files;
- ``keyframe_folder``: keyframes written to and read from a folder;
- ``frame_files``: image files with depth, calibration and poses as frames (``vilasr-ros reason``);
- ``ingest``: a recording or a folder of frames through the keyframe store into a keyframe folder.
"""
