"""The data-quality report: what every run checked, rejected and blocked, and why (SPEC §8).

Read from the published run log (``pipeline_runs``, ``source_runs``,
``dq_results``) and ``quarantine`` in the warehouse; rendered as one offline
HTML page: the latest run's verdict, each run's gate status with samples of the
offending rows, the reconciliation, quarantine by source and reason, trends
over runs, and a link to the Great Expectations Data Docs for the drill-down.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from journeyline.reports import charts
from journeyline.reports.html import (
    badge,
    esc,
    fmt_value,
    kpis,
    page,
    records_table,
    section,
    table,
    write_page,
)

QUALITY_PREFIX = "quality-"  # dq_results rows of `journeyline quality` (on-demand re-checks)
RUNS_IN_DETAIL = 10
QUARANTINE_SAMPLES = 2
RAW_CHARS = 110
VERDICT_COLOURS = {
    "pass": charts.STATUS_COLOURS["pass"],
    "warn": charts.STATUS_COLOURS["warn"],
    "fail": charts.STATUS_COLOURS["fail"],
}


@dataclass(frozen=True)
class DqData:
    """Everything the report shows, read once from the warehouse."""

    runs: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    rows = con.execute(
        "select lower(table_name) from information_schema.tables where table_schema = ?",
        [schema],
    ).fetchall()
    return {r[0] for r in rows}


def load(con: duckdb.DuckDBPyConnection, schema: str) -> DqData:
    """Read the run log and quarantine of ``schema`` (a missing table reads as empty)."""
    present = _tables(con, schema)
    s = '"' + schema.replace('"', '""') + '"'

    def rows(table: str, sql: str) -> list[dict[str, Any]]:
        return _rows(con, sql.format(t=f"{s}.{table}")) if table in present else []

    return DqData(
        runs=rows("pipeline_runs", "select * from {t} order by started_at, run_id"),
        sources=rows("source_runs", "select * from {t} order by run_id, source"),
        checks=rows("dq_results", "select * from {t} order by run_id, checked_at, check_name"),
        quarantine=rows(
            "quarantine",
            f"""
            select source, reason_code, count(*) as rows,
                   any_value(reason) as example_reason,
                   list(location order by location)[1:{QUARANTINE_SAMPLES}] as locations,
                   list(left(raw, {RAW_CHARS}) order by location)[1:{QUARANTINE_SAMPLES}]
                       as raw_samples
            from {{t}}
            group by source, reason_code
            order by source, rows desc, reason_code
            """,
        ),
    )


def verdict(check: dict[str, Any]) -> str:
    """pass; warn (a warn-severity check did not pass); fail (an error check did not pass)."""
    if check["status"] == "pass":
        return "pass"
    return "warn" if check["severity"] == "warn" else "fail"


def _short(run_id: str) -> str:
    return run_id.removeprefix("run_")[:10]


def _run_label(run: dict[str, Any]) -> str:
    started = run.get("started_at")
    when = started.strftime("%m-%d %H:%M") if isinstance(started, datetime) else ""
    return f"{_short(run['run_id'])} {when}".strip()


def _checks_table(checks: list[dict[str, Any]]) -> str:
    """The checks that did not pass, then the passing ones folded away."""
    if not checks:
        return '<p class="empty">no check recorded</p>'
    order = {"fail": 0, "warn": 1, "pass": 2}
    ranked = sorted(checks, key=lambda c: (order[verdict(c)], c["check_name"]))
    not_passed = [c for c in ranked if c["status"] != "pass"]
    passed = [c for c in ranked if c["status"] == "pass"]
    out = _check_rows(not_passed) if not_passed else '<p class="empty">every check passed</p>'
    if passed:
        out += (
            f"<details><summary>{len(passed)} passing check(s)</summary>"
            f"{_check_rows(passed)}</details>"
        )
    return out


def _check_rows(checks: list[dict[str, Any]]) -> str:
    return table(
        ["", "check", "target", "severity", "observed", "threshold", "details"],
        [
            [
                badge(verdict(c) if c["status"] != "error" else "error"),
                c["check_name"],
                c["target"],
                c["severity"],
                c["observed_value"],
                c["threshold"],
                c["details"],
            ]
            for c in checks
        ],
        numeric=(4,),
        raw=(0,),
    )


def _samples(check: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        samples = json.loads(check.get("samples") or "[]")
    except ValueError:
        return [{"samples": str(check.get("samples"))}]
    return [s if isinstance(s, dict) else {"value": s} for s in samples]


def _failures(checks: list[dict[str, Any]]) -> str:
    """Each check that did not pass, with the offending rows it sampled (nothing if none)."""
    failing = [c for c in checks if c["status"] != "pass"]
    if not failing:
        return ""
    parts = ["<h3>Failing checks and offending rows</h3>"]
    for c in sorted(failing, key=lambda c: (verdict(c) != "fail", c["check_name"])):
        parts.append(
            f"<h3>{badge(verdict(c))} {esc(c['check_name'])} on {esc(c['target'])}</h3>"
            f"<p>{esc(c['details'])} — observed {esc(fmt_value(c['observed_value']))}, "
            f"threshold {esc(c['threshold'])}, severity {esc(c['severity'])}</p>"
            f"{records_table(_samples(c))}"
        )
    return "".join(parts)


def _tally(checks: list[dict[str, Any]]) -> Counter[str]:
    return Counter(verdict(c) for c in checks)


def _tally_text(checks: list[dict[str, Any]]) -> str:
    t = _tally(checks)
    return f"{len(checks)} checks: {t['pass']} passed, {t['warn']} warnings, {t['fail']} failed"


def _latest(data: DqData) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    run = data.runs[-1] if data.runs else None
    checks = [c for c in data.checks if run and c["run_id"] == run["run_id"]]
    return run, checks


def _banner(run: dict[str, Any] | None, checks: list[dict[str, Any]]) -> str:
    if run is None:
        return '<div class="banner unknown">No run recorded yet.</div>'
    status = str(run["status"])
    message = f" — {run['message']}" if run.get("message") else ""
    return (
        f'<div class="banner {esc(status)}"><b>Latest run {esc(run["run_id"])}: '
        f"{esc(status.upper())}</b> · {esc(_tally_text(checks))}{esc(message[:600])}</div>"
    )


def _reconciliation(data: DqData, run: dict[str, Any] | None) -> str:
    rows = [s for s in data.sources if run and s["run_id"] == run["run_id"]]
    body = []
    for s in rows:
        total = (s["accepted_count"] or 0) + (s["quarantined_count"] or 0)
        total += s["duplicate_count"] or 0
        diff = (s["input_count"] or 0) - total
        body.append(
            [
                s["source"],
                s["input_count"],
                s["accepted_count"],
                s["quarantined_count"],
                s["duplicate_count"],
                diff,
                badge("pass" if diff == 0 else "fail"),
                s.get("max_received_at"),
            ]
        )
    return table(
        [
            "source",
            "input",
            "accepted",
            "quarantined",
            "duplicates",
            "difference",
            "reconciles",
            "newest received",
        ],
        body,
        numeric=(1, 2, 3, 4, 5),
        raw=(6,),
    )


def _quarantine(data: DqData) -> str:
    if not data.quarantine:
        return '<p class="empty">nothing quarantined in the published run</p>'
    sources = sorted({q["source"] for q in data.quarantine})
    reasons = sorted({q["reason_code"] for q in data.quarantine})
    counts = {(q["source"], q["reason_code"]): q["rows"] for q in data.quarantine}
    chart = charts.stacked_bars(
        sources,
        {r: [counts.get((s, r), 0) for s in sources] for r in reasons},
        label="Quarantined rows by source and reason code",
    )
    rows = [
        [
            q["source"],
            q["reason_code"],
            q["rows"],
            q["example_reason"],
            "<br>".join(
                f'<code title="{esc(loc)}">{esc(Path(str(loc)).name)}</code> '
                f"<code>{esc(raw)}</code>"
                for loc, raw in zip(q["locations"] or [], q["raw_samples"] or [], strict=False)
            ),
        ]
        for q in data.quarantine
    ]
    return chart + table(
        ["source", "reason code", "rows", "reason (example)", "samples (file:line, raw)"],
        rows,
        numeric=(2,),
        raw=(4,),
    )


def _trends(data: DqData) -> str:
    runs = data.runs
    if not runs:
        return '<p class="empty">no runs yet</p>'
    labels = [_run_label(r) for r in runs]
    index = {r["run_id"]: i for i, r in enumerate(runs)}
    sources = sorted({s["source"] for s in data.sources if s["run_id"] in index})
    volume: dict[str, list[float | None]] = {s: [None] * len(runs) for s in sources}
    rejected: dict[str, list[float | None]] = {s: [None] * len(runs) for s in sources}
    for s in data.sources:
        i = index.get(s["run_id"])
        if i is None:
            continue
        volume[s["source"]][i] = float(s["input_count"] or 0)
        if s["input_count"]:
            rejected[s["source"]][i] = (s["quarantined_count"] or 0) / s["input_count"]
    per_run = {v: [0.0] * len(runs) for v in ("pass", "warn", "fail")}
    for c in data.checks:
        i = index.get(c["run_id"])
        if i is not None:
            per_run[verdict(c)][i] += 1
    return (
        '<div class="grid"><div><h3>Input rows per source</h3>'
        + charts.line_chart(labels, volume, label="Input rows per source and run")
        + "</div><div><h3>Quarantine rate per source</h3>"
        + charts.line_chart(
            labels, rejected, label="Quarantine rate per source and run", fmt=charts.percent
        )
        + "</div></div><h3>Check outcomes per run</h3>"
        + charts.stacked_bars(
            labels, per_run, label="Check outcomes per run", colours=VERDICT_COLOURS
        )
    )


def _run_details(data: DqData) -> str:
    if not data.runs:
        return '<p class="empty">no runs yet</p>'
    parts = []
    recent = list(reversed(data.runs))[:RUNS_IN_DETAIL]
    for n, run in enumerate(recent):
        checks = [c for c in data.checks if c["run_id"] == run["run_id"]]
        status = str(run["status"])
        summary = (
            f"{badge(status)} {esc(run['run_id'])} · started {esc(fmt_value(run['started_at']))}"
            f" · {esc(_tally_text(checks))}"
        )
        opened = " open" if n == 0 else ""
        parts.append(
            f"<details{opened}><summary>{summary}</summary>"
            f"{_checks_table(checks)}{_failures(checks)}</details>"
        )
    older = len(data.runs) - len(recent)
    if older > 0:
        parts.append(f'<p class="empty">{older} older run(s) are in dq_results.</p>')
    history = table(
        ["run", "started", "finished", "status", "input", "accepted", "quarantined", "duplicates"],
        [
            [
                r["run_id"],
                r["started_at"],
                r["finished_at"],
                badge(str(r["status"])),
                r["input_count"],
                r["accepted_count"],
                r["quarantined_count"],
                r["duplicate_count"],
            ]
            for r in reversed(data.runs)
        ],
        numeric=(4, 5, 6, 7),
        raw=(3,),
    )
    return "".join(parts) + "<h3>All runs</h3>" + history


def _on_demand(data: DqData) -> str:
    ids = sorted({c["run_id"] for c in data.checks if c["run_id"].startswith(QUALITY_PREFIX)})
    if not ids:
        return (
            '<p class="empty">no on-demand check yet: `journeyline quality` re-checks the '
            "published tables</p>"
        )
    latest = max(ids, key=lambda i: max(c["checked_at"] for c in data.checks if c["run_id"] == i))
    checks = [c for c in data.checks if c["run_id"] == latest]
    return (
        f"<p>{esc(latest)} · {esc(_tally_text(checks))}</p>"
        + _checks_table(checks)
        + _failures(checks)
    )


def render(data: DqData, *, title: str, data_docs: str | None) -> str:
    """The report page for ``data``; ``data_docs`` is a relative link to the GX Data Docs."""
    run, checks = _latest(data)
    tally = _tally(checks)
    figures = kpis(
        [
            ("runs recorded", f"{len(data.runs):,}"),
            ("input rows (latest run)", fmt_value(run["input_count"]) if run else "—"),
            ("quarantined (latest)", fmt_value(run["quarantined_count"]) if run else "—"),
            ("duplicates (latest)", fmt_value(run["duplicate_count"]) if run else "—"),
            ("checks passed", f"{tally['pass']:,}"),
            ("warnings", f"{tally['warn']:,}"),
            ("failed", f"{tally['fail']:,}"),
        ]
    )
    docs = (
        f"<p>Drill down into every expectation and validation in the "
        f'<a href="{esc(data_docs)}">Great Expectations Data Docs</a>.</p>'
        if data_docs
        else '<p class="empty">Data Docs were not built for this report.</p>'
    )
    sections = [
        (
            "runs",
            "Gate status per run",
            section(
                "Gate status per run",
                _run_details(data),
                anchor="runs",
                lead="error-severity checks block publishing; warnings publish and are reported",
            ),
        ),
        (
            "on-demand",
            "On-demand checks",
            section(
                "On-demand checks of the published tables",
                _on_demand(data) + docs,
                anchor="on-demand",
            ),
        ),
        (
            "reconciliation",
            "Reconciliation",
            section(
                "Reconciliation (latest run)",
                _reconciliation(data, run),
                anchor="reconciliation",
                lead="nothing is lost: input = accepted + quarantined + duplicates, per source",
            ),
        ),
        (
            "quarantine",
            "Quarantine",
            section(
                "Quarantine by source and reason",
                _quarantine(data),
                anchor="quarantine",
                lead="rows of the published run that broke the row contract",
            ),
        ),
        ("trends", "Trends", section("Trends over runs", _trends(data), anchor="trends")),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return page(
        title,
        f"generated {generated}",
        sections,
        preface=_banner(run, checks) + figures,
        footer="journeyline · data-quality report (SPEC §8)",
    )


def build_dq_report(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    out: Path,
    *,
    data_docs: Path | None = None,
) -> Path:
    """Write the report for the run log in ``schema`` to ``out``; return its path."""
    data = load(con, schema)
    link = None
    if data_docs is not None:
        link = Path(_relative(data_docs, out.parent)).as_posix()
    return write_page(out, render(data, title="journeyline · data quality", data_docs=link))


def _relative(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())
