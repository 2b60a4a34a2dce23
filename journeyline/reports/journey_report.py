"""`journeyline report`: the journey report, one offline HTML page of charts (SPEC §7, §9).

Everything comes from SQL on the published schema: the funnel overall, by
first-touch channel and by cohort month (``fct_journey_funnel``), the stage flow
as a Sankey and the time between stages (``fct_stage_transitions``). Sections
on marts that not every warehouse has yet — consistency, CX scores by stage,
stage paths, alerts — appear only when their table exists, and render whatever
columns it holds, so a new metric shows up without a change here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from journeyline.reports import charts
from journeyline.reports.html import esc, fmt_value, kpis, page, section, table, write_page

OPTIONAL_TABLES = (
    "fct_journey_consistency",
    "agg_journey_consistency",
    "fct_cx_scores_by_stage",
    "fct_journey_paths",
    "alerts",
)
REQUIRED_TABLES = ("customers", "fct_journey_funnel", "fct_stage_transitions")
FIRST_TOUCH = "first touch"
TOP_CHANNELS = 8
TABLE_ROWS = 25
HISTOGRAMS = 6
# The headline per-customer metrics of fct_journey_consistency (SPEC §7), charted first.
CONSISTENCY_METRICS = (
    "theme_consistency",
    "hard_restart_share",
    "speed_to_lead_hours",
    "onboarding_start_days",
    "avg_first_reply_hours",
    "first_contact_resolution_rate",
)


class ReportError(Exception):
    """The warehouse cannot make this report; the message says why and what to do."""


@dataclass(frozen=True)
class Warehouse:
    """A read-only view of the published schema: which tables exist, and queries on them."""

    con: duckdb.DuckDBPyConnection
    schema: str
    tables: frozenset[str]

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection, schema: str) -> Warehouse:
        rows = con.execute(
            "select lower(table_name) from information_schema.tables where table_schema = ?",
            [schema],
        ).fetchall()
        return cls(con, schema, frozenset(r[0] for r in rows))

    def name(self, table: str) -> str:
        return '"' + self.schema.replace('"', '""') + '"."' + table + '"'

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def _stage_order(wh: Warehouse) -> list[str]:
    rows = wh.rows(
        f"select stage, min(stage_rank) as r from {wh.name('fct_journey_funnel')} "
        "group by stage order by r"
    )
    return [r["stage"] for r in rows]


def _overview(wh: Warehouse, stages: list[str]) -> str:
    customers = wh.rows(f"select count(*) as n from {wh.name('customers')}")[0]["n"]
    events = (
        wh.rows(f"select count(*) as n from {wh.name('customer_timeline')}")[0]["n"]
        if "customer_timeline" in wh.tables
        else None
    )
    reached = _funnel_totals(wh)
    won = reached.get("customer", 0)
    top = reached.get(stages[0], 0) if stages else 0
    return kpis(
        [
            ("customers", fmt_value(customers)),
            ("events in the timeline", fmt_value(events)),
            ("became customers", fmt_value(won)),
            ("top → customer", charts.percent(won / top) if top else "—"),
        ]
    )


def _funnel_totals(wh: Warehouse, dimension: str = "all") -> dict[str, int]:
    rows = wh.rows(
        f"select stage, sum(customers_reached) as reached from {wh.name('fct_journey_funnel')} "
        "where dimension = ? group by stage",
        [dimension],
    )
    return {r["stage"]: int(r["reached"] or 0) for r in rows}


def _funnel(wh: Warehouse, stages: list[str]) -> str:
    totals = _funnel_totals(wh)
    items = [(s, float(totals.get(s, 0))) for s in stages]
    rows = []
    for i, (stage, reached) in enumerate(items):
        previous = items[i - 1][1] if i else None
        rows.append(
            [
                stage,
                int(reached),
                charts.percent(reached / previous) if previous else "—",
                charts.percent(reached / items[0][1]) if items and items[0][1] else "—",
            ]
        )
    return charts.funnel_chart(items, label="Customers reaching each stage") + table(
        ["stage", "customers reached", "from previous stage", "from top"],
        rows,
        numeric=(1, 2, 3),
    )


def _conversion_grid(
    wh: Warehouse, stages: list[str], dimension: str, *, by_cohort: bool, label: str
) -> str:
    key = "cohort_month" if by_cohort else "dimension_value"
    rows = wh.rows(
        f"select {key} as k, stage, sum(customers_reached) as reached "
        f"from {wh.name('fct_journey_funnel')} where dimension = ? group by 1, 2",
        [dimension],
    )
    counts = {(str(r["k"]), r["stage"]): float(r["reached"] or 0) for r in rows}
    top_stage = stages[0] if stages else None
    tops = {k: v for (k, s), v in counts.items() if s == top_stage and v > 0}
    keys = sorted(tops, key=lambda k: k if by_cohort else (-tops[k], k))
    if not by_cohort:
        keys = keys[:TOP_CHANNELS]
    values = {(k, s): counts.get((k, s), 0.0) / tops[k] for k in keys for s in stages if k in tops}
    rows_labels = [f"{k} ({int(tops[k]):,})" for k in keys]
    relabelled = {(f"{k} ({int(tops[k]):,})", s): v for (k, s), v in values.items()}
    return charts.heatmap(rows_labels, stages, relabelled, label=label)


def _transitions(wh: Warehouse) -> list[dict[str, Any]]:
    return wh.rows(
        f"select coalesce(from_stage, ?) as from_stage, to_stage, count(*) as customers, "
        "median(days_in_previous_stage) as median_days, "
        "quantile_cont(days_in_previous_stage, 0.9) as p90_days "
        f"from {wh.name('fct_stage_transitions')} group by 1, 2 order by 3 desc",
        [FIRST_TOUCH],
    )


def _flow(wh: Warehouse, stages: list[str], transitions: list[dict[str, Any]]) -> str:
    outcomes = sorted({t["to_stage"] for t in transitions} - set(stages) - {FIRST_TOUCH})
    columns = [[FIRST_TOUCH], *[[s] for s in stages], outcomes]
    column_of = {n: i for i, col in enumerate(columns) for n in col}
    forward = [
        (t["from_stage"], t["to_stage"], float(t["customers"]))
        for t in transitions
        if column_of.get(t["from_stage"], -1) < column_of.get(t["to_stage"], -1)
    ]
    backward = sum(
        int(t["customers"])
        for t in transitions
        if column_of.get(t["from_stage"], -1) >= column_of.get(t["to_stage"], -1)
    )
    note = (
        f'<p class="empty">{backward:,} transition(s) back from an outcome are not drawn.</p>'
        if backward
        else ""
    )
    return (
        charts.sankey(columns, forward, label="Stage flow: customers moving between stages") + note
    )


def _timing(stages: list[str], transitions: list[dict[str, Any]]) -> str:
    by_target: dict[str, list[dict[str, Any]]] = {}
    for t in transitions:
        if t["from_stage"] != FIRST_TOUCH:
            by_target.setdefault(t["to_stage"], []).append(t)
    order = stages + sorted(set(by_target) - set(stages))
    items = []
    rows = []
    for stage in order:
        for t in sorted(by_target.get(stage, []), key=lambda t: -t["customers"]):
            name = f"{t['from_stage']} → {stage}"
            median, p90 = _num(t["median_days"]), _num(t["p90_days"])
            items.append((name, median, p90))
            rows.append([name, int(t["customers"]), median, p90])
    return charts.range_bars(
        items, label="Days in the previous stage: median (bar) and p90 (whisker)"
    ) + table(["transition", "customers", "median days", "p90 days"], rows, numeric=(1, 2, 3))


def _columns(wh: Warehouse, table_name: str) -> list[tuple[str, str]]:
    rows = wh.con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and lower(table_name) = ? order by ordinal_position",
        [wh.schema, table_name],
    ).fetchall()
    return [(r[0], str(r[1]).upper()) for r in rows]


_NUMERIC = ("DOUBLE", "FLOAT", "DECIMAL", "REAL", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT")


def _numeric_columns(columns: list[tuple[str, str]]) -> list[str]:
    return [
        name
        for name, kind in columns
        if kind.startswith(_NUMERIC) and not name.endswith(("_id", "_rank", "_seq"))
    ]


def _generic_table(wh: Warehouse, table_name: str, order_by: str | None = None) -> str:
    columns = [c for c, _ in _columns(wh, table_name)]
    order = f" order by {order_by}" if order_by else ""
    rows = wh.rows(f"select * from {wh.name(table_name)}{order} limit {TABLE_ROWS}")
    numeric = tuple(
        i for i, c in enumerate(columns) if any(_num(r.get(c)) is not None for r in rows)
    )
    body = table(columns, [[_cell(r[c]) for c in columns] for r in rows], numeric=numeric)
    total = wh.rows(f"select count(*) as n from {wh.name(table_name)}")[0]["n"]
    more = f'<p class="empty">first {len(rows)} of {total:,} rows</p>' if total > len(rows) else ""
    return body + more


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | dict | tuple):
        return str(value)
    if isinstance(value, datetime | date):
        return value
    return value


def _consistency(wh: Warehouse) -> str:
    parts = []
    if "fct_journey_consistency" in wh.tables:
        numeric = _numeric_columns(_columns(wh, "fct_journey_consistency"))
        named = [m for m in CONSISTENCY_METRICS if m in numeric]
        metrics = (named or numeric)[:HISTOGRAMS]
        charts_html = []
        for metric in metrics:
            values = [
                _num(r["v"])
                for r in wh.rows(
                    f'select "{metric}" as v from {wh.name("fct_journey_consistency")} '
                    f'where "{metric}" is not null'
                )
            ]
            if not values:
                continue  # a metric nobody has yet (no tickets, no surveys) draws no empty chart
            charts_html.append(
                f"<div><h3>{esc(metric)}</h3>"
                + charts.histogram(
                    [v for v in values if v is not None], label=f"Distribution of {metric}"
                )
                + "</div>"
            )
        parts.append(
            "<h3>Per customer (fct_journey_consistency)</h3>"
            + (f'<div class="grid">{"".join(charts_html)}</div>' if charts_html else "")
        )
    if "agg_journey_consistency" in wh.tables:
        parts.append(
            "<h3>By cohort, segment and channel (agg_journey_consistency)</h3>"
            + _generic_table(wh, "agg_journey_consistency")
        )
    return "".join(parts)


def _cx(wh: Warehouse, stages: list[str]) -> str:
    columns = _columns(wh, "fct_cx_scores_by_stage")
    names = [c for c, _ in columns]
    stage_col = next((c for c in ("lifecycle_stage", "stage") if c in names), None)
    metrics = [c for c in _numeric_columns(columns) if c.lower() in ("nps", "csat", "ces", "score")]
    chart = ""
    if stage_col and metrics:
        blocks = []
        for metric in metrics:
            rows = wh.rows(
                f'select "{stage_col}" as stage, avg("{metric}") as v '
                f'from {wh.name("fct_cx_scores_by_stage")} where "{metric}" is not null '
                "group by 1"
            )
            values = {r["stage"]: _num(r["v"]) for r in rows}
            ordered = [s for s in stages if s in values] + sorted(set(values) - set(stages))
            items = [(str(s), values[s]) for s in ordered if values[s] is not None]
            blocks.append(
                f"<div><h3>{esc(metric.upper())} by stage</h3>"
                + charts.bar_chart(items, label=f"{metric} by lifecycle stage", width=420)
                + "</div>"
            )
        chart = f'<div class="grid">{"".join(blocks)}</div>'
    return chart + _generic_table(wh, "fct_cx_scores_by_stage")


def _alerts(wh: Warehouse) -> str:
    names = [c for c, _ in _columns(wh, "alerts")]
    chart = ""
    if "alert_type" in names:
        rows = wh.rows(
            f"select alert_type, count(*) as n from {wh.name('alerts')} group by 1 order by 2 desc"
        )
        chart = charts.bar_chart(
            [(str(r["alert_type"]), float(r["n"])) for r in rows], label="Alerts by type"
        )
    order = "raised_at desc" if "raised_at" in names else None
    return chart + _generic_table(wh, "alerts", order)


def render(wh: Warehouse, *, title: str) -> str:
    """The report page for the published schema behind ``wh``."""
    missing = [t for t in REQUIRED_TABLES if t not in wh.tables]
    if missing:
        raise ReportError(
            f"the schema {wh.schema!r} has no {', '.join(missing)}: nothing to report on yet"
        )
    stages = _stage_order(wh)
    transitions = _transitions(wh)
    sections = [
        (
            "funnel",
            "Funnel",
            section(
                "Journey funnel",
                _funnel(wh, stages),
                anchor="funnel",
                lead="reaching a stage counts as passing every stage before it",
            ),
        ),
        (
            "channels",
            "By channel",
            section(
                "Funnel by first-touch channel",
                _conversion_grid(
                    wh,
                    stages,
                    "first_touch_channel",
                    by_cohort=False,
                    label="Share of each channel's customers reaching each stage",
                ),
                anchor="channels",
                lead="share of the channel's customers (count in brackets) reaching each stage",
            ),
        ),
        (
            "cohorts",
            "By cohort",
            section(
                "Funnel by cohort (month of first touch)",
                _conversion_grid(
                    wh,
                    stages,
                    "all",
                    by_cohort=True,
                    label="Share of each cohort reaching each stage",
                ),
                anchor="cohorts",
            ),
        ),
        (
            "flow",
            "Stage flow",
            section(
                "Stage flow",
                _flow(wh, stages, transitions),
                anchor="flow",
                lead="every stage entry, from where the customer was before",
            ),
        ),
        (
            "timing",
            "Time between stages",
            section("Time between stages", _timing(stages, transitions), anchor="timing"),
        ),
    ]
    if {"fct_journey_consistency", "agg_journey_consistency"} & wh.tables:
        sections.append(
            (
                "consistency",
                "Consistency",
                section(
                    "Consistency: one voice across the journey",
                    _consistency(wh),
                    anchor="consistency",
                ),
            )
        )
    if "fct_cx_scores_by_stage" in wh.tables:
        sections.append(
            ("cx", "CX by stage", section("CX scores by stage", _cx(wh, stages), anchor="cx"))
        )
    if "fct_journey_paths" in wh.tables:
        sections.append(
            (
                "paths",
                "Paths",
                section(
                    "Most common stage paths",
                    _generic_table(wh, "fct_journey_paths"),
                    anchor="paths",
                ),
            )
        )
    if "alerts" in wh.tables:
        sections.append(("alerts", "Alerts", section("Alerts", _alerts(wh), anchor="alerts")))
    absent = [t for t in OPTIONAL_TABLES if t not in wh.tables]
    footer = "journeyline · journey report (SPEC §7)"
    if absent:
        footer += f" · not in this warehouse yet: {', '.join(absent)}"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page(
        title,
        f"schema {wh.schema} · generated {generated}",
        sections,
        preface=_overview(wh, stages),
        footer=esc(footer),
    )


def build_journey_report(con: duckdb.DuckDBPyConnection, schema: str, out: Path) -> Path:
    """Write the journey report of ``schema`` to ``out``; return its path."""
    html = render(Warehouse.open(con, schema), title="journeyline · customer journeys")
    return write_page(out, html)
