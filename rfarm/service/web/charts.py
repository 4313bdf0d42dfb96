"""Charts drawn on the server as inline SVG (no JavaScript library): lines over time and horizontal bars.

Each chart is a ``<figure>`` whose SVG has a title and whose numbers are also in
a table beside it, so a screen reader gets the data and not a picture.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T, PAD_R = 640, 200, 76, 24, 10, 10
#: series colours, each with 3:1 contrast on white
COLOURS = ("#0b57b0", "#b35c00", "#6b3fa0", "#1b7a3a")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.2g}"


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> Markup:
    """Lines of ``series`` over ``labels`` (one value per label), with a y axis from 0 to the largest value."""
    top = max([v for s in series for v in s.values] + [0]) or 1
    n = max(1, len(labels) - 1)
    x = lambda i: PAD_L + (WIDTH - PAD_L - PAD_R) * i / n  # noqa: E731
    y = lambda v: PAD_T + (HEIGHT - PAD_T - PAD_B) * (1 - v / top)  # noqa: E731
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" class="chart">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{PAD_L}" y1="{y(0):.1f}" x2="{WIDTH - PAD_R}" y2="{y(0):.1f}" class="axis"/>',
             f'<line x1="{PAD_L}" y1="{y(top):.1f}" x2="{WIDTH - PAD_R}" y2="{y(top):.1f}" class="grid"/>',
             f'<text x="{PAD_L - 6}" y="{y(top) + 4:.1f}" text-anchor="end">{escape(_number(top))}{escape(unit)}</text>',
             f'<text x="{PAD_L - 6}" y="{y(0) + 4:.1f}" text-anchor="end">0</text>']
    if labels:
        parts.append(f'<text x="{PAD_L}" y="{HEIGHT - 6}">{escape(labels[0])}</text>')
        parts.append(f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 6}" text-anchor="end">{escape(labels[-1])}</text>')
    for k, s in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{COLOURS[k % len(COLOURS)]}" stroke-width="2"'
                     f' data-series="{escape(s.name)}"/>')
    parts.append("</svg>")
    legend = "".join(f'<li><svg class="swatch" viewBox="0 0 12 12" aria-hidden="true"><rect width="12" height="12" '
                     f'fill="{COLOURS[k % len(COLOURS)]}"/></svg>{escape(s.name)}</li>'
                     for k, s in enumerate(series)) if len(series) > 1 else ""
    return Markup("".join(parts) + (f'<ul class="legend">{legend}</ul>' if legend else ""))


def bar_chart(title: str, bars: Sequence[tuple[str, float]], unit: str = "") -> Markup:
    """One horizontal bar per ``(label, value)``."""
    if not bars:
        return Markup('<p class="empty">Nothing to show yet.</p>')
    top = max(v for _, v in bars) or 1
    row, label_w = 26, 140
    height = row * len(bars) + 4
    parts = [f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" class="chart">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(bars):
        width = (WIDTH - label_w - 80) * value / top
        parts.append(f'<text x="{label_w - 8}" y="{i * row + 18}" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{i * row + 4}" width="{width:.1f}" height="{row - 8}" fill="{COLOURS[0]}"'
                     f' data-bar="{escape(label)}"/>')
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{i * row + 18}">{escape(_number(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
