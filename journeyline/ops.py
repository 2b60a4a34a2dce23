"""The run log in the lake: one file per run for pipeline_runs, source_runs and dq_results.

Each run owns ``_ops/<table>/<run_id>.parquet``; a re-run of the same run id
replaces its own files (so history stays one row per run and check) and never
touches another run's. dbt reads the folders as the `ops` source.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from journeyline.lake import Lake
from journeyline.schema import DQ_RESULTS_SCHEMA, PIPELINE_RUNS_SCHEMA, SOURCE_STATS_SCHEMA

OPS_SCHEMAS = {
    "pipeline_runs": PIPELINE_RUNS_SCHEMA,
    "source_runs": SOURCE_STATS_SCHEMA,
    "dq_results": DQ_RESULTS_SCHEMA,
}


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file via a temp name and a rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def ensure_nonempty(folder: Path, schema: pa.Schema, name: str = "part-empty.parquet") -> None:
    """Give a table folder at least one (empty) file, so readers of a glob never fail."""
    if not any(folder.rglob("*.parquet")):
        write_atomic(schema.empty_table(), folder / name)


@dataclass
class RunRecord:
    """The pipeline_runs row of the current run, updated as the run goes."""

    run_id: str
    started_at: datetime
    lake_attempt: str
    attempt: int = 1
    status: str = "running"
    finished_at: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    customers_count: int | None = None
    message: str | None = None

    def row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "input_count": self.counts.get("input_count"),
            "accepted_count": self.counts.get("accepted_count"),
            "quarantined_count": self.counts.get("quarantined_count"),
            "duplicate_count": self.counts.get("duplicate_count"),
            "customers_count": self.customers_count,
            "attempt": self.attempt,
            "lake_attempt": self.lake_attempt,
            "message": self.message,
        }


class RunLog:
    """Reads and writes the `_ops` tables of one lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        lake.ensure_ops()
        for table, schema in OPS_SCHEMAS.items():
            ensure_nonempty(lake.ops_table(table), schema, "_empty.parquet")

    def previous_attempts(self, run_id: str) -> int:
        path = self.lake.ops_file("pipeline_runs", run_id)
        if not path.is_file():
            return 0
        attempts = pq.read_table(path, columns=["attempt"]).column("attempt").to_pylist()
        return max(attempts, default=0)

    def write_run(self, record: RunRecord) -> None:
        table = pa.Table.from_pylist([record.row()], schema=PIPELINE_RUNS_SCHEMA)
        write_atomic(table, self.lake.ops_file("pipeline_runs", record.run_id))

    def write(self, table_name: str, run_id: str, table: pa.Table) -> None:
        schema = OPS_SCHEMAS[table_name]
        write_atomic(
            table.select(schema.names).cast(schema), self.lake.ops_file(table_name, run_id)
        )
