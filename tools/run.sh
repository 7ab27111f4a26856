#!/usr/bin/env bash
# Run a command in the project's environment (what `make` uses): .venv first on
# PATH and, when built against a sourced ROS 2 install, ./install sourced.
set -eo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ -n "${ROS_DISTRO:-}" ] && [ -f install/local_setup.sh ]; then
  # shellcheck disable=SC1091
  . install/local_setup.sh
fi
export PATH="$PWD/$VENV/bin:$PATH"
exec "$@"
