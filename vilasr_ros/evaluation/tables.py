"""Per-family results tables (JSON and markdown) from per-item records.

A record is a mapping with at least ``family``, ``problem_type`` and ``score``
(0..1); any other numeric field (turns, drawings, tokens, seconds, ...) is
averaged per family, ``stop_reason`` (a string) is counted, and booleans are
averaged as rates. The family score is the mean item score; like the authors'
tables (``cal_metric_vsibench`` / ``cal_metric_sparbench``), the overall score
is the mean of the family scores, and VSI-Bench's difficulty variants
(``_easy``, ``_medium``, ``_hard``) merge into their base family.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vilasr_ros.evaluation import scoring

_DIFFICULTY = re.compile(r"_(easy|medium|hard).*$", re.DOTALL)
RESERVED = ("family", "problem_type", "score", "stop_reason", "id", "estimated_value")  # not averaged
PERCENT = ("score", "accuracy", "mra", "exact", "mean_estimated_score", "mean_format_valid")


def base_family(name: str) -> str:
    """``route_planning_hard`` -> ``route_planning`` (the authors' merge of difficulty levels)."""
    return _DIFFICULTY.sub("", name)


def aggregate(records: Iterable[Mapping[str, Any]], merge_difficulty: bool = True) -> dict[str, Any]:
    """The table: ``{"families": {name: row}, "overall": row}``.

    A row holds ``count``, ``score`` (mean), ``accuracy`` (mean over multiple-choice
    items, or None), ``mra`` (mean over regression items, or None), ``exact``
    (mean over numerical items, or None), ``stop_reasons`` (counts) and the mean
    of every other numeric field (``mean_<field>``). The overall row's
    ``score`` is the mean of the family scores, ``item_score`` the mean over items.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    everything: list[Mapping[str, Any]] = []
    for record in records:
        for key in ("family", "problem_type", "score"):
            if key not in record:
                raise ValueError(f"a result record needs {key!r}: {dict(record)}")
        family = str(record["family"])
        groups.setdefault(base_family(family) if merge_difficulty else family, []).append(record)
        everything.append(record)
    families = {name: _row(rows) for name, rows in sorted(groups.items())}
    overall = _row(everything)
    overall["item_score"] = overall["score"]
    overall["score"] = _mean([row["score"] for row in families.values()])
    return {"families": families, "overall": overall}


def _row(records: list[Mapping[str, Any]]) -> dict[str, Any]:
    by_type = {
        "accuracy": scoring.MULTIPLE_CHOICE,
        "mra": scoring.REGRESSION,
        "exact": scoring.NUMERICAL,
    }
    row: dict[str, Any] = {"count": len(records), "score": _mean([float(r["score"]) for r in records])}
    for column, problem_type in by_type.items():
        row[column] = _mean([float(r["score"]) for r in records if str(r["problem_type"]).lower() == problem_type])
    stops: dict[str, int] = {}
    for record in records:
        if isinstance(record.get("stop_reason"), str):
            stops[record["stop_reason"]] = stops.get(record["stop_reason"], 0) + 1
    row["stop_reasons"] = dict(sorted(stops.items()))
    fields = sorted({key for r in records for key, value in r.items() if key not in RESERVED and _is_number(value)})
    for key in fields:
        row[f"mean_{key}"] = _mean([float(r[key]) for r in records if _is_number(r.get(key))])
    return row


def to_markdown(table: Mapping[str, Any], columns: Iterable[str] | None = None) -> str:
    """The table as GitHub markdown: one line per family and the overall line; scores in percent."""
    rows = dict(table["families"])
    rows["**overall**"] = table["overall"]
    if columns is None:
        extra = sorted({key for row in rows.values() for key in row if key.startswith("mean_")})
        columns = ["count", "score", "accuracy", "mra", "exact", *extra, "stop_reasons"]
    columns = list(columns)
    lines = ["| family | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, row in rows.items():
        lines.append(f"| {name} | " + " | ".join(_cell(column, row.get(column)) for column in columns) + " |")
    return "\n".join(lines) + "\n"


def side_by_side(runs: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown: one line per family (and overall), per run its score in percent, and next to it the
    score of its 3D estimates where it has them (``mean_estimated_score``)."""
    families = sorted({family for table in runs.values() for family in table["families"]})
    columns: list[tuple[str, str, str]] = []  # (title, run, row key)
    for name, table in runs.items():
        columns.append((name, name, "score"))
        if any("mean_estimated_score" in row for row in table["families"].values()):
            columns.append((f"{name}: 3D estimates", name, "mean_estimated_score"))
    lines = ["| family | " + " | ".join(title for title, _, _ in columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for family in [*families, None]:
        cells = []
        for _, name, key in columns:
            row = runs[name]["overall"] if family is None else runs[name]["families"].get(family, {})
            cells.append(_cell("score", row.get(key)))
        lines.append(f"| {family or '**overall**'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{key} {count}" for key, count in value.items()) or "-"
    if column in PERCENT:
        return f"{100 * value:.1f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and (isinstance(value, bool) or math.isfinite(value))
