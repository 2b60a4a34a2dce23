"""`journeyline quality`: re-run the gates on the *published* tables and build the DQ report.

The gates were written for the staging schema a run builds; here the same gates
read the published schema through views in an in-memory DuckDB that attaches
the warehouse read-only (``stg_lake__source_stats`` becomes the published run's
``source_runs`` rows, ``stg_ops__*`` the published run log). The results are
recorded as run ``quality-<published run_id>`` in the lake's ``_ops/dq_results``
and in the warehouse's ``dq_results``, so on-demand checks stay apart from the
checks a run made before publishing. dbt tests and the pipeline's own facts are
not re-run: they belong to a run and are in ``dq_results`` already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeyline.config import Config
from journeyline.errors import InputError, PipelineError
from journeyline.lake import Lake
from journeyline.ops import write_atomic
from journeyline.quality.data_docs import DataDocs, DataDocsError
from journeyline.quality.gates import run_gates
from journeyline.quality.results import CheckResult, to_arrow
from journeyline.reports.dq_report import QUALITY_PREFIX, build_dq_report
from journeyline.warehouse.publish import connect, quote

log = logging.getLogger(__name__)

CHECK_SCHEMA = "published_checks"
REPORT_NAME = "quality.html"
# name the gates read -> published table it is a view of
VIEWS = {
    "customer_timeline": "customer_timeline",
    "customers": "customers",
    "identity_map": "identity_map",
    "identity_conflicts": "identity_conflicts",
    "fct_journey_funnel": "fct_journey_funnel",
    "stg_lake__quarantine": "quarantine",
    "stg_ops__pipeline_runs": "pipeline_runs",
    "stg_ops__source_runs": "source_runs",
}


@dataclass(frozen=True)
class QualityOutcome:
    """What `journeyline quality` checked and wrote."""

    published_run_id: str
    run_id: str
    checks: list[CheckResult]
    report: Path
    data_docs: Path | None
    notes: tuple[str, ...] = ()

    @property
    def failing_errors(self) -> list[CheckResult]:
        return [c for c in self.checks if c.blocks_publish]


def _published_run(con: duckdb.DuckDBPyConnection, schema: str) -> str:
    try:
        row = con.execute(
            f"select run_id from wh.{quote(schema)}.pipeline_runs where status = 'published' "
            "order by finished_at desc nulls last, started_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        row = None
    if not row:
        raise InputError(
            "the warehouse holds no published run",
            "run `journeyline run` first (a blocked run publishes nothing to check)",
        )
    return str(row[0])


def attach_published(warehouse: str, schema: str) -> tuple[duckdb.DuckDBPyConnection, str]:
    """An in-memory DuckDB with the warehouse attached read-only and the gate views built."""
    if not Path(warehouse).is_file():
        raise InputError(
            f"the warehouse {warehouse} does not exist",
            "run `journeyline run` first, or pass --warehouse PATH",
        )
    con = duckdb.connect()
    try:
        con.execute("attach ? as wh (read_only)", [warehouse])
    except duckdb.Error as exc:
        con.close()
        raise PipelineError(
            f"cannot open the warehouse {warehouse}: {str(exc).splitlines()[0]}",
            "another process may hold it open for writing; close it and retry",
        ) from None
    run_id = _published_run(con, schema)
    present = {
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_schema = ?",
            [schema],
        ).fetchall()
    }
    con.execute(f"create schema {CHECK_SCHEMA}")
    for view, table in VIEWS.items():
        if table in present:
            con.execute(
                f"create view {CHECK_SCHEMA}.{view} as select * from wh.{quote(schema)}.{table}"
            )
    if "source_runs" in present:
        con.execute(
            f"create table {CHECK_SCHEMA}.stg_lake__source_stats as "
            f"select * from wh.{quote(schema)}.source_runs where run_id = ?",
            [run_id],
        )
    return con, run_id


def _record(config: Config, published: str, run_id: str, checks: list[CheckResult]) -> list[str]:
    """Append the results to the lake's run log and the warehouse's dq_results.

    The lake gets them only when its run log knows the published run: a lake that
    belongs to another warehouse is never written to.
    """
    notes = []
    rows = to_arrow(checks)
    lake = Lake.at(config.lake)
    if lake.ops_file("pipeline_runs", published).is_file():
        write_atomic(rows, lake.ops_file("dq_results", run_id))
    else:
        notes.append(
            f"the lake {lake.root} has no run {published}: results kept in the warehouse only "
            "(pass --lake to add them to the run log)"
        )
    con = connect(config.warehouse.path)
    target = f"{quote(config.warehouse.schema)}.dq_results"
    try:
        con.execute("begin transaction")
        con.execute(f"delete from {target} where run_id = ?", [run_id])
        con.register("new_results", rows)
        con.execute(f"insert into {target} by name select * from new_results")
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise PipelineError(f"could not record the results in {target}: {exc}") from None
    finally:
        con.close()
    return notes


def run_quality(config: Config, out_dir: Path, *, data_docs: bool = True) -> QualityOutcome:
    """Check the published tables, record the results, build Data Docs and the DQ report."""
    schema = config.warehouse.schema
    con, published = attach_published(config.warehouse.path, schema)
    run_id = f"{QUALITY_PREFIX}{published}"
    notes: list[str] = []
    docs: DataDocs | None = None
    try:
        if data_docs:
            try:
                docs = DataDocs(out_dir, out_dir / "data_docs")
            except DataDocsError as exc:
                notes.append(f"Data Docs skipped: {exc}")
        checks = run_gates(con, CHECK_SCHEMA, run_id, config, recorder=docs)
    finally:
        con.close()
    notes += _record(config, published, run_id, checks)
    index = None
    if docs is not None:
        try:
            index = docs.build()
        except DataDocsError as exc:
            notes.append(f"Data Docs skipped: {exc}")
    reader = connect(config.warehouse.path, read_only=True)
    try:
        report = build_dq_report(reader, schema, out_dir / REPORT_NAME, data_docs=index)
    finally:
        reader.close()
    return QualityOutcome(published, run_id, checks, report, index, tuple(notes))
