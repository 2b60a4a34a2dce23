"""Write-audit-publish on DuckDB: tables built and checked in a staging schema are copied to
the published schema in one transaction, so BI users see all of a run or none of it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from journeyline.errors import InputError, PipelineError

# Published only when every error-severity gate passed.
DATA_TABLES: tuple[str, ...] = (
    "customer_timeline",
    "identity_map",
    "identity_merges",
    "identity_conflicts",
    "customers",
    "quarantine",
    "fct_stage_transitions",
    "fct_journey_funnel",
    "fct_journey_fallout",
    "fct_journey_paths",
    "fct_journey_consistency",
    "agg_journey_consistency",
    "fct_survey_answers",
    "fct_cx_scores_by_stage",
    "fct_attribution",
    "alerts",
)
# The run log: published after every run, blocked or not, so a failure is visible.
OPS_TABLES: tuple[str, ...] = ("pipeline_runs", "source_runs", "dq_results")


def quote(identifier: str) -> str:
    """A DuckDB identifier in double quotes (names come from validated config or constants)."""
    return '"' + identifier.replace('"', '""') + '"'


def make_folder(path: str | Path) -> None:
    """Make the warehouse file's folder when it is missing (DuckDB, and dbt-duckdb, make the
    file but not its folder); an InputError naming it when it cannot be made."""
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot make the warehouse folder {folder}: {exc.strerror or exc}",
            "give --warehouse (or warehouse.path) a file in a folder that exists or can be "
            "made: no part of the path may be a file",
        ) from None


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its folder on first use."""
    if not read_only:
        make_folder(path)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise PipelineError(
            f"cannot open the warehouse {path}: {exc}",
            "another process may hold it open (close DuckDB sessions on this file) or "
            "the folder is not writable",
        ) from None


def publish(path: str | Path, staging: str, published: str, tables: tuple[str, ...]) -> None:
    """Copy ``tables`` from the staging schema to the published schema atomically."""
    con = connect(path)
    try:
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {quote(published)}")
        for table in tables:
            con.execute(
                f"create or replace table {quote(published)}.{quote(table)} as "
                f"select * from {quote(staging)}.{quote(table)}"
            )
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        raise PipelineError(f"publishing to schema {published!r} failed: {exc}") from None
    finally:
        con.close()


def table_checksum(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """An order-independent checksum of a table's content (for idempotency checks)."""
    rows = con.execute(
        f"select count(*), coalesce(sum(hash(t)), 0), coalesce(bit_xor(hash(t)), 0) "
        f"from {quote(schema)}.{quote(table)} as t"
    ).fetchone()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
