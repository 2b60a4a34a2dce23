"""Events in flight in the stream: one element per event, stamped with its event time.

Heavy steps take Arrow tables; the stream moves single events between them because each
needs its own event-time timestamp (``occurred_at``). Rows use the in-flight schema of
the batch job (``EVENT_SCHEMA``) with timestamps as µs since the epoch, so a row goes
back into a table without conversion.

Windows are epoch-aligned fixed windows (what ``beam.window.FixedWindows(size)`` assigns):
an event at ``t`` belongs to ``[t - t % size, t - t % size + size)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import Enum
from typing import Any

import orjson
import pyarrow as pa
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from journeyline.schema import EVENT_SCHEMA, TIMESTAMP
from transforms.alerts import iso

_FLAT = pa.schema([f.with_type(pa.int64()) if f.type == TIMESTAMP else f for f in EVENT_SCHEMA])


class Lateness(Enum):
    """Where an event stands against the watermark the stream has observed."""

    ON_TIME = "on_time"  # its window has not fired yet
    LATE = "late"  # its window fired, but within the allowed lateness: re-fired
    TOO_LATE = "too_late"  # beyond the allowed lateness: the late-data output


def window_end(micros: int, size: int) -> int:
    """End (exclusive, µs) of the fixed window holding ``micros``."""
    return micros - micros % size + size


def lateness(micros: int, watermark: int | None, size: int, allowed: int) -> Lateness:
    """Classify an event by its window's end against the observed ``watermark``."""
    end = window_end(micros, size)
    if watermark is None or end > watermark:
        return Lateness.ON_TIME
    return Lateness.LATE if end + allowed > watermark else Lateness.TOO_LATE


def event_rows(table: pa.Table) -> list[dict[str, Any]]:
    """An event table as rows (timestamps as µs since the epoch)."""
    return table.select(EVENT_SCHEMA.names).cast(_FLAT).to_pylist()


def events_table(rows: Iterable[dict[str, Any]]) -> pa.Table:
    """Rows back as an event table (EVENT_SCHEMA)."""
    return pa.Table.from_pylist(list(rows), schema=_FLAT).cast(EVENT_SCHEMA)


def timestamped(table: pa.Table) -> Iterator[TimestampedValue]:
    """Each event of a table as an element stamped with its occurred_at."""
    for row in event_rows(table):
        yield TimestampedValue(row, Timestamp(micros=row["occurred_at"]))


def canonical_json(row: dict[str, Any]) -> bytes:
    """An event row as one canonical JSON line (what the batch sources read back)."""
    out = {
        k: v
        for k, v in row.items()
        if v is not None and k not in ("input_source", "record_hash", "identifiers")
    }
    out["occurred_at"] = iso(row["occurred_at"])
    out["received_at"] = iso(row["received_at"])
    out["identifiers"] = dict(row["identifiers"])
    if row.get("properties"):
        out["properties"] = orjson.loads(row["properties"])
    if row.get("amount") is not None:
        out["amount"] = str(row["amount"])
    return orjson.dumps(out, option=orjson.OPT_SORT_KEYS)
