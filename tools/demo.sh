#!/usr/bin/env bash
# `make demo`: a synthetic RGB-D room, the vilasr node, and a planner asking three
# questions through the service and the action (see vilasr_ros/ros/demo/).
# MODEL=... (hub id or local path) runs the real model; BACKEND=openai URL=... a server.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
exec python -m vilasr_ros.ros.demo --out demo_out
