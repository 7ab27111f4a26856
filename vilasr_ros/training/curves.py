"""Training curves: one JSON line per step (``curves.jsonl``) and a PNG of them, drawn with OpenCV.

A line: ``{"stage": "sft"|"grpo", "step": n, "seconds": s, "loss": ..., ...}``; GRPO adds ``reward``,
``accuracy`` (mean outcome reward), ``format_valid`` and ``reflection`` (shares of the step's rollouts),
``kl``. The PNG has one panel per metric, steps on x.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

CURVES = "curves.jsonl"
PLOT = "curves.png"
METRICS = ("loss", "reward", "accuracy", "format_valid", "reflection", "kl")
PANEL_W, PANEL_H, MARGIN = 420, 260, 50
COLOURS = [(190, 120, 40), (60, 60, 200), (70, 160, 60), (40, 140, 240), (150, 70, 140), (90, 90, 90)]


class CurveLog:
    """Appends step records to ``<out>/curves.jsonl`` (kept across resumes) and prints a progress line."""

    def __init__(self, out: str | Path, stage: str, total: int, stream: TextIO | None = sys.stderr) -> None:
        self.path = Path(out) / CURVES
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.stage = stage
        self.total = total
        self.stream = stream
        self.started = time.monotonic()

    def log(self, step: int, **values: float) -> dict[str, Any]:
        record = {"stage": self.stage, "step": step, "seconds": round(time.monotonic() - self.started, 2)}
        record.update({key: round(float(value), 5) for key, value in values.items()})
        with self.path.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps(record) + "\n")
        if self.stream is not None:
            shown = "  ".join(f"{key} {value:.4g}" for key, value in values.items())
            done = int(30 * step / max(self.total, 1))
            bar = "#" * done + "." * (30 - done)
            self.stream.write(f"\r{self.stage} [{bar}] {step}/{self.total}  {shown}  {record['seconds']:.0f} s\n")
            self.stream.flush()
        return record


def read_curves(path: str | Path) -> list[dict[str, Any]]:
    """The records of a curves file (a torn last line is skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def plot_curves(records: list[dict[str, Any]], out: str | Path) -> Path:
    """A PNG with one panel per metric the records hold (per stage a colour); returns its path."""
    metrics = [name for name in METRICS if any(name in record for record in records)]
    if not metrics:
        raise ValueError("no metric to plot in the curves")
    stages = list(dict.fromkeys(record["stage"] for record in records))
    columns = min(3, len(metrics))
    rows = math.ceil(len(metrics) / columns)
    image = np.full((rows * PANEL_H, columns * PANEL_W, 3), 255, np.uint8)
    for number, name in enumerate(metrics):
        x0, y0 = (number % columns) * PANEL_W, (number // columns) * PANEL_H
        points = [(record["step"], record[name], record["stage"]) for record in records if name in record]
        _panel(image, x0, y0, name, points, stages)
    path = Path(out)
    cv2.imwrite(str(path), image)
    return path


def _panel(image: np.ndarray, x0: int, y0: int, name: str, points: list, stages: list[str]) -> None:
    left, top, right, bottom = x0 + MARGIN, y0 + 30, x0 + PANEL_W - 15, y0 + PANEL_H - 35
    cv2.rectangle(image, (left, top), (right, bottom), (200, 200, 200), 1)
    cv2.putText(image, name, (left, y0 + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1, cv2.LINE_AA)
    values = np.array([value for _, value, _ in points], dtype=float)
    steps = np.arange(len(points), dtype=float)  # stages one after another along x
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    for label, value in ((f"{high:.3g}", high), (f"{low:.3g}", low)):
        y = bottom - (value - low) / (high - low) * (bottom - top)
        cv2.putText(image, label, (x0 + 2, int(y) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (90, 90, 90), 1, cv2.LINE_AA)
    span = max(len(points) - 1, 1)
    xs = left + steps / span * (right - left)
    ys = bottom - (values - low) / (high - low) * (bottom - top)
    for stage_number, stage in enumerate(stages):
        chosen = [i for i, (_, _, s) in enumerate(points) if s == stage]
        if not chosen:
            continue
        colour = COLOURS[stage_number % len(COLOURS)]
        line = np.stack([xs[chosen], ys[chosen]], axis=1).astype(np.int32)
        cv2.polylines(image, [line], False, colour, 1, cv2.LINE_AA)
        cv2.putText(
            image,
            stage,
            (left + 5 + 60 * stage_number, bottom + 25),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            colour,
            1,
            cv2.LINE_AA,
        )
