"""Server-side SVG charts: bars with CI whiskers (small multiples), lines, rank bumps.

No chart library and no script: the CSP forbids inline code, and machines are offline.
Each function returns SafeString markup for ``{{ chart }}``; every label is escaped.
Styling uses SVG presentation attributes plus the ``.chart`` rules in app.css.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = (
    "#3b5bdb",
    "#e8590c",
    "#2b8a3e",
    "#ae3ec9",
    "#f59f00",
    "#1098ad",
    "#c92a2a",
    "#5c940d",
    "#495057",
    "#d6336c",
)
FONT = 11


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


@dataclass
class Bar:
    series: str
    value: float | None
    lo: float | None = None
    hi: float | None = None
    note: str = ""


@dataclass
class Group:
    label: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Panel:
    title: str
    groups: list[Group] = field(default_factory=list)


def _legend(series: Sequence[str], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Legend items laid out in rows; returns (svg parts, height used)."""
    parts, cx, cy = [], x, y
    for i, name in enumerate(series):
        text_w = 7 * len(name) + 26
        if cx + text_w > x + width and cx > x:
            cx, cy = x, cy + 18
        parts.append(
            f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="12" height="12" rx="2" '
            f'fill="{colour(i)}"/><text x="{cx + 17:.1f}" y="{cy + 1:.1f}">{escape(name)}</text>'
        )
        cx += text_w
    return parts, (cy - y) + 22


def nice_ticks(lo: float, hi: float, target: int = 7, integer: bool = False) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 x 10^k) covering [lo, hi]; whole steps if asked."""
    span = max(hi - lo, 1e-9)
    raw = span / max(target - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1, round(step))
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def domain_for(values: Sequence[float | None], floor: float = 0.0, ceiling: float = 1.0):
    """A y-domain that includes [floor, ceiling] and every value, rounded to 0.2 steps."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    lo = min([floor, *present]) if present else floor
    hi = max([ceiling, *present]) if present else ceiling
    return math.floor(lo * 5) / 5, math.ceil(hi * 5) / 5


