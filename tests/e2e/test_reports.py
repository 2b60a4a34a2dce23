"""`journeyline quality` and `journeyline report` on a published run, checked in Chromium."""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from journeyline.quality.data_docs import external_requests
from tests.e2e.chromium import load
from tests.e2e.conftest import Run, journeyline


@dataclass(frozen=True)
class Reports:
    warehouse: Path
    lake: Path
    out: Path
    quality_code: int
    quality_stdout: str
    report_code: int


def quietly(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = journeyline(*args)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def reports(first_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Reports:
    """Both reports built on a copy of the published run (the original stays untouched)."""
    work = tmp_path_factory.mktemp("reports")
    warehouse, lake, out = work / "wh.duckdb", work / "lake", work / "reports"
    shutil.copy(first_run.warehouse, warehouse)
    shutil.copytree(first_run.lake, lake)
    q_code, q_out = quietly(
        "quality", "--warehouse", str(warehouse), "--lake", str(lake), "--out", str(out)
    )
    r_code, _ = quietly("report", "--warehouse", str(warehouse), "--out", str(out))
    return Reports(warehouse, lake, out, q_code, q_out, r_code)


def test_quality_rechecks_the_published_tables_and_records_them_apart(
    reports: Reports, first_run: Run
) -> None:
    assert reports.quality_code == 0, reports.quality_stdout
    (published,) = first_run.sql("select run_id from main.pipeline_runs")[0:1]
    run_id = f"quality-{published[0]}"
    con = duckdb.connect(str(reports.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select check_name, status from main.dq_results where run_id = ? order by 1", [run_id]
        ).fetchall()
    finally:
        con.close()
    names = {name for name, _ in rows}
    assert {"source_volume", "match_rate", "component_size", "unique_event_id"} <= names
    assert all(status == "pass" for _, status in rows), [r for r in rows if r[1] != "pass"]
    assert (reports.lake / "_ops" / "dq_results" / f"{run_id}.parquet").is_file()
    assert f"checked the published run {published[0]} as {run_id}" in reports.quality_stdout


def test_the_dq_report_loads_offline_with_its_charts(reports: Reports) -> None:
    page = load(
        reports.out / "quality.html",
        {"charts": "svg.chart", "marks": "svg.chart .mark", "sections": "main section"},
    )

    assert page.console_errors == []
    assert page.external_requests == []
    assert page.counts["sections"] == 5
    assert page.counts["charts"] >= 4  # quarantine, two trend lines, outcomes per run
    assert page.counts["marks"] >= 10


def test_data_docs_render_offline_with_their_styles(reports: Reports) -> None:
    site = reports.out / "data_docs"
    pages = [site / "index.html", next((site / "validations").rglob("*.html"))]
    for html in pages:
        assert external_requests(html.read_text(encoding="utf-8")) == []
        # Bootstrap's reboot collapses table borders; the browser default keeps them separate.
        bootstrap = (
            "return getComputedStyle(document.querySelector('table')).borderCollapse "
            "=== 'collapse' ? 1 : 0"
        )
        page = load(html, {"tables": "table", "icons": "i.fas"}, script=bootstrap)
        assert page.console_errors == [], html
        assert page.external_requests == [], html
        assert page.counts["script"] == 1, f"bootstrap CSS not applied in {html}"
        assert page.counts["tables"] >= 1
    # the pass/fail marks are Font Awesome icons: the page loaded their solid face, and with
    # no external request that face came from the site's own vendor/webfonts copy
    assert page.counts["icons"] >= 1
    assert "Font Awesome 6 Free 900" in page.fonts, page.fonts


def test_the_journey_report_loads_offline_with_its_charts(reports: Reports) -> None:
    assert reports.report_code == 0
    page = load(
        reports.out / "journey.html",
        {
            "funnel": "svg[data-chart=funnel]",
            "heatmaps": "svg[data-chart=heatmap]",
            "sankey": "svg[data-chart=sankey]",
            "links": "svg[data-chart=sankey] path.mark",
            "timing": "svg[data-chart=range]",
            "marks": "svg.chart .mark",
            "consistency": "#consistency",
        },
    )

    assert page.console_errors == []
    assert page.external_requests == []
    assert (page.counts["funnel"], page.counts["sankey"], page.counts["timing"]) == (1, 1, 1)
    assert page.counts["heatmaps"] == 2  # by channel, by cohort
    assert page.counts["links"] >= 6  # visitor → lead → mql → … and the drop-outs
    assert page.counts["marks"] >= 100
    assert page.counts["consistency"] == 1  # the consistency marts are published


def test_marts_that_exist_get_their_sections(reports: Reports, tmp_path: Path) -> None:
    warehouse = tmp_path / "wh.duckdb"
    shutil.copy(reports.warehouse, warehouse)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            """
            create or replace table main.alerts as
            select 'a-' || range as alert_id,
                   ['detractor', 'repeat_contact'][1 + range % 2] as alert_type,
                   'c-' || range as customer_id,
                   timestamptz '2025-06-01 00:00:00+00' + to_hours(range) as raised_at,
                   '{}' as details
            from range(7)
            """
        )
    finally:
        con.close()
    code, _ = quietly("report", "--warehouse", str(warehouse), "--out", str(tmp_path))
    assert code == 0

    page = load(
        tmp_path / "journey.html",
        {
            "consistency": "#consistency svg[data-chart=histogram]",
            "cx": "#cx svg[data-chart=bar]",
            "alerts": "#alerts svg[data-chart=bar] .mark",
        },
    )
    assert page.console_errors == [] and page.external_requests == []
    assert page.counts["consistency"] >= 3  # theme consistency, hard restarts, latencies …
    assert page.counts["cx"] >= 2  # NPS, CSAT, CES by stage
    assert page.counts["alerts"] == 2  # one bar per alert type


def test_report_commands_explain_a_missing_or_unpublished_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert journeyline("report", "--warehouse", str(missing)) == 2
        assert journeyline("quality", "--warehouse", str(missing)) == 2
    assert "does not exist" in err.getvalue() and "journeyline run" in err.getvalue()

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert journeyline("quality", "--warehouse", str(empty)) == 2
        assert journeyline("report", "--warehouse", str(empty)) == 2
    assert "no published run" in err.getvalue()
    assert "nothing to report on yet" in err.getvalue()
    assert "Traceback" not in err.getvalue()
