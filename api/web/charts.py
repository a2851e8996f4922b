"""Small SVG charts drawn on the server: horizontal bars and a line over time.

Each returns markup with a <title> for screen readers; the pages show the same figures as text too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing to show (drawn as a dash)
    other: float | None = None  # an optional second value drawn as a thin bar below (e.g. "before")


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def bar_chart(bars: list[Bar], *, title: str, maximum: float = 1.0, digits: int = 2,
              legend: tuple[str, str] | None = None) -> Markup:
    """Horizontal bars, one row per item; values run from 0 to `maximum`."""
    label_width, bar_width, row, top = 150, 200, 30, 8 if legend is None else 26
    width, height = label_width + bar_width + 60, top + row * len(bars) + 4
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'preserveAspectRatio="xMinYMin meet"><title>{escape(title)}</title>']
    if legend is not None:
        parts.append(f'<rect x="{label_width}" y="4" width="12" height="10" class="bar"/>'
                     f'<text x="{label_width + 16}" y="13" class="legend">{escape(legend[0])}</text>'
                     f'<rect x="{label_width + 110}" y="7" width="12" height="4" class="bar-other"/>'
                     f'<text x="{label_width + 126}" y="13" class="legend">{escape(legend[1])}</text>')
    for position, bar in enumerate(bars):
        y = top + position * row
        parts.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" class="label">'
                     f'{escape(bar.label)}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{bar_width}" height="16" class="track"/>')
        if bar.value is None:
            parts.append(f'<text x="{label_width + 4}" y="{y + 15}" class="value">—</text>')
            continue
        length = bar_width * max(0.0, min(bar.value, maximum)) / maximum
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="16" class="bar"/>')
        if bar.other is not None:
            other = bar_width * max(0.0, min(bar.other, maximum)) / maximum
            parts.append(f'<rect x="{label_width}" y="{y + 20}" width="{other:.1f}" height="4" class="bar-other"/>')
        parts.append(f'<text x="{label_width + bar_width + 6}" y="{y + 15}" class="value">'
                     f'{_number(bar.value, digits)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: list[tuple[date, float]], *, title: str, guides: list[tuple[float, str]] = (),
               maximum: float = 100.0) -> Markup:
    """Values over time (one point per date, in order), with labelled horizontal guide lines."""
    width, height, left, right, top, bottom = 420, 200, 36, 70, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom

    def y_of(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(value, maximum)) / maximum)

    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
             f'<title>{escape(title)}</title>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="track"/>']
    for value in (0, maximum / 2, maximum):
        parts.append(f'<text x="{left - 4}" y="{y_of(value) + 4:.1f}" text-anchor="end" class="axis">'
                     f'{value:g}</text>')
    for value, label in guides:
        y = y_of(value)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="guide"/>'
                     f'<text x="{left + plot_w + 4}" y="{y + 4:.1f}" class="axis">{escape(label)}</text>')
    if points:
        first, last = points[0][0].toordinal(), points[-1][0].toordinal()
        span = max(last - first, 1)

        def x_of(day: date) -> float:
            return left + (plot_w * (day.toordinal() - first) / span if len(points) > 1 else plot_w / 2)

        path = " ".join(f"{x_of(d):.1f},{y_of(v):.1f}" for d, v in points)
        parts.append(f'<polyline points="{path}" class="line"/>')
        for day, value in points:
            parts.append(f'<circle cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="4" class="point">'
                         f'<title>{day.isoformat()}: {value:.1f}</title></circle>')
        parts.append(f'<text x="{left}" y="{height - 8}" class="axis">{points[0][0].isoformat()}</text>')
        if len(points) > 1:
            parts.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end" class="axis">'
                         f'{points[-1][0].isoformat()}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