def bar_chart(
    panels: Sequence[Panel],
    *,
    series: Sequence[str],
    y_domain: tuple[float, float] = (0.0, 1.0),
    y_label: str = "",
    title: str = "",
    columns: int = 1,
    panel_width: int = 900,
    panel_height: int = 260,
) -> SafeString:
    """Grouped bars with optional CI whiskers, one panel per ``Panel`` (small multiples)."""
    y0, y1 = y_domain
    left, right, top, bottom = 48, 12, 26, 38
    legend_parts, legend_h = ([], 0.0)
    total_w = columns * panel_width
    if len(series) > 1:
        legend_parts, legend_h = _legend(series, left, 16, total_w - left - right)
    rows = math.ceil(len(panels) / columns) if panels else 1
    total_h = legend_h + rows * panel_height + 4
    index = {name: i for i, name in enumerate(series)}
    parts = [*legend_parts]
    for p_i, panel in enumerate(panels):
        ox = (p_i % columns) * panel_width
        oy = legend_h + (p_i // columns) * panel_height
        plot_w = panel_width - left - right
        plot_h = panel_height - top - bottom

        def ypos(v: float, oy=oy, plot_h=plot_h) -> float:
            v = min(max(v, y0), y1)
            return oy + top + plot_h * (1 - (v - y0) / (y1 - y0))

        parts.append(
            f'<text x="{ox + left:.1f}" y="{oy + 16:.1f}" font-weight="600">'
            f"{escape(panel.title)}</text>"
        )
        for t in nice_ticks(y0, y1):
            ty = ypos(t)
            parts.append(
                f'<line class="grid-line" x1="{ox + left}" x2="{ox + left + plot_w}" '
                f'y1="{ty:.1f}" y2="{ty:.1f}"/>'
                f'<text x="{ox + left - 6}" y="{ty + 4:.1f}" text-anchor="end">{t:g}</text>'
            )
        base = ypos(max(y0, min(0.0, y1)))
        parts.append(
            f'<line class="axis" x1="{ox + left}" x2="{ox + left + plot_w}" '
            f'y1="{base:.1f}" y2="{base:.1f}"/>'
            f'<line class="axis" x1="{ox + left}" x2="{ox + left}" y1="{oy + top}" '
            f'y2="{oy + top + plot_h}"/>'
        )
        n_groups = max(1, len(panel.groups))
        group_w = plot_w / n_groups
        for g_i, group in enumerate(panel.groups):
            gx = ox + left + g_i * group_w
            n_bars = max(1, len(group.bars))
            bar_w = min(34.0, (group_w * 0.8) / n_bars)
            start = gx + (group_w - bar_w * n_bars) / 2
            for b_i, bar in enumerate(group.bars):
                bx = start + b_i * bar_w
                fill = colour(index.get(bar.series, b_i))
                label = (
                    f"{group.label} · {bar.series}: {_fmt(bar.value)}"
                    + (f" [{_fmt(bar.lo)}, {_fmt(bar.hi)}]" if bar.lo is not None else "")
                    + (f" ({bar.note})" if bar.note else "")
                )
                if bar.value is None:
                    parts.append(
                        f'<text x="{bx + bar_w / 2:.1f}" y="{base - 4:.1f}" text-anchor="middle" '
                        f'font-size="9" fill="#868e96">n/a<title>{escape(label)}</title></text>'
                    )
                    continue
                vy = ypos(bar.value)
                y_top, height = min(vy, base), abs(base - vy)
                parts.append(
                    f'<rect x="{bx + 1:.1f}" y="{y_top:.1f}" width="{max(bar_w - 2, 1):.1f}" '
                    f'height="{max(height, 0.5):.1f}" fill="{fill}" fill-opacity="0.85">'
                    f"<title>{escape(label)}</title></rect>"
                )
                if bar.lo is not None and bar.hi is not None:
                    parts.append(_whisker(bx + bar_w / 2, bar.lo, bar.hi, ypos, y0, y1))
            parts.append(
                f'<text x="{gx + group_w / 2:.1f}" y="{oy + top + plot_h + 16:.1f}" '
                f'text-anchor="middle">{escape(group.label)}</text>'
            )
        if y_label:
            cy = oy + top + plot_h / 2
            parts.append(
                f'<text x="{ox + 12}" y="{cy:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 {ox + 12} {cy:.1f})">{escape(y_label)}</text>'
            )
    return _svg(total_w, total_h, title, parts)


def _whisker(cx: float, lo: float, hi: float, ypos, y0: float, y1: float) -> str:
    """A CI whisker; an end beyond the axis is cut there without a cap (the interval goes on)."""
    ly, hy = ypos(lo), ypos(hi)
    caps = "".join(
        f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
        for y, inside in ((ly, lo >= y0), (hy, hi <= y1))
        if inside
    )
    return (
        f'<g stroke="#1d2433" stroke-width="1.2"><line x1="{cx:.1f}" x2="{cx:.1f}" '
        f'y1="{ly:.1f}" y2="{hy:.1f}"/>{caps}</g>'
    )


def line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float | None]]]],
    *,
    x_label: str,
    y_label: str,
    y_domain: tuple[float, float] = (0.0, 1.0),
    title: str = "",
    width: int = 900,
    height: int = 300,
) -> SafeString:
    """Lines with point markers; a None value breaks the line."""
    left, right, bottom = 52, 16, 44
    legend_parts, legend_h = _legend([name for name, _ in series], left, 16, width - left - right)
    top = legend_h + 8
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = [x for _, pts in series for x, _ in pts]
    x0, x1 = (min(xs), max(xs)) if xs else (0, 1)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = y_domain

    def px(x: float) -> float:
        return left + plot_w * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        y = min(max(y, y0), y1)
        return top + plot_h * (1 - (y - y0) / (y1 - y0))

    parts = [*legend_parts]
    for t in nice_ticks(y0, y1):
        parts.append(
            f'<line class="grid-line" x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" '
            f'y2="{py(t):.1f}"/><text x="{left - 6}" y="{py(t) + 4:.1f}" '
            f'text-anchor="end">{t:g}</text>'
        )
    for t in nice_ticks(x0, x1, target=6, integer=True):
        parts.append(
            f'<text x="{px(t):.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle">{t:g}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/><line class="axis" x1="{left}" x2="{left}" y1="{top}" '
        f'y2="{top + plot_h}"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">{escape(y_label)}</text>'
    )
    for s_i, (name, points) in enumerate(series):
        stroke = colour(s_i)
        segment: list[str] = []
        segments = []
        for x, y in points:
            if y is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{px(x):.1f},{py(y):.1f}")
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{stroke}">'
                f"<title>{escape(name)} at {x:g}: {y:.3f}</title></circle>"
            )
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline points="{" ".join(seg)}" fill="none" stroke="{stroke}" '
                    f'stroke-width="2"/>'
                )
    return _svg(width, height, title, parts)


