"""Geometry of server-drawn SVG charts (templates/_charts.html draws them). Pure: no Flask.

Every chart comes with its numbers: templates show them in a table as well, so the chart
is decoration for sighted readers and the table is the accessible version.
"""

from dataclasses import dataclass

WIDTH = 600
BAR_HEIGHT = 22
GAP = 10


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float
    label_y: int
    highlight: bool = False


@dataclass(frozen=True)
class BarChart:
    bars: list
    height: int
    width: int = WIDTH


def bar_chart(rows, width=WIDTH):
    """rows: (label, value) or (label, value, highlight). Labels sit above their bars so long
    Kazakh and Russian labels never clip; widths scale to the largest value."""
    rows = [tuple(r) + (False,) * (3 - len(r)) for r in rows]
    top = max((r[1] for r in rows), default=0) or 1
    bars, y = [], 0
    for label, value, highlight in rows:
        bars.append(
            Bar(label, value, y + 20, round(value / top * (width - 70), 1), y + 14, highlight)
        )
        y += 20 + BAR_HEIGHT + GAP
    return BarChart(bars, max(y, 1), width)


@dataclass(frozen=True)
class Column:
    label: str
    value: int
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class ColumnChart:
    columns: list
    column_width: float
    height: int
    plot_height: int
    top: int
    width: int = WIDTH


def column_chart(points, width=WIDTH, plot_height=160):
    """points: (label, value) in order (e.g. ballots per day). Labels go under the first,
    the last and every few columns so they never overlap."""
    points = list(points)
    top = max((v for _label, v in points), default=0) or 1
    step = (width - 20) / max(len(points), 1)
    column_width = max(step * 0.8, 1)
    columns = []
    for index, (label, value) in enumerate(points):
        height = round(value / top * plot_height, 1)
        columns.append(
            Column(label, value, round(10 + index * step, 1), plot_height - height + 10, height)
        )
    return ColumnChart(columns, round(column_width, 1), plot_height + 40, plot_height, top, width)


def label_every(count, room=8):
    """Show every n-th label so at most `room` labels share the axis."""
    return max(1, -(-count // room))
