"""Geometry of the results bar chart, drawn as SVG on the server. Pure: no Flask."""

from dataclasses import dataclass

BAR_HEIGHT = 28
GAP = 10
LABEL_WIDTH = 0  # labels sit above the bars so long Kazakh titles never clip
WIDTH = 600


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    won: bool
    y: int
    width: float
    label_y: int


def bar_chart(rows, width=WIDTH):
    """rows: (label, value, won) -> (bars, total height). Widths scale to the largest value."""
    top = max((value for _label, value, _won in rows), default=0) or 1
    bars, y = [], 0
    for label, value, won in rows:
        label_y = y + 14
        bar_y = y + 20
        bars.append(Bar(label, value, won, bar_y, round(value / top * (width - 60), 1), label_y))
        y = bar_y + BAR_HEIGHT + GAP
    return bars, max(y, 1)
