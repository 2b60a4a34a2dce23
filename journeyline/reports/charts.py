"""Inline SVG charts generated in Python: no JavaScript, no network, nothing to load.

Every chart is one ``<svg class="chart" data-chart="KIND">`` element; every data
mark (bar, segment, point, band, cell) has ``class="mark"`` and a ``<title>``
that the browser shows as a tooltip, so the page stays readable and testable
(count the marks) without a charting library. Text is escaped; numbers are
formatted by the caller-supplied ``fmt``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

PALETTE = (
    "#3b6ea5",
    "#e07b39",
    "#5a9e6f",
    "#c44e52",
    "#8172b2",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
    "#64b5cd",
)
STATUS_COLOURS = {"pass": "#5a9e6f", "warn": "#e0a93b", "fail": "#c44e52", "error": "#7f1d1d"}
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12"'

Fmt = Callable[[float], str]


def number(value: float) -> str:
    """1,234 for whole numbers, 3 significant digits otherwise."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def percent(value: float) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1%}"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _svg(kind: str, width: float, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" data-chart="{kind}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f"{FONT}>"
        f"<title>{escape(label)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "", **extra: str) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in extra.items())
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}{attrs}>{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str, rx: float = 2) -> str:
    return (
        f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
        f'height="{max(h, 0):.1f}" rx="{rx}" fill="{fill}"><title>{escape(title)}</title></rect>'
    )


def _ticks(high: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``high``."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(high / step) + 1)]


def empty(message: str) -> str:
    """What a chart slot shows when there is nothing to draw."""
    return f'<p class="empty">{escape(message)}</p>'


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    label: str,
    fmt: Fmt = number,
    width: int = 640,
    colours: Sequence[str] | None = None,
) -> str:
    """Horizontal bars, one per (name, value), value printed at the end of the bar."""
    if not items:
        return empty(f"{label}: no data")
    left, right, row = 170, 70, 24
    height = row * len(items) + 16
    high = max((v for _, v in items), default=0) or 1
    body = []
    for i, (name, value) in enumerate(items):
        y = 8 + i * row
        w = (width - left - right) * max(value, 0) / high
        fill = colours[i] if colours else colour(0)
        body.append(_text(left - 8, y + 15, _clip(name, 26), "end"))
        body.append(_rect(left, y + 3, w, row - 8, fill, f"{name}: {fmt(value)}"))
        body.append(_text(left + w + 6, y + 15, fmt(value), cls="value"))
    return _svg("bar", width, height, label, body)


