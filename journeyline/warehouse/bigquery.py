"""Write-audit-publish on BigQuery: load the lake attempt, dbt into staging, check, copy.

1. **Load** (write): the Beam job's lake attempt (Parquet, local or ``gs://``) is loaded
   into ``warehouse.lake_dataset`` by BigQuery load jobs — free, and each table replaced
   atomically — with the timeline partitioned by ``event_date`` and clustered by
   ``customer_id``; the run log into ``warehouse.ops_dataset``. The lake stays the
   incremental state: BigQuery always holds exactly the attempt being audited.
2. **Build**: dbt-bigquery builds the marts into ``warehouse.staging_schema``.
3. **Audit**: the gates read only the columns they need from the staging tables through
   the BigQuery client (Storage Read API) into an in-memory DuckDB, and run unchanged
   (Great Expectations validates the pandas frames).
4. **Publish**: table copy jobs (free, metadata only) replace each published table in
   ``warehouse.schema``; each table atomically, in a fixed order.

Credentials come from Application Default Credentials (or a token in the environment);
``JOURNEYLINE_BQ_API_ENDPOINT`` points every client at a BigQuery emulator (tests).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from journeyline.config import Config
from journeyline.errors import PipelineError
from journeyline.ops import OPS_SCHEMAS
from journeyline.quality import CheckResult, run_gates
from journeyline.quality.gates import CATALOG
from journeyline.schema import (
    IDENTITY_CONFLICTS_SCHEMA,
    IDENTITY_MAP_SCHEMA,
    IDENTITY_MERGES_SCHEMA,
    QUARANTINE_SCHEMA,
    SOURCE_STATS_SCHEMA,
    TIMELINE_SCHEMA,
)
from transforms.alerts import ALERT_SCHEMA

ENDPOINT_ENV = "JOURNEYLINE_BQ_API_ENDPOINT"
TOKEN_ENV = "JOURNEYLINE_BQ_TOKEN"

LAKE_SCHEMAS: dict[str, pa.Schema] = {
    "timeline": TIMELINE_SCHEMA,
    "identity_map": IDENTITY_MAP_SCHEMA,
    "identity_merges": IDENTITY_MERGES_SCHEMA,
    "identity_conflicts": IDENTITY_CONFLICTS_SCHEMA,
    "quarantine": QUARANTINE_SCHEMA,
    "source_stats": SOURCE_STATS_SCHEMA,
}
# (partition column, clustering columns) of the loaded tables.
LAYOUT: dict[str, tuple[str | None, list[str]]] = {
    "timeline": ("event_date", ["customer_id", "event_seq"]),
    "identity_map": (None, ["customer_id"]),
    "identity_merges": (None, ["into_customer_id"]),
    "identity_conflicts": (None, ["customer_id"]),
    "quarantine": ("received_at", ["source", "reason_code"]),
}
_KEY_VALUE = ("key", "value")


def _import_bigquery() -> Any:
    try:
        from google.cloud import bigquery
    except ImportError:  # pragma: no cover - part of the [warehouse] extra
        raise PipelineError(
            "warehouse.type is bigquery but google-cloud-bigquery is not installed",
            "pip install -c constraints.txt -e '.[warehouse]'",
        ) from None
    return bigquery


def emulated() -> bool:
    """True when the clients talk to a BigQuery emulator (no Storage API, no auth)."""
    return bool(os.environ.get(ENDPOINT_ENV))


def client(config: Config) -> Any:
    """A BigQuery client: ADC (or the emulator named by JOURNEYLINE_BQ_API_ENDPOINT)."""
    bigquery = _import_bigquery()
    wh = config.warehouse
    if emulated():
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=wh.project,
            location=wh.location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=os.environ[ENDPOINT_ENV]),
        )
    return bigquery.Client(project=wh.project, location=wh.location)


def bq_schema(schema: pa.Schema) -> list[Any]:
    """BigQuery columns for an Arrow schema (a map becomes ARRAY<STRUCT<key, value>>)."""
    bigquery = _import_bigquery()
    field_type = bigquery.SchemaField
    out = []
    for f in schema:
        t = f.type
        if pa.types.is_map(t):
            out.append(
                field_type(
                    f.name,
                    "RECORD",
                    mode="REPEATED",
                    fields=[field_type(name, "STRING") for name in _KEY_VALUE],
                )
            )
            continue
        if pa.types.is_string(t):
            kind = "STRING"
        elif pa.types.is_integer(t):
            kind = "INT64"
        elif pa.types.is_floating(t):
            kind = "FLOAT64"
        elif pa.types.is_boolean(t):
            kind = "BOOL"
        elif pa.types.is_timestamp(t):
            kind = "TIMESTAMP"
        elif pa.types.is_date(t):
            kind = "DATE"
        elif pa.types.is_decimal(t):
            kind = "NUMERIC"
        else:
            raise PipelineError(f"column {f.name} has a type BigQuery tables do not take: {t}")
        out.append(field_type(f.name, kind, mode="NULLABLE" if f.nullable else "REQUIRED"))
    return out


def loadable(table: pa.Table) -> pa.Table:
    """Arrow columns as a Parquet load takes them: maps as lists of key/value structs,
    unsigned integers as INT64."""
    columns = []
    for f in table.schema:
        column = table.column(f.name)
        if pa.types.is_map(f.type):
            entry = pa.struct([(name, pa.string()) for name in _KEY_VALUE])
            chunks = [
                pa.ListArray.from_arrays(
                    chunk.offsets,
                    pa.StructArray.from_arrays([chunk.keys, chunk.items], list(_KEY_VALUE)),
                    mask=chunk.is_null(),
                )
                for chunk in column.chunks
            ]
            column = pa.chunked_array(chunks, pa.list_(entry))
        elif pa.types.is_unsigned_integer(f.type):
            column = column.cast(pa.int64())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.schema.names)


def _table_ref(config: Config, dataset: str, table: str) -> str:
    return f"{config.warehouse.project}.{dataset}.{table}"


def ensure_dataset(bq: Any, config: Config, dataset: str) -> None:
    bigquery = _import_bigquery()
    ds_ref = bigquery.Dataset(f"{config.warehouse.project}.{dataset}")
    ds_ref.location = config.warehouse.location
    bq.create_dataset(ds_ref, exists_ok=True)


def recreate_table(bq: Any, ref: str, schema: pa.Schema, name: str) -> Any:
    """Drop and create ``ref`` with the table's columns, partitioning and clustering."""
    bigquery = _import_bigquery()
    table = bigquery.Table(ref, schema=bq_schema(schema))
    partition, cluster = LAYOUT.get(name, (None, []))
    if partition:
        table.time_partitioning = bigquery.TimePartitioning(
            type_=bigquery.TimePartitioningType.DAY, field=partition
        )
    if cluster:
        table.clustering_fields = cluster
    bq.delete_table(ref, not_found_ok=True)
    return bq.create_table(table)


