"""Server-rendered SVG charts: no script, no CDN, nothing the CSP must allow.

Each chart is plain data (bars with positions already computed) that the
template macros in templates/dashboard/_charts.html draw; every chart is shown
beside a data table with the same numbers, for screen readers and copying.
"""

from __future__ import annotations

from dataclasses import dataclass

# Colours distinguishable with common colour-blindness and at least 3:1
# against white (WCAG 1.4.11).
PALETTE = ("#0072B2", "#B35C00", "#00795C", "#A6427F", "#6A3D9A", "#8A6D00", "#5A5A5A")


@dataclass(frozen=True)
class Segment:
    label: str
    value: float
    colour: str
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    width: float
    total: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StackedColumns:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    columns: tuple[Column, ...]
    legend: tuple[tuple[str, str], ...]
    ticks: tuple[tuple[float, int], ...]
    empty: bool


def nice_max(value: float) -> int:
    """A round axis maximum at or above the value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def stacked_columns(
    labels: list[str], series: list[tuple[str, list[float]]], width: int = 640, height: int = 260
) -> StackedColumns:
    top, bottom, left, right = 12, height - 40, 36, 8
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    top_value = nice_max(max(totals, default=0))
    plot_height = bottom - top
    slot = (width - left - right) / max(len(labels), 1)
    columns = []
    for i, label in enumerate(labels):
        y = float(bottom)
        segments = []
        for n, (name, values) in enumerate(series):
            value = values[i]
            if value:
                h = plot_height * value / top_value
                y -= h
                segments.append(Segment(name, value, PALETTE[n % len(PALETTE)], y, h))
        columns.append(
            Column(label, left + i * slot + slot * 0.15, slot * 0.7, totals[i], tuple(segments))
        )
    # Whole-number ticks: at most five, evenly spaced.
    step = top_value // 5 if top_value >= 10 and top_value % 5 == 0 else 1
    ticks = tuple((bottom - plot_height * v / top_value, v) for v in range(0, top_value + 1, step))
    legend = tuple((name, PALETTE[n % len(PALETTE)]) for n, (name, _) in enumerate(series))
    return StackedColumns(
        width, height, top, bottom, tuple(columns), legend, ticks, empty=not any(totals)
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    y: float
    width: float


@dataclass(frozen=True)
class HorizontalBars:
    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]
    colour: str
    empty: bool
    marker: float | None = None  # e.g. the cluster median, drawn as a line
    marker_label: str = ""


def format_hours(value: float | None) -> str:
    """A duration in hours as people read it: minutes, hours or days."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def count_bars(items: list[tuple[str, int]], colour: str = PALETTE[0]) -> HorizontalBars:
    """One bar per (label, count), labelled with the count."""
    return horizontal_bars([(label, float(n), str(n)) for label, n in items], colour=colour)


def horizontal_bars(
    items: list[tuple[str, float, str]],
    colour: str = PALETTE[0],
    width: int = 640,
    label_width: int = 200,
    marker: float | None = None,
    marker_label: str = "",
) -> HorizontalBars:
    row = 26
    top_value = max([v for _, v, _ in items] + ([marker] if marker else []) + [0])
    scale = (width - label_width - 70) / (top_value or 1)
    bars = tuple(
        Bar(label, value, text, 4 + i * row, max(value * scale, 0))
        for i, (label, value, text) in enumerate(items)
    )
    return HorizontalBars(
        width,
        8 + row * max(len(items), 1),
        label_width,
        bars,
        colour,
        empty=not items,
        marker=label_width + marker * scale if marker is not None else None,
        marker_label=marker_label,
    )
