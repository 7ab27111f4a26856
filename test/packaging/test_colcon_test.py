"""`colcon test` runs the package's tests and ruff, and `colcon test-result` reports them.

The session's workspace (conftest.py: built with BUILD_TESTING on against the
wheel-based ROS 2 of the venv, two tests planted in its copy, one failing, one
importing the generated interfaces) runs `colcon test` on a small selection (the
package's static checks plus those): the
real tests pass, the interfaces import from the install, the planted failure fails
and reaches `colcon test-result`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging


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


def test_colcon_test_runs_the_tests_and_reports_failures(colcon_workspace):
    tmp_path, colcon_run = colcon_workspace.root, colcon_workspace.colcon_run
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