def load_folder(bq: Any, ref: str, folder: str, schema: pa.Schema, name: str) -> int:
    """Replace table ``ref`` with every Parquet file below ``folder`` (one load job)."""
    bigquery = _import_bigquery()
    recreate_table(bq, ref, schema, name)
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.PARQUET,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
        schema=bq_schema(schema),
    )
    if folder.startswith("gs://"):
        options = bigquery.ParquetOptions()
        options.map_target_type = "ARRAY_OF_STRUCT"
        options.enable_list_inference = True
        config.parquet_options = options
        job = bq.load_table_from_uri(f"{folder.rstrip('/')}/*", ref, job_config=config)
        job.result()
        return int(bq.get_table(ref).num_rows or 0)
    files = sorted(str(p) for p in Path(folder).rglob("*.parquet"))
    table = ds.dataset(files, format="parquet", schema=schema).to_table() if files else None
    if table is None or table.num_rows == 0:
        return 0
    with tempfile.TemporaryFile() as handle:
        pq.write_table(loadable(table), handle, compression="zstd")
        handle.seek(0)
        bq.load_table_from_file(handle, ref, job_config=config).result()
    return table.num_rows


def in_bucket(config: Config, folder: str | Path) -> str:
    """A lake folder as BigQuery can load it: its gs:// URI when the lake is a mounted
    bucket (``lake_uri``), so the load reads Cloud Storage directly, else the folder."""
    folder, local = str(folder), config.lake.rstrip("/")
    if config.lake_uri and folder.startswith(local):
        return config.lake_uri.rstrip("/") + folder[len(local) :]
    return folder


