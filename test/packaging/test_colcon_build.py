"""`colcon build` of the package against the wheel-based ROS 2, from scratch.

The session's workspace (conftest.py: the package copied into src/vilasr_ros and
built the way a ROS user does): the installed files are there, and the generated
message, service and action types import from that install (not from the merged
one `make setup` made).
"""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.packaging


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


def test_colcon_build_and_generated_types_import(colcon_workspace):
    tmp_path = colcon_workspace.root
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
