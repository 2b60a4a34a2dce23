"""Reading configured sources: files → canonical event tables, quarantine tables, counts.

One ``ParseSourceFile`` call reads one file of one source through the source's
adapter, runs every record through the shared ``RowContract`` and emits Arrow
tables: accepted events on the main output, rejected inputs (with reason code,
reason and location) on the ``quarantine`` output, and one count record per file
on the ``stats`` output, so reconciliation is computed from data, not from logs.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from journeyline.config import Config, SourceConfig
from journeyline.progress import READS
from journeyline.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA
from transforms.adapters import file_records, records_from_rows, row_mapper
from transforms.adapters.bigquery import bigquery_tables, read_table, row_records
from transforms.adapters.rows import read_json_lines
from transforms.batches import BatchBuilder
from transforms.contract import Accepted, Rejection, RowContract, to_micros
from transforms.records import SKIPPED_ROW, InputFile, RawRecord

QUARANTINE = "quarantine"
STATS = "stats"
_LOG = logging.getLogger("journeyline.read")


# The benchmark path: canonical JSON lines, one object per non-blank line.
read_canonical_lines = read_json_lines

ADAPTERS = {"canonical": read_canonical_lines}


def source_records(
    config: Config, source: SourceConfig, item: InputFile, max_raw_bytes: int
) -> Iterator[RawRecord]:
    """The records of one input file: the canonical reader, else the source's adapter."""
    if source.format in ADAPTERS:
        return ADAPTERS[source.format](item.path, max_raw_bytes)
    return file_records(config, source, item, max_raw_bytes)


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
        records = source_records(self.config, source, item, self.config.contract.max_raw_bytes)
        received = datetime.fromtimestamp(item.mtime, tz=UTC)
        yield from self.parse(source, records, received, item.path)

    def parse(
        self, source: SourceConfig, records: Iterable[RawRecord], received: datetime, label: str
    ) -> Iterator[Any]:
        """Records of one source → event tables, quarantine tables (tagged) and a count record.

        ``received`` is the fallback received_at (a file's modification time).
        """
        contract = self.contracts[source.name]
        canonical = source.format == "canonical"
        batch_rows = self.config.pipeline.batch_rows
        mtime = received
        mtime_us = to_micros(mtime)
        events = BatchBuilder(EVENT_SCHEMA, batch_rows)
        rejects = BatchBuilder(QUARANTINE_SCHEMA, batch_rows)
        stats = {
            "source": source.name,
            "input_count": 0,
            "quarantined_count": 0,
            "identifiers_dropped": 0,
            "source_rows": 0,
            "skipped_rows": 0,
            "max_occurred_at": None,
            "max_received_at": None,
        }
        for record in records:
            stats["source_rows"] += record.rows
            if record.value is SKIPPED_ROW:
                stats["skipped_rows"] += 1
                continue
            stats["input_count"] += 1
            outcome = (
                record.value
                if isinstance(record.value, Rejection)
                else contract.check(record.value, mtime)
            )
            if isinstance(outcome, Accepted):
                row = outcome.row
                row["input_source"] = source.name
                row["input_file"] = label
                # A row that fans out shares its text: its location keeps the hashes apart.
                row["record_hash"] = record_hash(
                    record.raw if canonical else f"{record.location}\x1f{record.raw}"
                )
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
                        "source": source.name,
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
            label,
            stats["input_count"],
            stats["quarantined_count"],
        )
        yield beam.pvalue.TaggedOutput(STATS, stats)


class ParseBigQueryRows(ParseSourceFile):
    """Parse batches of rows of one BigQuery table, like the records of one file."""

    def __init__(
        self, config: Config, run_id: str, source: str, table: str, ref: str, received: datetime
    ) -> None:
        super().__init__(config, run_id)
        self.source_name = source
        self.table = table
        self.ref = ref
        self.received = received

    def setup(self) -> None:
        super().setup()
        source = self.sources[self.source_name]
        self.mapper = row_mapper(self.config, source, self.table)

    def process(self, rows: list[dict[str, Any]]) -> Iterator[Any]:
        records = row_records(rows, self.ref, self.config.contract.max_raw_bytes)
        source = self.sources[self.source_name]
        yield from self.parse(
            source, records_from_rows(records, self.mapper), self.received, self.ref
        )


class SourceOutputs(dict):
    """The outputs of several readers, flattened per tag (``.events``, ``[QUARANTINE]``)."""

    @property
    def events(self) -> beam.PCollection:
        return self["events"]


class ReadSources(beam.PTransform):
    """Files (and BigQuery tables) of the configured sources → accepted events, quarantine
    and per-file counts."""

    def __init__(
        self,
        config: Config,
        run_id: str,
        files: list[InputFile],
        received: datetime | None = None,
    ) -> None:
        """``received``: received_at of BigQuery rows (they have no file time); default now."""
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.files = files
        self.received = received or datetime.now(UTC).replace(microsecond=0)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple | SourceOutputs:
        files = (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles"
            >> beam.ParDo(ParseSourceFile(self.config, self.run_id)).with_outputs(
                QUARANTINE, STATS, main="events"
            )
        )
        tables = bigquery_tables(self.config)
        if not tables:
            return files
        parts = [files]
        for source, table, ref in tables:
            step = f"{source.name}:{ref}"
            parse = ParseBigQueryRows(
                self.config, self.run_id, source.name, table, ref, self.received
            )
            parts.append(
                pbegin
                | f"ReadBigQuery[{step}]" >> read_table(ref)
                | f"BatchRows[{step}]"
                >> beam.BatchElements(
                    min_batch_size=100, max_batch_size=self.config.pipeline.batch_rows
                )
                | f"ParseRows[{step}]"
                >> beam.ParDo(parse).with_outputs(QUARANTINE, STATS, main="events")
            )
        return SourceOutputs(
            {
                tag: tuple(part[tag] for part in parts) | f"Flatten[{tag}]" >> beam.Flatten()
                for tag in ("events", QUARANTINE, STATS)
            }
        )
