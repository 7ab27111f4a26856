#!/usr/bin/env bash
# `make demo` (foundation version): start the node, ask it one question
# through the ~/query service, print the response, stop the node.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROS_AUTOMATIC_DISCOVERY_RANGE=${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
mkdir -p demo_out

vilasr-ros node --params-file config/vilasr.yaml >demo_out/node.log 2>&1 &
node_pid=$!
trap 'kill -INT $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true' EXIT

echo "vilasr node started (pid $node_pid, log: demo_out/node.log); asking a question..."
status=0
vilasr-ros ask "How far is the red chair from the door?" --wait 60 || status=$?
echo
echo "node log:"
sed 's/^/  /' demo_out/node.log
# The reasoning engine is not part of this version: the node must refuse with
# "not ready" (exit 1 from ask); anything else (no service, crash) is a failure.
if [ "$status" -ne 1 ] || ! grep -q "not ready" demo_out/node.log; then
  echo "demo failed: the node did not answer as expected" >&2
  exit 1
fi
echo "demo finished: the node is up and answers on /vilasr/query."