def load_lake(config: Config, attempt_path: str | Path, ops_path: str | Path) -> dict[str, int]:
    """Load one lake attempt, the stream's alerts (unless the stream writes them to
    BigQuery itself) and the run log into the lake and ops datasets."""
    wh = config.warehouse
    loaded = {}
    try:
        bq = client(config)
        ensure_dataset(bq, config, wh.lake_dataset)
        for name, schema in LAKE_SCHEMAS.items():
            ref = _table_ref(config, wh.lake_dataset, name)
            folder = in_bucket(config, f"{attempt_path}/{name}")
            loaded[name] = load_folder(bq, ref, folder, schema, name)
        if not config.streaming.bigquery_dataset:  # else the stream writes `alerts` itself
            ref = _table_ref(config, wh.lake_dataset, "alerts")
            folder = in_bucket(config, f"{config.streaming.output.rstrip('/')}/alerts")
            loaded["alerts"] = load_folder(bq, ref, folder, ALERT_SCHEMA, "alerts")
        loaded.update(load_ops(config, ops_path, bq))
    except PipelineError:
        raise
    except Exception as exc:  # API errors carry the reason in their text
        raise _api_error("loading the lake into BigQuery", exc) from None
    return loaded


def load_ops(config: Config, ops_path: str | Path, bq: Any | None = None) -> dict[str, int]:
    """Load the run log (every run's pipeline_runs, source_runs, dq_results)."""
    try:
        bq = bq or client(config)
        ensure_dataset(bq, config, config.warehouse.ops_dataset)
        return _load_ops(config, ops_path, bq)
    except PipelineError:
        raise
    except Exception as exc:
        raise _api_error("loading the run log into BigQuery", exc) from None


def _load_ops(config: Config, ops_path: str | Path, bq: Any) -> dict[str, int]:
    return {
        name: load_folder(
            bq,
            _table_ref(config, config.warehouse.ops_dataset, name),
            in_bucket(config, f"{ops_path}/{name}"),
            schema,
            name,
        )
        for name, schema in OPS_SCHEMAS.items()
    }


def dbt_settings(config: Config) -> tuple[dict[str, Any], dict[str, str]]:
    """dbt vars and environment for the bigquery target (no secret in either, except a
    token the caller already has in its environment)."""
    wh = config.warehouse
    env = {
        "JOURNEYLINE_BQ_PROJECT": wh.project or "",
        "JOURNEYLINE_DBT_SCHEMA": wh.staging_schema,
        "JOURNEYLINE_BQ_LOCATION": wh.location,
        # oauth = Application Default Credentials; oauth-secrets = a token from the environment.
        "JOURNEYLINE_BQ_METHOD": "oauth-secrets"
        if emulated() or os.environ.get(TOKEN_ENV)
        else "oauth",
    }
    if emulated():
        env["JOURNEYLINE_BQ_API_ENDPOINT"] = os.environ[ENDPOINT_ENV]
        env.setdefault(TOKEN_ENV, os.environ.get(TOKEN_ENV, "emulator-needs-no-token"))
    variables = {"lake_dataset": wh.lake_dataset, "ops_dataset": wh.ops_dataset}
    return variables, env


def fetch(bq: Any, sql: str) -> pa.Table:
    """A query result as Arrow (Storage Read API on BigQuery; REST pages on the emulator)."""
    return bq.query(sql).to_arrow(create_bqstorage_client=not emulated())


def _needed_columns() -> dict[str, set[str]]:
    needed: dict[str, set[str]] = {}
    for spec in CATALOG:  # every gate: the row checks and the join guards
        for table, columns in spec.requires.items():
            needed.setdefault(table, set()).update(columns)
    return needed


