"""End to end on BigQuery (the emulator): the same input gives the same marts as on DuckDB.

One small generated landing folder is run twice through `journeyline run`: into a DuckDB
file, and with ``warehouse.type: bigquery`` into the emulator (load jobs → dbt-bigquery
into the staging dataset → gates read through the BigQuery client → copy jobs into the
published dataset). Every published data table must hold the same rows.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from journeyline.cli import main
from journeyline.config import load_config
from journeyline.warehouse import bigquery
from journeyline.warehouse.publish import DATA_TABLES
from tests.warehouse.conftest import PROJECT

# BigQuery's percentiles are approximate (approx_quantiles): compared for presence only.
# Medians and percentiles are approx_quantiles on BigQuery (exact on DuckDB).
APPROXIMATE = {
    "fct_journey_funnel": {"median_days_from_previous", "p90_days_from_previous"},
    "fct_journey_paths": {"median_days_first_to_last"},
    "agg_journey_consistency": {"median_speed_to_lead_hours", "median_onboarding_start_days"},
}
# The run id fingerprints the configuration, whose warehouse block differs between the runs.
RUN_SPECIFIC = {"quarantine": {"run_id"}, "identity_merges": {"run_id", "merged_at"}}


@dataclass(frozen=True)
class Runs:
    duckdb_code: int
    bigquery_code: int
    warehouse: Path
    config: Path
    bigquery_out: str


def _cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(scope="module")
def runs(bq_emulator: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    work = tmp_path_factory.mktemp("bq_e2e")
    landing = work / "landing"
    assert (
        _cli("generate", "--out", str(landing), "--people", "120", "--seed", "5", "--days", "120")[
            0
        ]
        == 0
    )
    common = ["--input", str(landing), "--quiet"]
    duck_code, _ = _cli(
        "run", *common, "--warehouse", str(work / "wh.duckdb"), "--lake", str(work / "lake_duckdb")
    )
    config = work / "journeyline.yml"
    config.write_text(
        "warehouse:\n"
        "  type: bigquery\n"
        f"  project: {PROJECT}\n"
        "  schema: journeyline\n"
        "  staging_schema: journeyline_staging\n"
        f"lake: {work / 'lake_bigquery'}\n",
        encoding="utf-8",
    )
    os.environ[bigquery.ENDPOINT_ENV] = bq_emulator
    try:
        bq_code, out = _cli("run", "--config", str(config), *common)
        yield Runs(duck_code, bq_code, work / "wh.duckdb", config, out)
    finally:
        os.environ.pop(bigquery.ENDPOINT_ENV, None)


def _value(value: Any) -> Any:
    if isinstance(value, list):  # a map: DuckDB gives (k, v) tuples, BigQuery key/value dicts
        pairs = [(v["key"], v["value"]) if isinstance(v, dict) else tuple(v) for v in value]
        return tuple(sorted(pairs))
    if isinstance(value, Decimal):
        return round(float(value), 6)
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(table: pa.Table, skip: set[str]) -> list[tuple]:
    names = sorted(n for n in table.column_names if n not in skip)
    rows = [tuple(_value(row[n]) for n in names) for row in table.to_pylist()]
    return sorted(rows, key=repr)


def test_the_bigquery_run_publishes(runs: Runs) -> None:
    assert runs.duckdb_code == 0
    assert runs.bigquery_code == 0, runs.bigquery_out
    assert "PUBLISHED" in runs.bigquery_out


@pytest.mark.parametrize("table", DATA_TABLES)
def test_marts_on_bigquery_equal_the_duckdb_marts(runs: Runs, table: str) -> None:
    assert runs.bigquery_code == 0, runs.bigquery_out
    config = load_config(runs.config)
    con = duckdb.connect(str(runs.warehouse), read_only=True)
    try:
        expected = con.sql(f"select * from main.{table}").to_arrow_table()
    finally:
        con.close()
    actual = bigquery.read_table(config, config.warehouse.schema, table)
    assert sorted(actual.column_names) == sorted(expected.column_names)
    skip = APPROXIMATE.get(table, set())
    ignored = skip | RUN_SPECIFIC.get(table, set())
    assert actual.num_rows == expected.num_rows
    assert _rows(actual, ignored) == _rows(expected, ignored)
    for column in skip:  # approximate on BigQuery, but there exactly where DuckDB has one
        nulls = [v is None for v in actual.column(column).to_pylist()]
        assert sum(nulls) == expected.column(column).null_count


def test_the_loaded_timeline_is_partitioned_by_day_and_clustered_by_customer(runs: Runs) -> None:
    config = load_config(runs.config)
    bq = bigquery.client(config)
    loaded = bq.get_table(f"{PROJECT}.{config.warehouse.lake_dataset}.timeline")
    assert loaded.time_partitioning.field == "event_date"
    assert loaded.clustering_fields == ["customer_id", "event_seq"]
    # dbt's DDL sets the mart's clustering too; the emulator keeps only its partitioning.
    mart = bq.get_table(f"{PROJECT}.{config.warehouse.schema}.customer_timeline")
    assert mart.time_partitioning.field == "event_date"


def test_forget_erases_a_person_from_the_bigquery_tables(runs: Runs) -> None:
    """Last in this module: it changes the published tables the tests above compare."""
    config = load_config(runs.config)
    customers = bigquery.read_table(config, config.warehouse.schema, "customers")
    person = sorted(customers.column("customer_id").to_pylist())[0]
    code, out = _cli("forget", "--customer-id", person, "--config", str(runs.config), "--quiet")
    assert code == 0, out
    for table in ("customers", "customer_timeline", "identity_map"):
        rows = bigquery.read_table(config, config.warehouse.schema, table)
        assert person not in set(rows.column("customer_id").to_pylist()), table
    left = bigquery.read_table(config, config.warehouse.schema, "customers").num_rows
    assert left == customers.num_rows - 1
