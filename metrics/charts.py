"""Charts drawn on the server as SVG: the geometry is computed here, a template draws it.

No JavaScript chart library and nothing from a CDN (units run air-gapped; the CSP
forbids inline script and style). Colours are SVG presentation attributes, not
``style=``. Every chart carries a title and a description for screen readers and
is followed by its data as a table (docs/decisions/0013).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36

# Colour-blind-safe (Okabe-Ito), each at least 3:1 against white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float


@dataclass(frozen=True)
class Line:
    label: str
    colour: str
    # SVG path data; a None value breaks the line ("M" again after the gap).
    path: str
    points: list[Point]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    value: float


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    """What the template needs to draw one chart and its data table."""

    id: str
    title: str
    description: str
    x_labels: list[str]
    series: list[Series]
    percent: bool
    width: int = WIDTH
    height: int = HEIGHT
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def plot_left(self) -> int:
        return LEFT

    @property
    def plot_right(self) -> int:
        return self.width - RIGHT

    @property
    def plot_top(self) -> int:
        return TOP

    @property
    def plot_bottom(self) -> int:
        return self.height - BOTTOM

    @property
    def table_rows(self) -> list[tuple[str, list[float | None]]]:
        """One row per x label with every series' value (the accessible alternative)."""
        return [
            (label, [s.values[i] for s in self.series]) for i, label in enumerate(self.x_labels)
        ]


def _format(value: float, *, percent: bool) -> str:
    return f"{value * 100:.0f} %" if percent else f"{value:g}"


def _nice_max(value: float) -> float:
    """A top for a count axis that splits into four whole-number steps."""
    for top in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000, 2000, 4000):
        if value <= top:
            return float(top)
    return float(4 * 10 ** len(str(int(value / 4))))


def _frame(chart: Chart, y_max: float) -> None:
    span = chart.plot_bottom - chart.plot_top
    chart.y_ticks = [
        Tick(
            position=round(chart.plot_bottom - span * i / 4, 1),
            label=_format(y_max * i / 4, percent=chart.percent),
        )
        for i in range(5)
    ]
    chart.legend = [(PALETTE[i % len(PALETTE)], s.label) for i, s in enumerate(chart.series)]


def _x_positions(chart: Chart) -> list[float]:
    count = len(chart.x_labels)
    width = chart.plot_right - chart.plot_left
    step = width / count if count else width
    return [round(chart.plot_left + step * (i + 0.5), 1) for i in range(count)]


def _x_ticks(chart: Chart, xs: list[float]) -> list[Tick]:
    # At most ~12 labels under the axis; the data table has every one.
    # ISO weeks are labelled "W47" under the axis; the table gives the year too.
    every = max(1, -(-len(xs) // 12))
    return [
        Tick(x, chart.x_labels[i].rpartition("-")[2]) for i, x in enumerate(xs) if i % every == 0
    ]


def _framed_chart(
    *,
    id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    percent: bool,
) -> tuple[Chart, list[float], float]:
    """A chart with its axes drawn (0-100 % or 0 to a round maximum), x positions, y maximum."""
    chart = Chart(
        id=id,
        title=title,
        description=description,
        x_labels=list(x_labels),
        series=list(series),
        percent=percent,
    )
    values = [v for s in series for v in s.values if v is not None]
    y_max = 1.0 if percent else _nice_max(max(values, default=0))
    _frame(chart, y_max)
    xs = _x_positions(chart)
    chart.x_ticks = _x_ticks(chart, xs)
    return chart, xs, y_max


def line_chart(
    *,
    id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    percent: bool = True,
) -> Chart:
    """Lines over categories (ISO weeks). Percent charts run 0-100 %; gaps stay gaps."""
    chart, xs, y_max = _framed_chart(
        id=id,
        title=title,
        description=description,
        x_labels=x_labels,
        series=series,
        percent=percent,
    )
    span = chart.plot_bottom - chart.plot_top
    for index, one in enumerate(series):
        commands: list[str] = []
        points: list[Point] = []
        pen_down = False
        for x, value in zip(xs, one.values, strict=True):
            if value is None:
                pen_down = False
                continue
            y = round(chart.plot_bottom - span * min(value, y_max) / y_max, 1)
            commands.append(f"{'L' if pen_down else 'M'}{x} {y}")
            points.append(Point(x, y, value))
            pen_down = True
        chart.lines.append(
            Line(one.label, PALETTE[index % len(PALETTE)], " ".join(commands), points)
        )
    return chart


def bar_chart(
    *,
    id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    percent: bool = False,
) -> Chart:
    """Grouped bars (one group per x label, one bar per series); None draws no bar."""
    chart, xs, y_max = _framed_chart(
        id=id,
        title=title,
        description=description,
        x_labels=x_labels,
        series=series,
        percent=percent,
    )
    count = len(chart.x_labels) or 1
    group_width = (chart.plot_right - chart.plot_left) / count * 0.8
    bar_width = group_width / max(len(series), 1)
    span = chart.plot_bottom - chart.plot_top
    for index, one in enumerate(series):
        for x, label, value in zip(xs, chart.x_labels, one.values, strict=True):
            if value is None:
                continue
            height = round(span * min(value, y_max) / y_max, 1)
            chart.bars.append(
                Bar(
                    x=round(x - group_width / 2 + bar_width * index, 1),
                    y=round(chart.plot_bottom - height, 1),
                    width=round(max(bar_width - 1, 1), 1),
                    height=height,
                    colour=PALETTE[index % len(PALETTE)],
                    label=f"{one.label}, {label}: {_format(value, percent=percent)}",
                    value=value,
                )
            )
    return chart
