"""The HTML around the charts: one self-contained page with inline CSS and no script.

Helpers return strings of escaped HTML; callers pass plain values and get
escaping for free. A page never references anything outside itself except
relative links to files written beside it (e.g. the Data Docs drill-down).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape
from pathlib import Path
from typing import Any

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --card: #fff;
        --pass: #2f7d4a; --warn: #a66a00; --fail: #b3261e; --accent: #3b6ea5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: #1f3a5f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header p { margin: 4px 0 0; color: #c8d3e0; font-size: 13px; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 32px;
      position: sticky; top: 0; z-index: 1; }
nav a { color: var(--accent); margin-right: 16px; text-decoration: none; font-size: 13px; }
main { padding: 20px 32px 40px; max-width: 1280px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 16px 20px; margin: 0 0 18px; }
h2 { font-size: 17px; margin: 0 0 4px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
p.lead { color: var(--muted); margin: 0 0 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 16px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 18px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
       padding: 10px 16px; min-width: 150px; }
.kpi b { display: block; font-size: 22px; }
.kpi span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left;
         vertical-align: top; overflow-wrap: break-word; }
th { background: #f0f3f7; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td code, td.mono { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace;
                   word-break: break-all; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; color: #fff; }
.badge.pass, .badge.published { background: var(--pass); }
.badge.warn { background: var(--warn); }
.badge.fail, .badge.blocked, .badge.error, .badge.failed { background: var(--fail); }
.badge.running, .badge.unknown { background: var(--muted); }
.banner { border-radius: 8px; padding: 12px 16px; margin: 0 0 18px; color: #fff; }
.banner.published, .banner.pass { background: var(--pass); }
.banner.blocked, .banner.failed, .banner.fail { background: var(--fail); }
.banner.running, .banner.unknown, .banner.warn { background: var(--warn); }
details { margin: 6px 0; }
summary { cursor: pointer; font-weight: 600; }
p.empty { color: var(--muted); font-style: italic; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 6px 0; }
svg.chart .value, svg.chart .axis, svg.chart .legend { fill: var(--muted); font-size: 11px; }
svg.chart .grid { stroke: var(--line); }
svg.chart .on-bar, svg.chart .on-dark { fill: #fff; font-weight: 600; font-size: 11px; }
svg.chart .on-light { fill: var(--ink); font-size: 11px; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
"""


def esc(value: Any) -> str:
    """Any value as escaped text (None as an empty string)."""
    return "" if value is None else escape(str(value))


def fmt_value(value: Any) -> str:
    """A cell value as people read it: thousands separators, short floats, ISO times."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() else f"{value:.4g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def badge(status: str) -> str:
    return f'<span class="badge {esc(status.lower())}">{esc(status)}</span>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[int] = (),
    raw: Sequence[int] = (),
) -> str:
    """A table; ``numeric`` columns align right; ``raw`` columns hold ready-made HTML."""
    head = "".join(
        f'<th class="num">{esc(h)}</th>' if i in numeric else f"<th>{esc(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = value if i in raw else esc(fmt_value(value))
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        return '<p class="empty">nothing to show</p>'
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def records_table(records: Sequence[dict[str, Any]], limit: int = 10) -> str:
    """A table of dicts (e.g. sample rows); columns from the first record's keys."""
    if not records:
        return '<p class="empty">no sample rows</p>'
    columns = list(dict.fromkeys(k for r in records[:limit] for k in r))
    rows = [[_sample_cell(r.get(c)) for c in columns] for r in records[:limit]]
    return table(columns, rows)


def _sample_cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        return str(value)
    return value


def section(title: str, body: str, *, anchor: str, lead: str = "") -> str:
    intro = f'<p class="lead">{esc(lead)}</p>' if lead else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{intro}{body}</section>'


def kpis(items: Sequence[tuple[str, str]]) -> str:
    cards = "".join(
        f'<div class="kpi"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items
    )
    return f'<div class="kpis">{cards}</div>'


def page(
    title: str,
    subtitle: str,
    sections: Sequence[tuple[str, str, str]],
    *,
    preface: str = "",
    footer: str = "",
) -> str:
    """A whole page: header, a nav of the sections, ``preface`` then every section.

    ``sections`` holds (anchor, nav label, html) triples.
    """
    nav = "".join(f'<a href="#{esc(a)}">{esc(label)}</a>' for a, label, _ in sections)
    body = "".join(html for _, _, html in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{preface}{body}</main>"
        f"<footer>{footer}</footer></body></html>\n"
    )


def write_page(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` via a temp file (readers never see half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
