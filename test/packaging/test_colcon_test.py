"""`colcon test` runs the package's tests and ruff, and `colcon test-result` reports them.

Builds the package with BUILD_TESTING on in a fresh workspace (against the
wheel-based ROS 2 of the venv, as test_colcon_build does), plants two tests in the
workspace's copy (one failing, one importing the generated interfaces) and runs
`colcon test` on a small selection (the package's static checks plus those): the
real tests pass, the interfaces import from the install, the planted failure fails
and reaches `colcon test-result`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]

PLANTED = """
def test_planted_failure_reaches_colcon_test_result():
    assert 1 + 1 == 3, "planted by test_colcon_test"


def test_planted_generated_interfaces_import_from_the_install():
    import vilasr_ros.msg

    assert "/install/vilasr_ros/" in vilasr_ros.msg.__file__, vilasr_ros.msg.__file__
"""
SELECTION = "test_package_dependencies or test_package_metadata or test_planted"


def xunit_outcomes(path: Path) -> list[tuple[str, str]]:
    """(testcase name, 'passed' / 'failed' / 'skipped') of every testcase of an xunit file."""
    outcomes = []
    for case in ET.parse(path).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        outcomes.append((case.get("name"), outcome))
    return outcomes


def test_colcon_test_runs_the_tests_and_reports_failures(tmp_path):
    colcon = shutil.which("colcon", path=os.path.dirname(sys.executable)) or shutil.which("colcon")
    assert colcon, "colcon is installed by `make setup`"
    env = dict(os.environ)
    for variable in ("AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):
        env[variable] = os.pathsep.join(filter(None, [sys.prefix, env.get(variable)]))
    source = tmp_path / "src" / "vilasr_ros"
    shutil.copytree(
        REPO_ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "install", "log", "demo_out", "__pycache__")
    )
    (source / "test" / "packaging" / "test_planted.py").write_text(PLANTED)

    def colcon_run(*arguments: str, timeout: int) -> subprocess.CompletedProcess:
        return subprocess.run(
            [colcon, *arguments], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
        )

    build = colcon_run(
        "build",
        "--base-paths",
        "src",
        "--cmake-args",
        "-DBUILD_TESTING=ON",
        f"-DPython3_EXECUTABLE={sys.executable}",
        f"-DVILASR_PYTEST_ARGS=-k '{SELECTION}'",
        timeout=900,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    test = colcon_run("test", "--base-paths", "src", "--event-handlers", "console_direct+", timeout=900)
    # colcon test itself succeeds when the tests ran (failures are reported, not raised).
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]

    results = tmp_path / "build" / "vilasr_ros" / "test_results" / "vilasr_ros"
    pytest_cases = xunit_outcomes(results / "pytest.xunit.xml")
    outcomes = dict(pytest_cases)
    assert len(outcomes) == len(pytest_cases)
    assert outcomes.pop("test_planted_failure_reaches_colcon_test_result") == "failed"
    assert outcomes and set(outcomes.values()) == {"passed"}, outcomes
    assert "test_planted_generated_interfaces_import_from_the_install" in outcomes
    assert "test_every_package_import_is_a_declared_run_dependency" in outcomes
    assert "test_license_file_is_the_full_apache_2_text_named_everywhere" in outcomes

    # ruff ran and wrote its own result (pass or fail depends on the code's lint state).
    assert ET.parse(results / "ruff.xunit.xml").getroot().get("name") == "ruff"
    ruff_cases = xunit_outcomes(results / "ruff.xunit.xml")

    report = colcon_run("test-result", "--test-result-base", "build/vilasr_ros", "--verbose", timeout=60)
    assert report.returncode != 0, "a failed test must make colcon test-result fail"
    assert "test_planted_failure_reaches_colcon_test_result" in report.stdout
    listing = colcon_run("test-result", "--test-result-base", "build/vilasr_ros", "--all", timeout=60).stdout
    for name, cases in (("pytest", pytest_cases), ("ruff", ruff_cases)):
        line = f"build/vilasr_ros/test_results/vilasr_ros/{name}.xunit.xml: {summary(cases)}"
        assert line in listing.splitlines(), listing[-3000:]
    # ...and CTest's own record: two tests (pytest, ruff), pytest failed.
    ctest = [line for line in listing.splitlines() if "/Testing/" in line and ".xml: " in line]
    assert len(ctest) == 1 and ctest[0].split(": ", 1)[1].startswith("2 tests, 0 errors, "), listing[-3000:]


def summary(cases: list[tuple[str, str]]) -> str:
    """colcon test-result's count line for these testcases."""

    def plural(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    failures = sum(outcome == "failed" for _, outcome in cases)
    skipped = sum(outcome == "skipped" for _, outcome in cases)
    return f"{plural(len(cases), 'test')}, 0 errors, {plural(failures, 'failure')}, {skipped} skipped"
