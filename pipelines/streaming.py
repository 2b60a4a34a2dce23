"""The streaming job as a Beam pipeline: unbounded sources → the batch transforms in event
time → timeline revisions, alerts, late events.

``build_stream_pipeline`` returns the graph without running it, so the same graph runs on
the local streaming DirectRunner (a watched folder), builds for Dataflow (Pub/Sub or
Kafka, dry-run in tests), or is inspected. Only sources and sinks depend on where it runs:

    folder  → ReadLandingFeed ┐                       ┌→ Parquet / JSON lines (local, gs://)
    pubsub  → ReadPubSubSources ├→ StreamJourneys ────┤
    kafka   → ReadKafkaSources ┘   (contract, de-dup,  └→ BigQuery tables + Pub/Sub alerts
                                     identity, timeline, alerts, lateness)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import apache_beam as beam
import orjson
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from journeyline.config import Config
from transforms.alerts import ALERT_SCHEMA
from transforms.read import QUARANTINE
from transforms.streaming.advance import (
    ALERTS,
    COUNTS,
    LATE,
    MERGES,
    REVISION_SCHEMA,
    TIMELINE,
    PublishedState,
    StreamJourneys,
)
from transforms.streaming.sinks import (
    WriteAlerts,
    WriteCounts,
    WriteLate,
    WriteRevision,
    alert_message,
    merges_sink,
    quarantine_sink,
)
from transforms.streaming.sources import ReadLandingFeed, ReadMessageSources

_BIGQUERY_TYPES = {
    pa.string(): "STRING",
    pa.int64(): "INT64",
    pa.bool_(): "BOOL",
    pa.float64(): "FLOAT64",
    pa.date32(): "DATE",
}


@dataclass(frozen=True)
class StreamRun:
    """What one stream run reads and where it writes."""

    run_id: str
    output: str
    published: PublishedState = field(default_factory=PublishedState)
    feed_endpoint: str | None = None  # the local folder feed (streaming.input: folder)


def table_spec(dataset: str, table: str) -> str:
    """``project.dataset`` (as configured) and a table name → Beam's PROJECT:DATASET.TABLE."""
    project, name = dataset.split(".", 1)
    return f"{project}:{name}.{table}"


def bigquery_schema(schema: pa.Schema) -> str:
    """A BigQuery schema string for an Arrow schema (maps and JSON as STRING)."""
    fields = []
    for f in schema:
        if pa.types.is_timestamp(f.type):
            kind = "TIMESTAMP"
        elif pa.types.is_decimal(f.type):
            kind = "NUMERIC"
        else:
            kind = _BIGQUERY_TYPES.get(f.type, "STRING")
        fields.append(f"{f.name}:{kind}")
    return ",".join(fields)


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return json.dumps(dict(value), sort_keys=True)
    return value


def bigquery_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Table rows as BigQuery insert rows."""
    return [{k: _json_safe(v) for k, v in row.items()} for row in table.to_pylist()]


def _alert_rows(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return bigquery_rows(pa.Table.from_pylist(alerts, schema=ALERT_SCHEMA))


def _read(p: beam.Pipeline, config: Config, run: StreamRun) -> dict[str, beam.PCollection]:
    kind = config.streaming.input
    if kind in ("pubsub", "kafka"):
        archive = f"{run.output}/archive"
        return p | f"Read[{kind}]" >> ReadMessageSources(config, run.run_id, archive)
    if not run.feed_endpoint:
        raise ValueError("a folder input needs the endpoint of its feed")
    return p | "ReadLandingFolders" >> ReadLandingFeed(run.feed_endpoint)


def _to_bigquery(rows: beam.PCollection, table: str, schema: pa.Schema, label: str) -> None:
    _ = rows | f"WriteBigQuery[{label}]" >> beam.io.WriteToBigQuery(
        table,
        schema=bigquery_schema(schema),
        method=beam.io.WriteToBigQuery.Method.STREAMING_INSERTS,
        create_disposition=beam.io.BigQueryDisposition.CREATE_IF_NEEDED,
        write_disposition=beam.io.BigQueryDisposition.WRITE_APPEND,
    )


def build_stream_pipeline(
    config: Config, run: StreamRun, options: PipelineOptions
) -> beam.Pipeline:
    """The streaming job's pipeline graph (not yet run)."""
    out, run_id = run.output, run.run_id
    p = beam.Pipeline(options=options)
    inputs = _read(p, config, run)
    journeys = inputs["events"] | "StreamJourneys" >> StreamJourneys(config, run_id, run.published)

    dataset = config.streaming.bigquery_dataset
    if dataset:
        _to_bigquery(
            journeys[TIMELINE] | "TimelineRows" >> beam.FlatMap(bigquery_rows),
            table_spec(dataset, "stream_timeline"),
            REVISION_SCHEMA,
            "timeline",
        )
        _to_bigquery(
            journeys[ALERTS] | "AlertRows" >> beam.FlatMap(_alert_rows),
            table_spec(dataset, "alerts"),
            ALERT_SCHEMA,
            "alerts",
        )
    else:
        _ = journeys[TIMELINE] | "WriteTimeline" >> beam.ParDo(WriteRevision(out))
        _ = journeys[ALERTS] | "WriteAlerts" >> beam.ParDo(WriteAlerts(out, run_id))
    if config.streaming.alerts_topic:
        _ = (
            journeys[ALERTS]
            | "AlertMessages" >> beam.FlatMap(lambda alerts: alerts)
            | "AlertJson" >> beam.Map(lambda a: orjson.dumps(alert_message(a)))
            | "PublishAlerts" >> beam.io.WriteToPubSub(config.streaming.alerts_topic)
        )
    _ = journeys[LATE] | "WriteLate" >> beam.ParDo(WriteLate(out, run_id))
    _ = journeys[MERGES] | "WriteMerges" >> merges_sink(out, run_id)
    _ = journeys[COUNTS] | "WriteCounts" >> beam.ParDo(WriteCounts(out, run_id))
    _ = inputs[QUARANTINE] | "WriteQuarantine" >> beam.ParDo(quarantine_sink(out, run_id))
    return p
