"""Render config/vilasr.yaml and the README's parameter table from the parameter schema.

    python tools/render_parameters.py          # check: exit 1 when either file is out of date
    python tools/render_parameters.py --write  # rewrite both

The schema (vilasr_ros/config/schema.py) is the single source: names, types, defaults
and descriptions. test/packaging/test_package_files.py runs the check.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vilasr_ros.config import (  # noqa: E402
    NodeConfig,
    camera_parameter_defaults,
    camera_parameter_descriptions,
    parameter_defaults,
    parameter_descriptions,
)

EXAMPLE_CAMERA = "camera"
TABLE_BEGIN = "<!-- parameters:begin (tools/render_parameters.py) -->"
TABLE_END = "<!-- parameters:end -->"
YAML_HEADER = """\
# vilasr_ros parameters, with their defaults (generated from vilasr_ros/config/schema.py
# by tools/render_parameters.py; a test checks it is up to date).
# Pass to the node with the launch argument params_file:=... or
# `vilasr-ros node --params-file config/vilasr.yaml`.
# Per-camera parameters: one cameras.<name> block for each name in cameras.names.
/**:
  ros__parameters:
"""


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return repr(value)


def _type_name(value: Any) -> str:
    return (
        "string[]"
        if isinstance(value, tuple)
        else {"str": "string", "bool": "bool"}.get(type(value).__name__, type(value).__name__)
    )


def all_parameters() -> list[tuple[str, Any, str]]:
    """(name, default, description) of every parameter, the example camera's included, in schema order."""
    defaults, docs = parameter_defaults(), parameter_descriptions()
    rows = [(name, value, docs[name]) for name, value in defaults.items()]
    camera_docs = camera_parameter_descriptions(EXAMPLE_CAMERA)
    rows += [(name, value, camera_docs[name]) for name, value in camera_parameter_defaults(EXAMPLE_CAMERA).items()]
    return rows


def render_yaml() -> str:
    groups = {item.name: item for item in dataclasses.fields(NodeConfig)}
    lines = [YAML_HEADER.rstrip("\n")]
    opened: list[str] = []
    for name, value, doc in all_parameters():
        *path, leaf = name.split(".")
        common = 0
        while common < min(len(path), len(opened)) and path[common] == opened[common]:
            common += 1
        opened = opened[:common]
        for depth in range(common, len(path)):
            section = path[depth]
            note = ""
            if depth == 0 and section in groups and groups[section].default_factory is not dataclasses.MISSING:
                note = f"  # {groups[section].default_factory.__doc__.strip()}"
            elif depth == 1 and path[0] == "cameras":
                note = f"  # camera {section!r} (listed in cameras.names)"
            lines.append(f"{'  ' * (depth + 2)}{section}:{note}")
            opened.append(section)
        indent = "  " * (len(path) + 2)
        lines += [f"{indent}# {line}" for line in textwrap.wrap(doc, 88 - len(indent))]
        lines.append(f"{indent}{leaf}: {_yaml_value(value)}")
    return "\n".join(lines) + "\n"


def render_table() -> str:
    rows = ["| parameter | type | default | description |", "|---|---|---|---|"]
    for name, value, doc in all_parameters():
        shown = name.replace(f"cameras.{EXAMPLE_CAMERA}.", "cameras.<name>.")
        rows.append(f"| `{shown}` | {_type_name(value)} | `{_yaml_value(value)}` | {doc} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    begin, end = readme.index(TABLE_BEGIN), readme.index(TABLE_END)
    return readme[: begin + len(TABLE_BEGIN)] + "\n" + render_table() + "\n" + readme[end:]


def main() -> int:
    yaml_path, readme_path = REPO / "config" / "vilasr.yaml", REPO / "README.md"
    wanted = {yaml_path: render_yaml(), readme_path: readme_with_table(readme_path.read_text())}
    stale = [path for path, text in wanted.items() if path.read_text() != text]
    if "--write" in sys.argv:
        for path in stale:
            path.write_text(wanted[path])
            print(f"wrote {path.relative_to(REPO)}")
        return 0
    for path in stale:
        print(f"{path.relative_to(REPO)} is out of date: run python tools/render_parameters.py --write")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
