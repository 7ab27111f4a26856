"""What `colcon test` runs by default, read from CMakeLists.txt without building: the unit tests of
`make test-unit` without those needing PyPI, and the README says how to get the tests built."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_pytest_args() -> list[str]:
    """The default of the VILASR_PYTEST_ARGS cache variable, split as the shell that PYTEST_ADDOPTS reaches."""
    text = (REPO_ROOT / "CMakeLists.txt").read_text()
    match = re.search(r'set\(VILASR_PYTEST_ARGS\s+"([^"]*)"\s+CACHE STRING', text)
    assert match, "CMakeLists.txt sets VILASR_PYTEST_ARGS as a cache variable"
    return shlex.split(match.group(1))


def default_marker_expression() -> str:
    args = default_pytest_args()
    assert args[0] == "-m" and len(args) == 2, args
    return args[1]


def declared_markers() -> list[str]:
    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "pytest.ini")
    return [line.split(":")[0].strip() for line in config["pytest"]["markers"].strip().splitlines()]


def selects(expression: str, markers: set[str]) -> bool:
    """Whether a marker expression (names joined by and / or / not) selects a test carrying ``markers``."""
    names = {name: name in markers for name in declared_markers()}
    assert set(re.findall(r"\b(?!and\b|or\b|not\b)\w+", expression)) <= set(names), expression
    return eval(expression, {"__builtins__": {}}, names)  # only declared names and and/or/not, checked above


def test_the_default_is_make_test_unit_without_the_network_tests():
    unit = re.search(r"^UNIT := (.+)$", (REPO_ROOT / "Makefile").read_text(), re.M).group(1).strip()
    assert default_marker_expression() == f"{unit} and not network"


@pytest.mark.parametrize("marker", declared_markers())
def test_the_default_leaves_out_every_marked_kind_of_test(marker):
    """Every marker declares a kind of test that is slow or needs more than the build tree (nodes,
    servers, models, colcon, PyPI): none of them runs by default; an unmarked test does."""
    expression = default_marker_expression()
    assert not selects(expression, {marker})
    assert selects(expression, set())


def test_the_readme_builds_the_tests_before_colcon_test():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Inside a ROS 2 workspace", 1)[1].split("\n## ", 1)[0]
    assert "-DBUILD_TESTING=OFF" in (REPO_ROOT / "tools" / "setup.sh").read_text()  # make setup builds none
    lines = section.splitlines()
    build = next(i for i, line in enumerate(lines) if "colcon build" in line and "-DBUILD_TESTING=ON" in line)
    test = next(i for i, line in enumerate(lines) if line.startswith("colcon test "))
    assert build < test
    assert "VILASR_PYTEST_ARGS" in section
