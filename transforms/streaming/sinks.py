"""Where the stream's outputs land: Parquet/JSON lines under ``streaming.output`` (a local
folder or gs://), BigQuery tables and a Pub/Sub topic in the cloud.

Layout of the output folder (every file named by the stream run and a revision or a hash
of its content, so a file is written once and re-runs never overwrite each other)::

    timeline/<run>-r<revision>.parquet   changed timeline rows, one file per window firing
    alerts/<run>-<hash>.parquet          the `alerts` table (SPEC §6) the warehouse reads
    alerts.jsonl                         the alert sink: one JSON line per alert (local)
    late/<source>/<run>-<hash>.jsonl     events beyond the allowed lateness, canonical JSON
    quarantine/<run>-<hash>.parquet      rejected inputs, with reason codes
    identity_merges/<run>-<hash>.parquet merges the stream found (older id survives)
    archive/<source>/<run>-<hash>.jsonl  raw Pub/Sub or Kafka messages, for the batch job
    runs/<run>.counts.json               the run's cumulative counts (replaced each firing)
    runs/<run>.json                      local runs: files read, watermark, input counts

The current timeline is, per event_id, the row of the highest (run, revision).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import apache_beam as beam
import orjson
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from journeyline.schema import IDENTITY_MERGES_SCHEMA, QUARANTINE_SCHEMA
from transforms.alerts import ALERT_SCHEMA
from transforms.sinks import write_parquet
from transforms.streaming.events import canonical_json

ALERTS_JSONL = "alerts.jsonl"


def _name(rows: list[dict[str, Any]], key: str) -> str:
    """A short stable name for a batch of rows (hash of their keys)."""
    digest = hashlib.blake2b(digest_size=6)
    for row in rows:
        digest.update(str(row[key]).encode())
    return digest.hexdigest()


def _ensure(folder: str) -> None:
    if not FileSystems.exists(folder):
        FileSystems.mkdirs(folder)


class WriteRevision(beam.DoFn):
    """A timeline revision → ``timeline/<run>-r<revision>.parquet``."""

    def __init__(self, output: str) -> None:
        self.output = output

    def process(self, table: pa.Table) -> Iterator[str]:
        run = table.column("stream_run_id")[0].as_py()
        revision = table.column("revision")[0].as_py()
        folder = f"{self.output}/timeline"
        _ensure(folder)
        yield write_parquet(table, f"{folder}/{run}-r{revision:07d}.parquet")


class WriteAlerts(beam.DoFn):
    """Alerts of one firing → a Parquet file of the `alerts` table and, for a local output,
    one JSON line each appended to the alert sink ``alerts.jsonl``."""

    def __init__(self, output: str, run_id: str) -> None:
        self.output = output
        self.run_id = run_id

    def process(self, alerts: list[dict[str, Any]]) -> Iterator[str]:
        folder = f"{self.output}/alerts"
        _ensure(folder)
        table = pa.Table.from_pylist(alerts, schema=ALERT_SCHEMA)
        yield write_parquet(table, f"{folder}/{self.run_id}-{_name(alerts, 'alert_id')}.parquet")
        if "://" not in self.output:
            with open(Path(self.output) / ALERTS_JSONL, "ab") as sink:
                for alert in alerts:
                    sink.write(orjson.dumps(alert_message(alert)) + b"\n")
                sink.flush()


def alert_message(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as a message for people and systems: times as ISO text, details as JSON."""
    raised = datetime.fromtimestamp(alert["raised_at"] / 1e6, tz=UTC)
    return {
        **alert,
        "raised_at": raised.isoformat().replace("+00:00", "Z"),
        "details": json.loads(alert["details"]),
    }


class WriteLate(beam.DoFn):
    """Events beyond the allowed lateness → canonical JSON lines, one file per source."""

    def __init__(self, output: str, run_id: str) -> None:
        self.output = output
        self.run_id = run_id

    def process(self, rows: list[dict[str, Any]]) -> Iterator[str]:
        by_source: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_source.setdefault(row["input_source"], []).append(row)
        for source, mine in sorted(by_source.items()):
            folder = f"{self.output}/late/{source}"
            _ensure(folder)
            path = f"{folder}/{self.run_id}-{_name(mine, 'event_id')}.jsonl"
            with FileSystems.create(path) as handle:
                handle.write(b"".join(canonical_json(r) + b"\n" for r in mine))
            yield path


class WriteTable(beam.DoFn):
    """Tables (or lists of rows) of one schema → ``<folder>/<run>-<n>.parquet``."""

    def __init__(self, folder: str, run_id: str, schema: pa.Schema, key: str) -> None:
        self.folder = folder
        self.run_id = run_id
        self.schema = schema
        self.key = key

    def process(self, value: pa.Table | list[dict[str, Any]]) -> Iterator[str]:
        table = (
            value.select(self.schema.names).cast(self.schema)
            if isinstance(value, pa.Table)
            else pa.Table.from_pylist(value, schema=self.schema)
        )
        _ensure(self.folder)
        name = _name(table.select([self.key]).to_pylist(), self.key)
        yield write_parquet(table, f"{self.folder}/{self.run_id}-{name}.parquet")


def quarantine_sink(output: str, run_id: str) -> WriteTable:
    return WriteTable(f"{output}/quarantine", run_id, QUARANTINE_SCHEMA, "location")


def merges_sink(output: str, run_id: str) -> beam.PTransform:
    """Merges → identity_merges Parquet (merged_at: when the stream found them)."""

    def rows(merge: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**merge, "merged_at": datetime.now(UTC), "run_id": run_id}]

    return beam.Map(rows) | beam.ParDo(
        WriteTable(
            f"{output}/identity_merges", run_id, IDENTITY_MERGES_SCHEMA, "merged_customer_id"
        )
    )


class WriteCounts(beam.DoFn):
    """The run's cumulative counts → ``runs/<run>.counts.json`` (replaced each firing)."""

    def __init__(self, output: str, run_id: str) -> None:
        self.output = output
        self.run_id = run_id

    def process(self, counts: dict[str, Any]) -> Iterator[str]:
        folder = f"{self.output}/runs"
        _ensure(folder)
        path = f"{folder}/{self.run_id}.counts.json"
        with FileSystems.create(path) as handle:
            handle.write(orjson.dumps(counts, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2))
        yield path
