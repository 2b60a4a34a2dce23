"""Reading configured sources: files → canonical event tables, quarantine tables, counts.

One ``ParseSourceFile`` call reads one file of one source through the source's
adapter, runs every record through the shared ``RowContract`` and emits Arrow
tables: accepted events on the main output, rejected inputs (with reason code,
reason and location) on the ``quarantine`` output, and one count record per file
on the ``stats`` output, so reconciliation is computed from data, not from logs.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
import orjson
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from journeyline.config import Config, SourceConfig
from journeyline.progress import READS
from journeyline.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA
from transforms.batches import BatchBuilder
from transforms.contract import Accepted, Rejection, RowContract, to_micros

QUARANTINE = "quarantine"
STATS = "stats"
_LOG = logging.getLogger("journeyline.read")


@dataclass(frozen=True)
class InputFile:
    """One file of one configured source, as listed when the pipeline was built."""

    source: str
    path: str
    size: int
    mtime: float


@dataclass(frozen=True)
class RawRecord:
    """One input record: its text (for quarantine), where it was, and what it parsed to."""

    raw: str
    location: str
    value: Any


def read_canonical_lines(path: str, max_raw_bytes: int) -> Iterator[RawRecord]:
    """Canonical JSON lines: one object per non-blank line; bad lines become rejections."""
    with FileSystems.open(path) as handle:
        stream = io.BufferedReader(handle) if not isinstance(handle, io.BufferedReader) else handle
        for number, line in enumerate(stream, start=1):
            data = line.rstrip(b"\r\n")
            if not data.strip():
                continue
            location = f"{path}:{number}"
            raw = data.decode("utf-8", errors="replace")
            if len(data) > max_raw_bytes:
                yield RawRecord(
                    raw[:max_raw_bytes],
                    location,
                    Rejection("oversized_record", f"the line has {len(data)} bytes"),
                )
                continue
            try:
                data.decode("utf-8")
                value: Any = orjson.loads(data)
            except UnicodeDecodeError:
                value = Rejection("malformed_json", "the line is not valid UTF-8")
            except orjson.JSONDecodeError as exc:
                value = Rejection("malformed_json", f"invalid JSON: {exc.msg} at {exc.pos}")
            yield RawRecord(raw, location, value)


ADAPTERS = {"canonical": read_canonical_lines}


def record_hash(raw: str) -> int:
    """An unsigned 64-bit content hash, used to break event_id ties deterministically."""
    return int.from_bytes(hashlib.blake2b(raw.encode(), digest_size=8).digest(), "little")


class ParseSourceFile(beam.DoFn):
    """Parse one input file into accepted event tables, quarantine tables and a count record."""

    def __init__(self, config: Config, run_id: str) -> None:
        self.config = config
        self.run_id = run_id
        self.lines = Metrics.counter("read", "input_records")
        self.rejected = Metrics.counter("read", "quarantined_records")

    def setup(self) -> None:
        self.sources: dict[str, SourceConfig] = {s.name: s for s in self.config.sources}
        self.contracts = {s.name: RowContract(self.config, s) for s in self.config.sources}

    def process(self, item: InputFile) -> Iterator[Any]:
        source = self.sources[item.source]
        contract = self.contracts[item.source]
        adapter = ADAPTERS[source.format]
        batch_rows = self.config.pipeline.batch_rows
        mtime = datetime.fromtimestamp(item.mtime, tz=UTC)
        mtime_us = to_micros(mtime)
        events = BatchBuilder(EVENT_SCHEMA, batch_rows)
        rejects = BatchBuilder(QUARANTINE_SCHEMA, batch_rows)
        stats = {
            "source": item.source,
            "input_count": 0,
            "quarantined_count": 0,
            "identifiers_dropped": 0,
            "max_occurred_at": None,
            "max_received_at": None,
        }
        for record in adapter(item.path, self.config.contract.max_raw_bytes):
            stats["input_count"] += 1
            outcome = (
                record.value
                if isinstance(record.value, Rejection)
                else contract.check(record.value, mtime)
            )
            if isinstance(outcome, Accepted):
                row = outcome.row
                row["input_source"] = item.source
                row["record_hash"] = record_hash(record.raw)
                stats["identifiers_dropped"] += outcome.identifiers_dropped
                stats["max_occurred_at"] = max(stats["max_occurred_at"] or 0, row["occurred_at"])
                stats["max_received_at"] = max(stats["max_received_at"] or 0, row["received_at"])
                full = events.append(row)
                if full is not None:
                    yield full
            else:
                stats["quarantined_count"] += 1
                full = rejects.append(
                    {
                        "run_id": self.run_id,
                        "source": item.source,
                        "reason_code": outcome.code,
                        "reason": outcome.reason,
                        "raw": record.raw,
                        "received_at": mtime_us,
                        "location": record.location,
                    }
                )
                if full is not None:
                    yield beam.pvalue.TaggedOutput(QUARANTINE, full)
        for table in (events.flush(),):
            if table is not None:
                yield table
        table = rejects.flush()
        if table is not None:
            yield beam.pvalue.TaggedOutput(QUARANTINE, table)
        self.lines.inc(stats["input_count"])
        self.rejected.inc(stats["quarantined_count"])
        READS.file_done(stats["input_count"])
        _LOG.info(
            "read %s: %d records, %d quarantined",
            item.path,
            stats["input_count"],
            stats["quarantined_count"],
        )
        yield beam.pvalue.TaggedOutput(STATS, stats)


class ReadSources(beam.PTransform):
    """Files of the configured sources → accepted events, quarantine and per-file counts."""

    def __init__(self, config: Config, run_id: str, files: list[InputFile]) -> None:
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.files = files

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple:
        return (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles"
            >> beam.ParDo(ParseSourceFile(self.config, self.run_id)).with_outputs(
                QUARANTINE, STATS, main="events"
            )
        )
