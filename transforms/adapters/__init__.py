"""Adapters: every input format → canonical-shaped records for the one shared row contract.

* ``canonical``: journeyline's JSON lines (the benchmark path, `transforms/read.py`);
* ``segment``: Segment spec messages (`segment.py`);
* ``mapping``: any CSV / JSON lines / JSON / Parquet file by a declarative mapping
  in journeyline.yml (`mapping.py`, `values.py`);
* ``salesforce``, ``hubspot``, ``zendesk``, ``marketo``: the same engine with the
  built-in mappings of `journeyline/defaults/connectors/` (one mapping per table).

Rows come from files (`rows.py`) or from BigQuery tables (`bigquery.py`); either
way ``records_from_rows`` turns them into ``RawRecord``s: a row that gives several
events yields several records (the first one counts the source row), a row the
configuration filters out yields one ``SKIPPED_ROW`` record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from journeyline.config import Config, SourceConfig
from journeyline.config.sources import CONNECTORS, table_mapping
from journeyline.errors import InputError
from journeyline.schema import all_event_types
from transforms.adapters.mapping import Mapping, missing_columns
from transforms.adapters.rows import file_type_of, header_columns, read_rows
from transforms.adapters.segment import SegmentMessages
from transforms.contract import Rejection
from transforms.records import SKIPPED_ROW, InputFile, RawRecord

RowMapper = Callable[[Any], list[Any]]


def mapping_for(config: Config, source: SourceConfig, table: str = "") -> Mapping:
    """The compiled mapping of a `format: mapping` source or of one connector table."""
    if source.format in CONNECTORS:
        return Mapping(
            table_mapping(source.format, table),
            name=source.name,
            table=table,
            identifier_types=frozenset(config.identity.identifier_types),
        )
    if source.mapping is None:
        raise ValueError(f"source {source.name!r} has no mapping")
    return Mapping(source.mapping, name=source.name)


def row_mapper(config: Config, source: SourceConfig, table: str = "") -> RowMapper:
    """row value → candidate events (dicts or Rejections; [] when filtered out)."""
    if source.format == "segment":
        vocab = all_event_types(dict(config.contract.custom_event_types))
        segment = SegmentMessages(source.segment, vocab)
        return lambda value: [segment.event(value)]
    mapping = mapping_for(config, source, table)

    def apply(value: Any) -> list[Any]:
        if not isinstance(value, dict):
            kind = type(value).__name__
            return [Rejection("not_an_object", f"a source row is an object, got {kind}")]
        return mapping.apply(value)

    return apply


def records_from_rows(rows: Iterable[RawRecord], mapper: RowMapper) -> Iterator[RawRecord]:
    """Source rows → records: one per candidate event, a SKIPPED_ROW for a filtered row."""
    for row in rows:
        if isinstance(row.value, Rejection):
            yield row
            continue
        candidates = mapper(row.value)
        if not candidates:
            yield RawRecord(row.raw, row.location, SKIPPED_ROW)
            continue
        several = len(candidates) > 1
        for index, candidate in enumerate(candidates):
            location = f"{row.location}~{index + 1}" if several else row.location
            yield RawRecord(row.raw, location, candidate, rows=1 if index == 0 else 0)


def file_type(source: SourceConfig, path: str) -> str:
    """How to read one file of a source (declared in the mapping, else by extension)."""
    if source.format == "segment":
        return "json" if path.lower().endswith(".json") else "jsonl"
    declared = (source.mapping or {}).get("file_type") if source.format == "mapping" else None
    return file_type_of(path, declared)


def file_records(
    config: Config, source: SourceConfig, item: InputFile, max_raw_bytes: int
) -> Iterator[RawRecord]:
    """Every record of one input file of a non-canonical source."""
    delimiter = (source.mapping or {}).get("csv_delimiter", ",")
    rows = read_rows(item.path, file_type(source, item.path), max_raw_bytes, delimiter)
    return records_from_rows(rows, row_mapper(config, source, item.table))


def file_globs(source: SourceConfig) -> list[tuple[str, str]]:
    """(connector table or "", file-name glob) for the files a source reads in its folder."""
    if source.format in CONNECTORS:
        return list(source.tables.items())
    return [("", source.pattern)]


def check_columns(config: Config, source: SourceConfig, item: InputFile) -> None:
    """Fail the source before any processing when a file lacks a column its mapping needs.

    Only files that declare their columns up front (CSV header, Parquet schema) can be
    checked here; in JSON a missing field is a per-row problem for the row contract.
    """
    if source.format not in CONNECTORS and source.format != "mapping":
        return
    delimiter = (source.mapping or {}).get("csv_delimiter", ",")
    columns = header_columns(item.path, file_type(source, item.path), delimiter)
    if columns is None:
        return
    missing = missing_columns(mapping_for(config, source, item.table), columns)
    if missing:
        column, needed_by = next(iter(missing.items()))
        which = (
            f"the built-in {source.format} mapping of table {item.table!r}"
            if item.table
            else "its mapping"
        )
        more = (
            f" (and {len(missing) - 1} more: {', '.join(list(missing)[1:])})"
            if len(missing) > 1
            else ""
        )
        raise InputError(
            f"source {source.name!r}: {item.path} has no column {column!r}{more}, which "
            f"{which} needs for {needed_by}",
            "add the column to the file, correct the column name in the mapping, or mark "
            "it 'optional: true' there",
        )
