"""bench/results.png from the results dict: the most telling figures, drawn with OpenCV (no plotting dependency).

python bench/plot.py [bench/results.json]     # redraw the PNG from a results file
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np

WHITE = (255, 255, 255)
BLACK = (20, 20, 20)
GREY = (150, 150, 150)
LIGHT = (228, 228, 228)
GREEN = (70, 160, 60)  # BGR
RED = (60, 60, 200)
BLUE = (190, 120, 40)
ORANGE = (40, 140, 240)
PURPLE = (150, 70, 140)
FONT = cv2.FONT_HERSHEY_SIMPLEX
WIDTH, HEIGHT = 1800, 1060


def _text(image, text, org, scale=0.55, colour=BLACK, thickness=1, align="left") -> None:
    (width, height), _ = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = org
    if align == "center":
        x -= width // 2
    elif align == "right":
        x -= width
    cv2.putText(image, text, (int(x), int(y)), FONT, scale, colour, thickness, cv2.LINE_AA)


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-12) / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _tick(value: float, step: float) -> str:
    """A tick label: thousands separated, no needless decimals (0, 0.25, 0.5, ...)."""
    if step >= 1:
        return f"{value:,.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _fmt(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _panel(image, rect, title, subtitle="") -> tuple[int, int, int, int]:
    x, y, w, h = rect
    cv2.rectangle(image, (x, y), (x + w, y + h), LIGHT, 1)
    _text(image, title, (x + 14, y + 30), 0.72, BLACK, 2)
    if subtitle:
        _text(image, subtitle, (x + 14, y + 56), 0.5, GREY)
    return x + 80, y + 100, w - 110, h - 170  # plot area: left, top, width, height


def _y_axis(image, area, top_value, label) -> float:
    left, top, width, height = area
    step = _nice_step(top_value)
    top_value = step * math.ceil(top_value / step)
    value = 0.0
    while value <= top_value + 1e-9:
        y = top + height - int(height * value / top_value)
        cv2.line(image, (left, y), (left + width, y), LIGHT, 1)
        _text(image, _tick(value, step), (left - 8, y + 5), 0.45, GREY, align="right")
        value += step
    cv2.line(image, (left, top), (left, top + height), BLACK, 1)
    cv2.line(image, (left, top + height), (left + width, top + height), BLACK, 1)
    _text(image, label, (left - 8, top - 12), 0.48, GREY, align="right")
    return top_value


def bar_chart(image, rect, title, subtitle, groups, series, unit, annotations=()) -> None:
    """Grouped vertical bars: ``series`` is [(name, colour, values per group)]."""
    area = _panel(image, rect, title, subtitle)
    left, top, width, height = area
    top_value = _y_axis(image, area, 1.15 * max(max(values) for _, _, values in series), unit)
    slot = width / len(groups)
    bar = min(90, slot * 0.8 / len(series))
    for g, group in enumerate(groups):
        centre = left + slot * (g + 0.5)
        for s, (_, colour, values) in enumerate(series):
            x0 = int(centre - bar * len(series) / 2 + s * bar)
            y0 = top + height - int(height * values[g] / top_value)
            cv2.rectangle(image, (x0 + 3, y0), (int(x0 + bar - 3), top + height), colour, -1)
            _text(image, _fmt(values[g]), (x0 + bar / 2, y0 - 6), 0.48, BLACK, align="center")
        _text(image, group, (centre, top + height + 24), 0.52, BLACK, align="center")
    for value, label, colour in annotations:
        y = top + height - int(height * value / top_value)
        cv2.line(image, (left, y), (left + width, y), colour, 2, cv2.LINE_AA)
        _text(image, label, (left + width - 4, y - 6), 0.45, colour, align="right")
    _legend(image, [(name, colour) for name, colour, _ in series], (left, rect[1] + rect[3] - 22))


def _legend(image, items, origin) -> None:
    x, y = origin
    for name, colour in items:
        cv2.rectangle(image, (x, y - 12), (x + 16, y + 2), colour, -1)
        _text(image, name, (x + 22, y), 0.5, BLACK)
        x += 40 + cv2.getTextSize(name, FONT, 0.5, 1)[0][0]


def hbar_chart(image, rect, title, subtitle, rows, unit, note="") -> None:
    """Horizontal bars: ``rows`` is [(label, colour, value)]."""
    x, y, w, h = rect
    cv2.rectangle(image, (x, y), (x + w, y + h), LIGHT, 1)
    _text(image, title, (x + 14, y + 30), 0.72, BLACK, 2)
    if subtitle:
        _text(image, subtitle, (x + 14, y + 56), 0.5, GREY)
    label_width = max(cv2.getTextSize(label, FONT, 0.5, 1)[0][0] for label, _, _ in rows) + 24
    left, top = x + label_width, y + 100
    width = w - label_width - 80
    row_height = min(56, (h - 190) // len(rows))
    top_value = 1.15 * max(value for _, _, value in rows)
    step = _nice_step(top_value)
    top_value = step * math.ceil(top_value / step)
    bottom = top + row_height * len(rows)
    value = 0.0
    while value <= top_value + 1e-9:
        px = left + int(width * value / top_value)
        cv2.line(image, (px, top - 6), (px, bottom), LIGHT, 1)
        _text(image, _tick(value, step), (px, bottom + 20), 0.45, GREY, align="center")
        value += step
    _text(image, unit, (left + width, bottom + 42), 0.48, GREY, align="right")
    for index, (label, colour, value) in enumerate(rows):
        row_top = top + index * row_height
        px = left + int(width * value / top_value)
        cv2.rectangle(image, (left, row_top + 8), (max(left + 2, px), row_top + row_height - 8), colour, -1)
        _text(image, label, (left - 10, row_top + row_height // 2 + 5), 0.5, BLACK, align="right")
        _text(image, _fmt(value), (px + 6, row_top + row_height // 2 + 5), 0.5, BLACK)
    cv2.line(image, (left, top - 6), (left, bottom), BLACK, 1)
    if note:
        _text(image, note, (x + 14, y + h - 16), 0.55, BLACK, 2)


def histogram(image, rect, title, subtitle, samples_ms, lines) -> None:
    """Histogram of ``samples_ms`` with vertical marker ``lines`` [(value, label, colour)]."""
    area = _panel(image, rect, title, subtitle)
    left, top, width, height = area
    samples = np.asarray(samples_ms, dtype=float)
    high = max(samples.max(), max(value for value, _, _ in lines)) * 1.05
    step = _nice_step(high, 8)
    high = step * math.ceil(high / step)
    bins = 40
    counts, edges = np.histogram(samples, bins=bins, range=(0.0, high))
    count_top = _y_axis(image, area, max(1.0, 1.2 * counts.max()), "calls")
    for index, count in enumerate(counts):
        x0 = left + int(width * edges[index] / high)
        x1 = left + int(width * edges[index + 1] / high)
        y0 = top + height - int(height * count / count_top)
        if count:
            cv2.rectangle(image, (x0 + 1, y0), (x1 - 1, top + height), BLUE, -1)
    value = 0.0
    while value <= high + 1e-9:
        px = left + int(width * value / high)
        _text(image, _tick(value, step), (px, top + height + 22), 0.45, GREY, align="center")
        value += step
    _text(image, "round trip, ms", (left + width, top + height + 46), 0.48, GREY, align="right")
    for number, (value, label, colour) in enumerate(lines):
        px = left + int(width * value / high)
        cv2.line(image, (px, top), (px, top + height), colour, 2, cv2.LINE_AA)
        _text(image, label, (px + 6, top + 18 + 22 * number), 0.5, colour, 1)


def draw(results: dict, path: Path) -> None:
    """Write the figure for ``results`` (the dict of bench/results.json) to ``path``."""
    image = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    machine = results.get("machine", {})
    _text(
        image,
        f"vilasr_ros  make bench  -  commit {machine.get('commit', '?')}, {machine.get('cpu', '?')} "
        f"({machine.get('cpu_count', '?')} cores), no GPU, {machine.get('date_utc', '')} UTC",
        (20, 34),
        0.75,
        BLACK,
        2,
    )
    row1, row2, h = 60, 560, 480
    third = (WIDTH - 40) // 3

    bar_chart(
        image,
        (20, row1, third - 10, h),
        "Work per 10-turn query",
        "tiny Qwen2.5-VL, teacher-forced transcript, 2 keyframes",
        ["prefill tokens", "vision patches"],
        [
            (
                "incremental (ours)",
                GREEN,
                [results["incremental_prefill_tokens"], results["incremental_vision_patches"]],
            ),
            ("re-prefill every turn", RED, [results["reprefill_prefill_tokens"], results["reprefill_vision_patches"]]),
        ],
        "count",
    )
    bar_chart(
        image,
        (20 + third, row1, third - 10, h),
        f"Time per query: {results['incremental_speedup_vs_reprefill']:.1f}x faster",
        "same transcript and tiny model, CPU",
        ["seconds per 10-turn query"],
        [
            ("incremental (ours)", GREEN, [results["incremental_s_per_query"]]),
            ("re-prefill every turn", RED, [results["reprefill_s_per_query"]]),
        ],
        "s",
    )
    share = results["ingest_core_share_4_cameras_30hz"]
    hbar_chart(
        image,
        (20 + 2 * third, row1, third - 10, h),
        "Ingestion per 1280x720 RGB-D frame",
        "moving camera, 16UC1 depth, odometry; medians",
        [
            ("rclpy deserialize, 1 core", PURPLE, results["ingest_deserialize_ms_per_720p_frame"]),
            ("store.offer, scored", GREY, results["ingest_offer_ms_per_720p_frame"]),
            ("callback path, scored", BLUE, results["ingest_ms_per_720p_frame"]),
            ("callback path, scored, 1 core", ORANGE, results["ingest_ms_per_720p_frame_one_core"]),
            ("callback path, shipped config", GREEN, results["ingest_ms_per_720p_frame_default_config"]),
        ],
        "ms per frame",
        note=f"four 30 Hz cameras: {100 * share:.0f}% of one core",
    )
    bar_chart(
        image,
        (20, row2, third - 10, h),
        "~/query, 16 keyframes, medians",
        "replay backend (no model), 2 turns; in-process = no ROS",
        ["in-process", "node-side", "round trip", "new client"],
        [
            (
                "median ms",
                BLUE,
                [
                    results["service_pipeline_ms"],
                    results["service_node_latency_ms"],
                    results["service_overhead_ms"],
                    results["service_call_query_ms"],
                ],
            )
        ],
        "ms",
    )
    samples = results.get("details", {}).get("service", {}).get("concurrent", {}).get("round_trips_ms", [])
    if samples:
        histogram(
            image,
            (20 + third, row2, WIDTH - 40 - third, h),
            f"Round trip, 8 concurrent clients: {len(samples)} answered, "
            f"{results['busy_8_clients']} busy, {results['failed_8_clients']} failed",
            f"queries run one at a time: the spread is queueing; {results['queries_per_s_8_clients']:.1f} queries/s",
            samples,
            [
                (results["service_overhead_ms"], f"1 client, median {results['service_overhead_ms']:.0f} ms", GREEN),
                (results["latency_p50_ms_8_clients"], f"p50 {results['latency_p50_ms_8_clients']:.0f} ms", BLACK),
                (results["latency_p99_ms_8_clients"], f"p99 {results['latency_p99_ms_8_clients']:.0f} ms", RED),
            ],
        )
    cv2.imwrite(str(path), image)


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results.json"
    draw(json.loads(source.read_text()), source.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
