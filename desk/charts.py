"""Server-rendered SVG bar charts: no script, no library, readable without colour."""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

BAR = 22  # pixels per bar, the label's line included
GAP = 6
LABEL_WIDTH = 190
WIDTH = 640
# The value is written beside every bar: the colour carries nothing a reader needs.
COLOUR = "#1f5f8b"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
) -> str:
    """Return an SVG document with one horizontal bar per (label, value), longest value full width."""
    biggest = max((value for _label, value in bars), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 70
    height = 34 + len(bars) * (BAR + GAP)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="inherit" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(bars):
        y = 28 + i * (BAR + GAP)
        length = max(0.0, value) / biggest * plot
        parts.append(
            f'<g class="bar"><text x="{LABEL_WIDTH - 8}" y="{y + BAR * 0.7:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" fill="{COLOUR}">'
            f"<title>{escape(label)}: {_number(value)}</title></rect>"
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR * 0.7:.1f}">{_number(value)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
