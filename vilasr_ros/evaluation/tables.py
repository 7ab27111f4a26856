"""Per-family results tables (JSON and markdown) from per-item records.

A record is a mapping with at least ``family``, ``problem_type`` and ``score``
(0..1); any other numeric field (turns, drawings, tokens, seconds, ...) is
averaged per family, ``stop_reason`` (a string) is counted, and booleans are
averaged as rates. The family score is the mean item score, and VSI-Bench's
difficulty variants (``_easy``, ``_medium``, ``_hard``) merge into their base
family. The overall row holds both means, ``family_score`` (the mean of the
family scores: the authors' VSI-Bench and SPAR-Bench tables, ``cal_metric_vsibench``
/ ``cal_metric_sparbench``) and ``item_score`` (the mean over items: the "avg
score" their ``eval/evaluate.py`` prints, the paper's number for Maze,
SpatialEval-Real and MMSI-Bench); its ``score`` is the one the table is read
by (``score_rule``), see :func:`overall_rule`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from vilasr_ros.evaluation import authors, scoring

_DIFFICULTY = re.compile(r"_(easy|medium|hard).*$", re.DOTALL)
RESERVED = ("family", "problem_type", "score", "stop_reason", "id", "estimated_value")  # not averaged
PERCENT = ("score", "accuracy", "mra", "exact", "mean_estimated_score", "mean_format_valid")
FAMILY_MEAN = "family mean"
ITEM_MEAN = "item mean"
# The authors' benchmarks whose published number is evaluate.py's mean over items (they have no per-type table).
ITEM_MEAN_SOURCES = (authors.MAZE, authors.SPATIALEVAL_REAL, authors.MMSI_BENCH)


def overall_rule(sources: Iterable[str]) -> str:
    """How the overall score of items from ``sources`` (their ``EvalItem.source``) is read, as the paper
    does: the item mean for Maze, SpatialEval-Real and MMSI-Bench, else the family mean (VSI-Bench,
    SPAR-Bench and SPAR-Bench-tiny, generated benchmarks, and mixtures)."""
    found = set(sources)
    return ITEM_MEAN if found and found <= set(ITEM_MEAN_SOURCES) else FAMILY_MEAN


def base_family(name: str) -> str:
    """``route_planning_hard`` -> ``route_planning`` (the authors' merge of difficulty levels)."""
    return _DIFFICULTY.sub("", name)


def aggregate(
    records: Iterable[Mapping[str, Any]], merge_difficulty: bool = True, rule: str = FAMILY_MEAN
) -> dict[str, Any]:
    """The table: ``{"families": {name: row}, "overall": row}``.

    A row holds ``count``, ``score`` (mean), ``accuracy`` (mean over multiple-choice
    items, or None), ``mra`` (mean over regression items, or None), ``exact``
    (mean over numerical items, or None), ``stop_reasons`` (counts) and the mean
    of every other numeric field (``mean_<field>``). The overall row adds
    ``family_score`` (the mean of the family scores), ``item_score`` (the mean
    over items) and ``score_rule`` (``rule``: which of the two its ``score`` is).
    """
    if rule not in (FAMILY_MEAN, ITEM_MEAN):
        raise ValueError(f"rule must be {FAMILY_MEAN!r} or {ITEM_MEAN!r}, got {rule!r}")
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
    overall["family_score"] = _mean([row["score"] for row in families.values()])
    overall["score"] = overall["item_score"] if rule == ITEM_MEAN else overall["family_score"]
    overall["score_rule"] = rule
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
    overall = table["overall"]
    if overall.get("family_score") is not None and overall.get("item_score") is not None:
        means = {
            FAMILY_MEAN: f"{FAMILY_MEAN} {_cell('score', overall['family_score'])} ({len(table['families'])} families)",
            ITEM_MEAN: f"{ITEM_MEAN} {_cell('score', overall['item_score'])} ({overall['count']} items)",
        }
        rule = overall.get("score_rule", FAMILY_MEAN)
        other = ITEM_MEAN if rule == FAMILY_MEAN else FAMILY_MEAN
        lines += ["", f"overall score = {means[rule]}; {means[other]}"]
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
