"""Shared test set-up: an isolated ROS 2 graph per test session."""

from __future__ import annotations

import ast
import itertools
import os
import random
import re
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression

# A private DDS domain on the loopback interface, so concurrent test runs on one
# machine never see each other's nodes. Set before any rclpy.init().
os.environ["ROS_DOMAIN_ID"] = str(random.Random(os.getpid()).randint(1, 100))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random Qwen2.5-VL (model, tokenizer, processor) saved like ViLaSR-7B, built once per session."""
    from vilasr_ros.sim.tiny_model import build_tiny_qwen

    return build_tiny_qwen(tmp_path_factory.mktemp("tiny_qwen"))


def pytest_ignore_collect(collection_path, config):
    """Do not import a test module that ``-m`` deselects whole, so `make test-unit` does not pay for
    importing torch and transformers just to deselect the model tests.

    A module is left out when the expression is false for its module-level marks (``pytestmark``)
    together with any combination of the project's markers used anywhere else in it.
    """
    expression = config.getoption("markexpr")
    if not expression or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    module_marks, other_marks = _marks_in(collection_path, set(_project_markers(config)))
    if not module_marks:
        return None
    compiled = Expression.compile(expression)
    others = sorted(other_marks - module_marks)
    for chosen in itertools.product((False, True), repeat=len(others)):
        marks = module_marks | {name for name, on in zip(others, chosen) if on}
        if compiled.evaluate(lambda name, _marks=marks, **_: name in _marks):
            return None
    return True


def _project_markers(config) -> list[str]:
    return [line.split(":")[0].strip() for line in config.getini("markers")]


def _marks_in(path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(project marks of the module's ``pytestmark``, project marks used anywhere in the file)."""
    text = path.read_text(encoding="utf-8")
    if "pytestmark" not in text:  # most modules: nothing to parse
        return set(), set()
    module: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            module = {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute) and n.attr in known}
    # Any ``.name`` of a project marker counts as used (comments too: that only keeps a module in).
    used = set(re.findall(r"\.(\w+)", text)) & known
    return module, used
