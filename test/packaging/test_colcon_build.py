"""`colcon build` of the package against the wheel-based ROS 2, from scratch.

Copies the package into a fresh workspace (src/vilasr_ros), builds it the way a
ROS user does, and imports the generated message, service and action types from
that install (not from the merged one `make setup` made).
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]


IMPORT_CHECK = textwrap.dedent(
    """
    import sys
    import vilasr_ros.msg, vilasr_ros.srv, vilasr_ros.action
    from vilasr_ros.msg import ReasoningTurn, SpatialEstimate, SpatialEstimateArray
    from vilasr_ros.srv import SpatialQuery
    from vilasr_ros.action import SpatialQuery as SpatialQueryAction
    from rclpy.serialization import serialize_message, deserialize_message

    assert vilasr_ros.msg.__file__.startswith(sys.argv[1]), vilasr_ros.msg.__file__
    estimate = SpatialEstimate(label="door", kind=SpatialEstimate.KIND_OBJECT, valid_3d=True, bbox_px=[1.0, 2.0, 3.0, 4.0])
    array = SpatialEstimateArray(query_id="q1", estimates=[estimate])
    back = deserialize_message(serialize_message(array), SpatialEstimateArray)
    assert back.estimates[0].label == "door" and list(back.estimates[0].bbox_px) == [1.0, 2.0, 3.0, 4.0]
    request = SpatialQuery.Request(question="Where?", answer_type=SpatialQuery.Request.ANSWER_NUMERIC)
    assert deserialize_message(serialize_message(request), SpatialQuery.Request).question == "Where?"
    assert SpatialQuery.Response.STOP_ANSWERED == "answered"
    assert SpatialQueryAction.Feedback.PHASE_REASONING == "reasoning"
    assert SpatialQueryAction.Goal().answer_type == SpatialQueryAction.Goal.ANSWER_AUTO
    assert ReasoningTurn.ACTION_PATH_TRACER == "Path Tracer"
    print("interfaces ok")
    """
)


def test_colcon_build_and_generated_types_import(tmp_path):
    colcon = shutil.which("colcon", path=os.path.dirname(sys.executable)) or shutil.which("colcon")
    assert colcon, "colcon is installed by `make setup`"
    # The wheel-based ROS lives in the venv: it is the underlay (as in tools/setup.sh).
    env = dict(os.environ)
    for variable in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):
        env[variable] = os.pathsep.join(filter(None, [sys.prefix, env.get(variable)]))
    shutil.copytree(
        REPO_ROOT,
        tmp_path / "src" / "vilasr_ros",
        ignore=shutil.ignore_patterns(".*", "build", "install", "log", "demo_out", "__pycache__"),
    )
    build = subprocess.run(
        [
            colcon,
            "build",
            "--base-paths",
            "src",
            "--cmake-args",
            "-DBUILD_TESTING=OFF",
            f"-DPython3_EXECUTABLE={sys.executable}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    prefix = tmp_path / "install" / "vilasr_ros"
    for relative in (
        "share/vilasr_ros/launch/vilasr.launch.py",
        "share/vilasr_ros/config/vilasr.yaml",
        "lib/vilasr_ros/vilasr_node",
        "share/vilasr_ros/package.xml",
    ):
        assert (prefix / relative).exists(), relative

    # Source the generated setup script the way a ROS user would, then import.
    check = subprocess.run(
        [
            "sh",
            "-c",
            f'. "{tmp_path}/install/local_setup.sh" && exec "{sys.executable}" -c "$0" "$1"',
            IMPORT_CHECK,
            str(prefix),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "interfaces ok" in check.stdout
