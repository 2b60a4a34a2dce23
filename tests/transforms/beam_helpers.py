"""Shared helpers for pipeline tests: a local TestPipeline and canonical event tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

from journeyline.schema import EVENT_SCHEMA
from transforms.batches import BatchBuilder
from transforms.contract import to_micros

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def local_pipeline() -> TestPipeline:
    return TestPipeline(options=PipelineOptions(["--runner=DirectRunner"]), blocking=True)


def event(
    event_id: str,
    identifiers: dict[str, str],
    *,
    minutes: int = 0,
    event_type: str = "page_viewed",
    stream: str = "marketing",
    received_minutes: int | None = None,
    input_source: str = "marketing",
    record_hash: int = 0,
    **fields: Any,
) -> dict[str, Any]:
    """One accepted event row in the in-flight schema."""
    occurred = T0 + timedelta(minutes=minutes)
    received = T0 + timedelta(minutes=minutes if received_minutes is None else received_minutes)
    return {
        "event_id": event_id,
        "source": "test",
        "stream": stream,
        "event_type": event_type,
        "occurred_at": to_micros(occurred),
        "received_at": to_micros(received),
        "identifiers": sorted(identifiers.items()),
        "input_source": input_source,
        "record_hash": record_hash,
        **fields,
    }


def events_table(rows: list[dict[str, Any]]) -> pa.Table:
    builder = BatchBuilder(EVENT_SCHEMA, batch_rows=10**9)
    for row in rows:
        builder.append(row)
    return builder.flush() or EVENT_SCHEMA.empty_table()
