"""Reading source files into rows: JSON lines, JSON documents, CSV and Parquet.

A reader yields one ``RawRecord`` per source row: its text for quarantine, its
location (``file:line`` or ``file#row``) and its value: a dict of column → value,
or a ``Rejection`` when the row itself cannot be read (not UTF-8, not JSON, the
wrong number of CSV fields, too large). What the values mean is the business of
the adapter that maps them (mapping engine, Segment) and of the row contract.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from journeyline.errors import InputError
from transforms.contract import Rejection
from transforms.records import RawRecord

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_BOM = codecs.BOM_UTF8


def file_type_of(path: str, declared: str | None = None) -> str:
    """The declared file type, else the one its extension names; InputError when neither."""
    if declared:
        return declared
    name = path.rsplit("/", 1)[-1].lower()
    for ext, kind in _EXTENSIONS.items():
        if name.endswith(ext):
            return kind
    raise InputError(
        f"cannot tell the file type of {path}",
        "name it .csv, .jsonl, .json or .parquet, or set mapping.file_type",
    )


def _dumps(value: Any, limit: int) -> str:
    text = orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return text if len(text) <= limit else text[:limit]


def row_record(value: Any, location: str, max_raw_bytes: int) -> RawRecord:
    """A parsed row as a record with its JSON text, or an oversized rejection."""
    raw = _dumps(value, max_raw_bytes + 1)
    if len(raw) > max_raw_bytes:
        reason = f"the row has more than {max_raw_bytes} bytes"
        return RawRecord(raw[:max_raw_bytes], location, Rejection("oversized_record", reason))
    return RawRecord(raw, location, value)


def parse_line(
    line: bytes, location: str, max_raw_bytes: int, first: bool = False
) -> RawRecord | None:
    """One JSON line as a record (its value, or the rejection saying why not); None if blank."""
    data = line.rstrip(b"\r\n")
    if first and data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        return None
    return json_record(data, location, max_raw_bytes)


def json_record(data: bytes, location: str, max_raw_bytes: int) -> RawRecord:
    """One JSON value (a line of a file, or a message): its record, or why it is rejected."""
    raw = data.decode("utf-8", errors="replace")
    if len(data) > max_raw_bytes:
        return RawRecord(
            raw[:max_raw_bytes],
            location,
            Rejection("oversized_record", f"the line has {len(data)} bytes"),
        )
    try:
        data.decode("utf-8")
        value: Any = orjson.loads(data)
    except UnicodeDecodeError:
        value = Rejection("malformed_json", "the line is not valid UTF-8")
    except orjson.JSONDecodeError as exc:
        value = Rejection("malformed_json", f"invalid JSON: {exc.msg} at {exc.pos}")
    return RawRecord(raw, location, value)


def read_json_lines(path: str, max_raw_bytes: int) -> Iterator[RawRecord]:
    """JSON lines: one value per non-blank line; bad lines become rejections."""
    with FileSystems.open(path) as handle:
        stream = io.BufferedReader(handle) if not isinstance(handle, io.BufferedReader) else handle
        for number, line in enumerate(stream, start=1):
            record = parse_line(line, f"{path}:{number}", max_raw_bytes, number == 1)
            if record is not None:
                yield record


def read_json_document(path: str, max_raw_bytes: int) -> Iterator[RawRecord]:
    """A .json file: JSON lines when its first line is a value by itself, else one document.

    A document is one object (one row), a list of rows, or a Segment-style
    ``{"batch": [...]}``. A document that is not valid JSON is one rejected record.
    """
    with FileSystems.open(path) as handle:
        data = handle.read()
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    first = next((line for line in data.splitlines() if line.strip()), b"")
    try:
        orjson.loads(first)
        lines_mode = first.strip() != data.strip()  # several values, one per line
    except orjson.JSONDecodeError:
        lines_mode = False
    if lines_mode:
        yield from read_json_lines(path, max_raw_bytes)
        return
    raw = data.decode("utf-8", errors="replace")
    try:
        data.decode("utf-8")
        document = orjson.loads(data)
    except UnicodeDecodeError:
        yield RawRecord(raw[:max_raw_bytes], path, Rejection("malformed_json", "not valid UTF-8"))
        return
    except orjson.JSONDecodeError as exc:
        reason = f"invalid JSON: {exc.msg} at {exc.pos}"
        yield RawRecord(raw[:max_raw_bytes], path, Rejection("malformed_json", reason))
        return
    if isinstance(document, dict) and isinstance(document.get("batch"), list):
        document = document["batch"]
    items = document if isinstance(document, list) else [document]
    for index, item in enumerate(items):
        yield row_record(item, f"{path}#{index}", max_raw_bytes)


def _text_stream(path: str) -> io.TextIOWrapper:
    # surrogateescape keeps undecodable bytes visible per row instead of failing the file.
    return io.TextIOWrapper(
        FileSystems.open(path), encoding="utf-8-sig", errors="surrogateescape", newline=""
    )


def _has_bad_bytes(values: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for value in values for ch in value)


def _clean(text: str) -> str:
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def read_csv(path: str, max_raw_bytes: int, delimiter: str = ",") -> Iterator[RawRecord]:
    """CSV with a header line: one dict per row; broken rows become rejections."""
    with _text_stream(path) as stream:
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"{path}: the CSV header cannot be read ({exc})") from None
        header = [_clean(h).strip() for h in header]
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                location = f"{path}:{reader.line_num}"
                yield RawRecord("", location, Rejection("malformed_row", f"CSV error: {exc}"))
                continue
            location = f"{path}:{reader.line_num}"
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            size = sum(len(f) for f in fields)
            if size > max_raw_bytes:
                raw = _clean(delimiter.join(fields))[:max_raw_bytes]
                reason = f"the row has {size} characters"
                yield RawRecord(raw, location, Rejection("oversized_record", reason))
                continue
            if _has_bad_bytes(fields):
                raw = _clean(delimiter.join(fields))
                reason = "the row is not valid UTF-8"
                yield RawRecord(raw, location, Rejection("malformed_row", reason))
                continue
            if len(fields) != len(header):
                raw = delimiter.join(fields)
                reason = f"the row has {len(fields)} fields, the header has {len(header)}"
                yield RawRecord(raw, location, Rejection("malformed_row", reason))
                continue
            row = dict(zip(header, fields, strict=True))
            yield RawRecord(_dumps(row, max_raw_bytes), location, row)


def read_parquet(path: str, max_raw_bytes: int) -> Iterator[RawRecord]:
    """Parquet: one dict per row, read batch by batch (typed values: datetimes, numbers …)."""
    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(handle)
        number = 0
        for batch in parquet.iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                yield row_record(row, f"{path}#{number}", max_raw_bytes)
                number += 1


def read_rows(
    path: str, file_type: str, max_raw_bytes: int, delimiter: str = ","
) -> Iterator[RawRecord]:
    """Rows of one file of the given type."""
    if file_type == "csv":
        return read_csv(path, max_raw_bytes, delimiter)
    if file_type == "parquet":
        return read_parquet(path, max_raw_bytes)
    if file_type == "json":
        return read_json_document(path, max_raw_bytes)
    return read_json_lines(path, max_raw_bytes)


def header_columns(path: str, file_type: str, delimiter: str = ",") -> list[str] | None:
    """The columns a file declares up front (CSV header, Parquet schema); None for JSON."""
    if file_type == "csv":
        with _text_stream(path) as stream:
            try:
                header = next(csv.reader(stream, delimiter=delimiter), [])
            except csv.Error as exc:
                raise InputError(f"{path}: the CSV header cannot be read ({exc})") from None
        return [_clean(h).strip() for h in header]
    if file_type == "parquet":
        with FileSystems.open(path) as handle:
            return list(pq.ParquetFile(handle).schema_arrow.names)
    return None