def gate_tables(config: Config, schema: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the columns the gates read from the staging dataset."""
    bq = client(config)
    con = duckdb.connect()
    con.execute(f'create schema "{schema}"')
    for table, columns in sorted(_needed_columns().items()):
        ref = _table_ref(config, config.warehouse.staging_schema, table)
        try:
            data = fetch(bq, f"select {', '.join(sorted(columns))} from `{ref}`")
        except Exception:  # a missing table or column: the check that needs it says so
            continue
        con.register("_incoming", data)
        con.execute(f'create table "{schema}"."{table}" as select * from _incoming')
        con.unregister("_incoming")
    return con


def check_staging(config: Config, run_id: str) -> list[CheckResult]:
    """The quality gates over the staging dataset."""
    schema = config.warehouse.staging_schema
    try:
        con = gate_tables(config, schema)
    except Exception as exc:
        raise _api_error("reading the staging dataset for the quality gates", exc) from None
    try:
        return run_gates(con, schema, run_id, config)
    finally:
        con.close()


def stage_summary(config: Config) -> tuple[int, dict[str, int], dict[str, int]]:
    """Customers, customers per current stage and the funnel totals of the staging dataset."""
    staging = f"{config.warehouse.project}.{config.warehouse.staging_schema}"
    try:
        bq = client(config)
        customers = fetch(bq, f"select count(*) as n from `{staging}.customers`")["n"][0].as_py()
        stages = fetch(
            bq,
            f"select current_stage, count(*) as n from `{staging}.customers` group by 1",
        ).to_pylist()
        funnel = fetch(
            bq,
            "select stage, sum(customers_reached) as n "
            f"from `{staging}.fct_journey_funnel` where dimension = 'all' group by 1",
        ).to_pylist()
    except Exception as exc:
        raise _api_error("summarising the staging dataset", exc) from None
    reached = {row["stage"]: int(row["n"] or 0) for row in funnel}
    ordered = {s: reached.get(s, 0) for s in config.stages.order}
    by_stage = {row["current_stage"]: int(row["n"]) for row in stages}
    return int(customers or 0), dict(sorted(by_stage.items(), key=lambda kv: -kv[1])), ordered


def publish(config: Config, tables: Iterable[str]) -> None:
    """Copy each staging table over its published table (copy jobs, WRITE_TRUNCATE)."""
    bigquery = _import_bigquery()
    wh = config.warehouse
    try:
        bq = client(config)
        ensure_dataset(bq, config, wh.schema)
        for name in tables:
            source = bq.get_table(_table_ref(config, wh.staging_schema, name))
            target = _table_ref(config, wh.schema, name)
            _drop_if_layout_differs(bq, target, source)
            job = bq.copy_table(
                source,
                target,
                job_config=bigquery.CopyJobConfig(
                    write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE
                ),
            )
            job.result()
    except Exception as exc:
        raise _api_error(f"publishing to dataset {wh.schema!r}", exc) from None


def _drop_if_layout_differs(bq: Any, target: str, source: Any) -> None:
    """A copy cannot change a table's partitioning or clustering: drop the old table then."""
    from google.api_core.exceptions import NotFound

    try:
        current = bq.get_table(target)
    except NotFound:
        return
    old = (current.time_partitioning and current.time_partitioning.field, current.clustering_fields)
    new = (source.time_partitioning and source.time_partitioning.field, source.clustering_fields)
    if old != new:
        bq.delete_table(target, not_found_ok=True)


def read_table(config: Config, dataset: str, table: str) -> pa.Table:
    """A whole table as Arrow (tests and `journeyline forget`)."""
    return fetch(client(config), f"select * from `{_table_ref(config, dataset, table)}`")


def _api_error(doing: str, exc: Exception) -> PipelineError:
    text = str(exc).strip().splitlines()
    first = text[0][:400] if text else type(exc).__name__
    return PipelineError(
        f"BigQuery failed while {doing}: {first}",
        "check warehouse.project / location and that the credentials (Application Default "
        "Credentials) hold the roles listed in deploy/README.md",
    )