def stacked_bars(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    label: str,
    fmt: Fmt = number,
    width: int = 640,
    colours: dict[str, str] | None = None,
) -> str:
    """Horizontal stacked bars: one bar per category, one segment per series, with a legend."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    if not categories or not any(totals):
        return empty(f"{label}: no data")
    left, right, row = 170, 70, 26
    legend_rows = math.ceil(len(series) / 4)
    top = 8 + 18 * legend_rows
    height = top + row * len(categories) + 8
    high = max(totals)
    names = list(series)
    body = _legend(names, colours, width, 8)
    for i, category in enumerate(categories):
        y = top + i * row
        x = float(left)
        body.append(_text(left - 8, y + 16, _clip(category, 26), "end"))
        for j, name in enumerate(names):
            value = series[name][i]
            if not value:
                continue
            w = (width - left - right) * value / high
            fill = (colours or {}).get(name, colour(j))
            body.append(_rect(x, y + 3, w, row - 8, fill, f"{category} · {name}: {fmt(value)}", 0))
            x += w
        body.append(_text(x + 6, y + 16, fmt(totals[i]), cls="value"))
    return _svg("stacked-bar", width, height, label, body)


def _legend(
    names: Sequence[str], colours: dict[str, str] | None, width: int, y: float
) -> list[str]:
    body = []
    per_row = 4
    col = (width - 20) / per_row
    for j, name in enumerate(names):
        x = 10 + (j % per_row) * col
        yy = y + (j // per_row) * 18
        fill = (colours or {}).get(name, colour(j))
        body.append(f'<rect x="{x:.1f}" y="{yy:.1f}" width="10" height="10" fill="{fill}"/>')
        body.append(_text(x + 14, yy + 9, _clip(name, 24), cls="legend"))
    return body


def line_chart(
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    label: str,
    fmt: Fmt = number,
    width: int = 640,
    height: int = 240,
    colours: dict[str, str] | None = None,
) -> str:
    """One line per series over shared x labels (e.g. runs); gaps where a value is None."""
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    if not x_labels or not values:
        return empty(f"{label}: no data")
    legend_rows = math.ceil(len(series) / 4)
    left, right, top, bottom = 64, 16, 10 + 18 * legend_rows, 40
    ticks = _ticks(max(max(values), 0))
    low = min(min(values), 0)
    high = ticks[-1] if ticks[-1] > low else low + 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(i: int) -> float:
        return left + (plot_w * i / (len(x_labels) - 1) if len(x_labels) > 1 else plot_w / 2)

    def sy(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    body = _legend(list(series), colours, width, 8)
    for t in ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" '
            'class="grid"/>'
        )
        body.append(_text(left - 6, sy(t) + 4, fmt(t), "end", cls="axis"))
    step = max(1, math.ceil(len(x_labels) / 8))
    for i, name in enumerate(x_labels):
        if i % step == 0 or i == len(x_labels) - 1:
            body.append(_text(sx(i), height - bottom + 16, _clip(name, 14), "middle", cls="axis"))
    for j, (name, vs) in enumerate(series.items()):
        fill = (colours or {}).get(name, colour(j))
        points = [(sx(i), sy(v)) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{fill}" stroke-width="2"/>')
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(v):
                continue
            body.append(
                f'<circle class="mark" cx="{sx(i):.1f}" cy="{sy(v):.1f}" r="4" fill="{fill}">'
                f"<title>{escape(f'{name} · {x_labels[i]}: {fmt(v)}')}</title></circle>"
            )
    return _svg("line", width, height, label, body)


def funnel_chart(stages: Sequence[tuple[str, float]], *, label: str, width: int = 640) -> str:
    """Centred bars shrinking down the stages, with count, share of the top and step conversion."""
    if not stages or not stages[0][1]:
        return empty(f"{label}: no data")
    row, top_count = 34, stages[0][1]
    height = row * len(stages) + 10
    centre, span = width / 2 + 40, width - 260
    body = []
    previous = None
    for i, (stage, count) in enumerate(stages):
        y = 5 + i * row
        w = max(span * count / top_count, 2)
        share = count / top_count
        step = f" · {percent(count / previous)} of {stages[i - 1][0]}" if previous else ""
        body.append(_text(centre - span / 2 - 10, y + 20, stage, "end"))
        body.append(
            _rect(centre - w / 2, y + 3, w, row - 8, colour(i), f"{stage}: {number(count)}{step}")
        )
        caption = f"{number(count)} ({percent(share)})"
        if w > 7.5 * len(caption):
            body.append(_text(centre, y + 20, caption, "middle", cls="on-bar"))
        else:  # too narrow to hold its label: write it beside the bar
            body.append(_text(centre + w / 2 + 6, y + 20, caption, cls="value"))
        previous = count or None
    return _svg("funnel", width, height, label, body)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: dict[tuple[str, str], float],
    *,
    label: str,
    fmt: Fmt = percent,
    cell: int = 56,
) -> str:
    """A grid of shaded cells (darker = higher), the value printed in each."""
    if not rows or not columns or not values:
        return empty(f"{label}: no data")
    left, top = 190, 28
    width, height = left + cell * len(columns) + 10, top + 24 * len(rows) + 10
    high = max(values.values()) or 1
    body = [
        _text(left + cell * j + cell / 2, top - 10, _clip(c, 9), "middle", cls="axis")
        for j, c in enumerate(columns)
    ]
    for i, r in enumerate(rows):
        y = top + 24 * i
        body.append(_text(left - 8, y + 16, _clip(r, 28), "end"))
        for j, c in enumerate(columns):
            value = values.get((r, c))
            if value is None:
                continue
            strength = max(0.0, min(1.0, value / high))
            fill = f"rgba(59, 110, 165, {0.08 + 0.85 * strength:.2f})"
            x = left + cell * j
            body.append(_rect(x + 1, y + 1, cell - 2, 22, fill, f"{r} · {c}: {fmt(value)}", 1))
            cls = "on-dark" if strength > 0.55 else "on-light"
            body.append(_text(x + cell / 2, y + 16, fmt(value), "middle", cls=cls))
    return _svg("heatmap", width, height, label, body)


def range_bars(
    items: Sequence[tuple[str, float, float]], *, label: str, unit: str = "days", width: int = 640
) -> str:
    """Per item a bar to the median and a whisker to the p90."""
    items = [i for i in items if i[1] is not None and i[2] is not None]
    if not items:
        return empty(f"{label}: no data")
    left, right, row = 170, 90, 26
    height = row * len(items) + 16
    high = max(p90 for _, _, p90 in items) or 1
    scale = (width - left - right) / high
    body = []
    for i, (name, median, p90) in enumerate(items):
        y = 8 + i * row
        body.append(_text(left - 8, y + 16, name, "end"))
        body.append(
            _rect(
                left,
                y + 4,
                median * scale,
                row - 10,
                colour(0),
                f"{name}: median {number(median)} {unit}",
            )
        )
        x90 = left + p90 * scale
        body.append(
            f'<line class="mark" x1="{left + median * scale:.1f}" x2="{x90:.1f}" '
            f'y1="{y + row / 2:.1f}" y2="{y + row / 2:.1f}" stroke="{colour(1)}" stroke-width="2">'
            f"<title>{escape(f'{name}: p90 {number(p90)} {unit}')}</title></line>"
        )
        body.append(
            f'<line x1="{x90:.1f}" x2="{x90:.1f}" y1="{y + 6:.1f}" y2="{y + row - 6:.1f}" '
            f'stroke="{colour(1)}" stroke-width="2"/>'
        )
        body.append(_text(x90 + 6, y + 16, f"{number(median)} / {number(p90)} {unit}", cls="value"))
    return _svg("range", width, height, label, body)


def histogram(
    values: Sequence[float], *, label: str, bins: int = 10, width: int = 320, fmt: Fmt = number
) -> str:
    """Counts of ``values`` in equal-width bins between their min and max."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return empty(f"{label}: no data")
    low, high = min(finite), max(finite)
    if high == low:
        high = low + 1
    counts = [0] * bins
    for v in finite:
        counts[min(bins - 1, int((v - low) / (high - low) * bins))] += 1
    left, top, bottom, height = 36, 8, 28, 160
    plot_w, plot_h = width - left - 8, height - top - bottom
    top_count = max(counts) or 1
    body = []
    for i, n in enumerate(counts):
        h = plot_h * n / top_count
        x = left + plot_w * i / bins
        lo, hi = low + (high - low) * i / bins, low + (high - low) * (i + 1) / bins
        body.append(
            _rect(
                x + 1,
                top + plot_h - h,
                plot_w / bins - 2,
                h,
                colour(4),
                f"{fmt(lo)}–{fmt(hi)}: {n:,}",
                1,
            )
        )
    body.append(_text(left, height - 10, fmt(low), cls="axis"))
    body.append(_text(width - 8, height - 10, fmt(high), "end", cls="axis"))
    body.append(_text(left - 4, top + 10, f"{top_count:,}", "end", cls="axis"))
    return _svg("histogram", width, height, label, body)