def rank_chart(
    configs: Sequence[str],
    models: Sequence[str],
    ranks: dict[str, dict[str, int]],
    *,
    title: str = "",
    width: int = 900,
) -> SafeString:
    """Configuration x model rank ("bump") chart: rank 1 at the top, one line per model."""
    n_models = max(1, len(models))
    left, right, bottom = 56, 150, 44
    top = 16
    row_h = 44
    height = top + bottom + row_h * max(1, n_models - 1) + 12
    plot_w = width - left - right
    plot_h = row_h * max(1, n_models - 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (len(configs) - 1) if len(configs) > 1 else plot_w / 2)

    def py(rank: int) -> float:
        return top + (plot_h * (rank - 1) / (n_models - 1) if n_models > 1 else plot_h / 2)

    parts = []
    for rank in range(1, n_models + 1):
        parts.append(
            f'<line class="grid-line" x1="{left}" x2="{left + plot_w}" y1="{py(rank):.1f}" '
            f'y2="{py(rank):.1f}"/><text x="{left - 8}" y="{py(rank) + 4:.1f}" '
            f'text-anchor="end">#{rank}</text>'
        )
    for i, config in enumerate(configs):
        parts.append(
            f'<line class="axis" x1="{px(i):.1f}" x2="{px(i):.1f}" y1="{top}" '
            f'y2="{top + plot_h}"/><text x="{px(i):.1f}" y="{top + plot_h + 18:.1f}" '
            f'text-anchor="middle">{i + 1}<title>{escape(config)}</title></text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        "configuration (numbered as in the table below)</text>"
        f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">rank (1 = best)</text>'
    )
    for m_i, model in enumerate(models):
        stroke = colour(m_i)
        points = [(i, ranks.get(c, {}).get(model)) for i, c in enumerate(configs)]
        coords = [f"{px(i):.1f},{py(r):.1f}" for i, r in points if r is not None]
        if len(coords) > 1:
            parts.append(
                f'<polyline points="{" ".join(coords)}" fill="none" stroke="{stroke}" '
                f'stroke-width="2.5" stroke-opacity="0.9"/>'
            )
        for i, r in points:
            if r is None:
                continue
            parts.append(
                f'<circle cx="{px(i):.1f}" cy="{py(r):.1f}" r="4.5" fill="{stroke}">'
                f"<title>{escape(model)} in {escape(configs[i])}: rank {r}</title></circle>"
            )
        last = next(((i, r) for i, r in reversed(points) if r is not None), None)
        if last is not None:
            parts.append(
                f'<text x="{left + plot_w + 10:.1f}" y="{py(last[1]) + 4 + 0.0:.1f}" '
                f'fill="{stroke}" font-weight="600">{escape(model)}</text>'
            )
    return _svg(width, height, title, parts)


def _svg(width: float, height: float, title: str, parts: list[str]) -> SafeString:
    label = escape(title or "chart")
    body = "".join(parts)
    return mark_safe(  # noqa: S308 - every interpolated label above is escaped
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">'
        f"<title>{label}</title>{body}</svg>"
    )


def interval_chart(
    rows: Sequence[tuple[str, float, float | None, float | None]],
    *,
    x_label: str,
    title: str = "",
    width: int = 900,
) -> SafeString:
    """Forest plot: one row per label, a point estimate with an optional interval."""
    left, right, top, bottom, row_h = 170, 24, 12, 44, 26
    height = top + bottom + row_h * max(1, len(rows))
    values = [v for _, est, lo, hi in rows for v in (est, lo, hi) if v is not None]
    x0, x1 = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (x1 - x0) * 0.05 or 1.0
    x0, x1 = x0 - pad, x1 + pad
    plot_w = width - left - right

    def px(x: float) -> float:
        return left + plot_w * (x - x0) / (x1 - x0)

    parts = []
    for t in nice_ticks(x0, x1, target=8):
        parts.append(
            f'<line class="grid-line" x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" '
            f'y2="{height - bottom}"/><text x="{px(t):.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle">{t:g}</text>'
        )
    if x0 < 0 < x1:
        parts.append(
            f'<line class="axis" x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{top}" '
            f'y2="{height - bottom}"/>'
        )
    for i, (label, est, lo, hi) in enumerate(rows):
        cy = top + row_h * i + row_h / 2
        parts.append(
            f'<text x="{left - 10}" y="{cy + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
        if lo is not None and hi is not None:
            parts.append(
                f'<g stroke="#1d2433" stroke-width="1.4"><line x1="{px(lo):.1f}" '
                f'x2="{px(hi):.1f}" y1="{cy:.1f}" y2="{cy:.1f}"/><line x1="{px(lo):.1f}" '
                f'x2="{px(lo):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}"/><line '
                f'x1="{px(hi):.1f}" x2="{px(hi):.1f}" y1="{cy - 5:.1f}" y2="{cy + 5:.1f}"/></g>'
            )
        interval = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
        parts.append(
            f'<circle cx="{px(est):.1f}" cy="{cy:.1f}" r="5" fill="{colour(0)}">'
            f"<title>{escape(label)}: {est:.3f}{interval}</title></circle>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    return _svg(width, height, title, parts)