def sankey(
    columns: Sequence[Sequence[str]],
    links: Sequence[tuple[str, str, float]],
    *,
    label: str,
    width: int = 900,
    height: int = 420,
) -> str:
    """A flow diagram: nodes in ordered columns, links as bands whose width is the flow.

    ``columns`` lists node names column by column (e.g. the stage order, outcomes in the
    last column); a link may skip columns. Node height is the larger of its in- and
    out-flow, so skipped stages and drop-outs stay visible.
    """
    links = [(s, t, v) for s, t, v in links if v > 0]
    if not links:
        return empty(f"{label}: no data")
    used = {s for s, _, _ in links} | {t for _, t, _ in links}
    columns = [[n for n in col if n in used] for col in columns]
    columns = [col for col in columns if col]
    inflow: dict[str, float] = {}
    outflow: dict[str, float] = {}
    for s, t, v in links:
        outflow[s] = outflow.get(s, 0) + v
        inflow[t] = inflow.get(t, 0) + v
    size = {n: max(inflow.get(n, 0), outflow.get(n, 0)) for col in columns for n in col}
    gap, node_w, pad_top, pad_x = 14, 14, 10, 90
    tallest = max(sum(size[n] for n in col) for col in columns)
    max_nodes = max(len(col) for col in columns)
    scale = (height - 2 * pad_top - gap * (max_nodes - 1)) / (tallest or 1)
    xstep = (width - 2 * pad_x - node_w) / max(len(columns) - 1, 1)
    pos: dict[str, tuple[float, float, float]] = {}  # name -> x, y, h
    for ci, col in enumerate(columns):
        column_h = sum(max(size[n] * scale, 2) for n in col) + gap * (len(col) - 1)
        y = pad_top + (height - 2 * pad_top - column_h) / 2  # centred: flows stay level
        for n in col:
            h = max(size[n] * scale, 2)
            pos[n] = (pad_x + ci * xstep, y, h)
            y += h + gap
    body = []
    out_off = {n: 0.0 for n in pos}
    in_off = {n: 0.0 for n in pos}
    ordered = sorted(links, key=lambda link: (pos[link[0]][0], pos[link[0]][1], pos[link[1]][1]))
    for s, t, v in ordered:
        sx, sy, _ = pos[s]
        tx, ty, _ = pos[t]
        band = v * scale
        y0 = sy + out_off[s] + band / 2
        y1 = ty + in_off[t] + band / 2
        out_off[s] += band
        in_off[t] += band
        x0, x1 = sx + node_w, tx
        mid = (x0 + x1) / 2
        fill = colour(_column_of(columns, s))
        body.append(
            f'<path class="mark link" d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} '
            f'{x1:.1f},{y1:.1f}" stroke="{fill}" stroke-opacity="0.35" '
            f'stroke-width="{max(band, 1):.1f}" fill="none">'
            f"<title>{escape(f'{s} → {t}: {number(v)}')}</title></path>"
        )
    for ci, col in enumerate(columns):
        for n in col:
            x, y, h = pos[n]
            body.append(_rect(x, y, node_w, h, colour(ci), f"{n}: {number(size[n])}", 1))
            anchor, tx = ("end", x - 4) if ci == 0 else ("start", x + node_w + 4)
            body.append(_text(tx, y + h / 2 + 4, f"{n} {number(size[n])}", anchor))
    return _svg("sankey", width, height, label, body)


def _column_of(columns: Sequence[Sequence[str]], name: str) -> int:
    return next((i for i, col in enumerate(columns) if name in col), 0)


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
