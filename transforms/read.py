"""Reading configured sources: files → canonical event tables, quarantine tables, counts.

One ``ParseSourceFile`` call reads one file of one source through the source's
adapter, runs every record through the shared ``RowContract`` and emits Arrow
tables: accepted events on the main output, rejected inputs (with reason code,
reason and location) on the ``quarantine`` output, and one count record per file
on the ``stats`` output, so reconciliation is computed from data, not from logs.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import apache_beam as beam
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from journeyline.config import Config, SourceConfig
from journeyline.parse_server import fork_context
from journeyline.privacy import IdentifierHasher, redact_quarantine
from journeyline.progress import READS
from journeyline.schema import EVENT_SCHEMA, QUARANTINE_SCHEMA
from transforms.adapters import file_records, records_from_rows, row_mapper
from transforms.adapters.bigquery import bigquery_tables, read_table, row_records
from transforms.adapters.rows import parse_line, read_json_lines
from transforms.batches import BatchBuilder, TaggedOutputs
from transforms.contract import Accepted, Rejection, RowContract, to_micros
from transforms.fast_contract import FastCanonical, FastResult
from transforms.handoff import MappedTables, handoff_dir, pack, remove_dir, unpack
from transforms.pooled import at_bundle_end
from transforms.records import SKIPPED_ROW, InputFile, RawRecord
from transforms.scan import record_hash, record_hashes, scan_lines

QUARANTINE = "quarantine"
STATS = "stats"
_LOG = logging.getLogger("journeyline.read")
# Canonical lines parsed per call of orjson over a run (one Python step per run, not per
# line); a run with a bad line in it is parsed again line by line.
_RUN = 128
# A canonical file is parsed in parts of at least this many bytes by the parse workers, so
# that one large file (a month of web events, say) keeps every worker busy, not one.
PART_BYTES = 16 << 20
_SKIP_CHUNK = 1 << 22  # bytes read at a time before a part (newlines counted) and past it
# The tagged outputs' types: tables go through ArrowTableCoder, whose size estimate (Beam
# samples every step's output sizes) is free, where an untyped table would be pickled.
_OUTPUT_TYPES = {QUARANTINE: pa.Table, STATS: dict[str, Any]}


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


def file_parts(config: Config, item: InputFile, processes: int) -> int:
    """How many parts ``item`` is parsed in by ``processes`` workers: canonical files only
    (the adapters read a file as a whole), at least ``PART_BYTES`` each, and never more
    parts than workers."""
    source = next(s for s in config.sources if s.name == item.source)
    if processes <= 1 or source.format != "canonical":
        return 1
    return max(1, min(processes, item.size // PART_BYTES))


def read_part(handle: Any, size: int, part: int, parts: int) -> tuple[int, list[bytes]]:
    """The lines of one of ``parts`` byte ranges of a file of ``size`` bytes: the lines that
    start in the range, and the line number of the first.

    Every line belongs to exactly one part (the one its first byte is in), so the parts of
    a file are its lines once each, numbered as the whole file numbers them. The bytes
    before the range are read in chunks and only their newlines counted; the range is read
    on to the end of its last line (the last part to the end of the file)."""
    if parts == 1:
        return 1, handle.read().split(b"\n")
    lo, hi = size * part // parts, size * (part + 1) // parts
    skipped = newlines = 0  # bytes before ``data`` (from the byte before the range on)
    before = b""  # the last byte of them
    while skipped < lo - 1:
        chunk = handle.read(min(_SKIP_CHUNK, lo - 1 - skipped))
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        skipped += len(chunk)
        before = chunk[-1:]
    if part == parts - 1:  # the last part: on to the end of the file
        data = handle.read()
        start = _line_start(data, lo - skipped)
        # (none found: a line starts at the end only after a newline, or in an empty file)
        if (data[start - 1 : start] if start else before) != b"\n" and skipped + start:
            return 1, []
        return newlines + data.count(b"\n", 0, start) + 1, data[start:].split(b"\n")
    data = handle.read(hi - skipped)
    while data.find(b"\n", max(hi - 1 - skipped, 0)) < 0:  # a line going on past the range
        more = handle.read(_SKIP_CHUNK)
        if not more:
            break
        data += more
    start, end = _line_start(data, lo - skipped), _line_start(data, hi - skipped)
    if start >= end:  # one long line from an earlier part covers the whole range
        return 1, []
    lines = data[start:end].split(b"\n")
    if data[end - 1 : end] == b"\n":
        lines.pop()  # the next part's first line starts after that newline
    return newlines + data.count(b"\n", 0, start) + 1, lines


def _line_start(data: bytes, at: int) -> int:
    """Where the first line starting at or after byte ``at`` starts (``len(data)``: none)."""
    if at == 0:
        return 0
    newline = data.find(b"\n", at - 1)
    return len(data) if newline < 0 else newline + 1


def _text_of(line: bytes) -> bytes:
    """A landing line without its line ending (what the per-row reader keeps as raw)."""
    return line.rstrip(b"\r\n")


class _Tally:
    """The counts and quarantine rows of one parse call (one file or one batch of rows).

    Quarantine tables leave it redacted (``redact_quarantine`` with the source contract's
    hasher): no clear e-mail or phone leaves the reader, in a batch run or a stream, and
    the redaction runs where the parse does (the parse workers, on the local runner)."""

    def __init__(
        self,
        source: str,
        run_id: str,
        received_us: int,
        batch_rows: int,
        hasher: IdentifierHasher | None,
    ) -> None:
        self.run_id = run_id
        self.received_us = received_us
        self.hasher = hasher
        self.rejects = BatchBuilder(QUARANTINE_SCHEMA, batch_rows)
        self.stats: dict[str, Any] = {
            "source": source,
            "input_count": 0,
            "quarantined_count": 0,
            "identifiers_dropped": 0,
            "source_rows": 0,
            "skipped_rows": 0,
            "max_occurred_at": None,
            "max_received_at": None,
        }

    def reject(self, record: RawRecord, rejection: Rejection) -> pa.Table | None:
        """Quarantine a record; a full table of quarantine rows, redacted, when there is one."""
        self.stats["quarantined_count"] += 1
        return self._redacted(
            self.rejects.append(
                {
                    "run_id": self.run_id,
                    "source": self.stats["source"],
                    "reason_code": rejection.code,
                    "reason": rejection.reason,
                    "raw": record.raw,
                    "received_at": self.received_us,
                    "location": record.location,
                }
            )
        )

    def flush(self) -> pa.Table | None:
        """The quarantine rows not yet returned, redacted (None when there are none)."""
        return self._redacted(self.rejects.flush())

    def _redacted(self, table: pa.Table | None) -> pa.Table | None:
        return None if table is None else redact_quarantine(table, self.hasher)

    def accepted(self, occurred_us: int, received_us: int, dropped: int) -> None:
        stats = self.stats
        stats["identifiers_dropped"] += dropped
        stats["max_occurred_at"] = max(stats["max_occurred_at"] or 0, occurred_us)
        stats["max_received_at"] = max(stats["max_received_at"] or 0, received_us)


class ParseSourceFile(beam.DoFn):
    """Parse one input file into accepted event tables, quarantine tables and a count record.

    With ``processes`` > 1 the files of a bundle are parsed by that many worker processes
    (parsing is pure Python and CPU-bound, and the local runner is one thread): each file
    is handed to a worker as it arrives, a large canonical file in parts (``file_parts``),
    and its tables are emitted as soon as it is done (at bundle end, still file by file as
    each finishes). Outputs and counts are those of one process (a count record per part).
    Workers started by ``parse_workers_ahead`` are taken over when they match.
    """

    def __init__(self, config: Config, run_id: str, processes: int = 1) -> None:
        self.config = config
        self.run_id = run_id
        self.processes = processes
        self.lines = Metrics.counter("read", "input_records")
        self.rejected = Metrics.counter("read", "quarantined_records")

    def setup(self) -> None:
        self.sources: dict[str, SourceConfig] = {s.name: s for s in self.config.sources}
        self.contracts = {s.name: RowContract(self.config, s) for s in self.config.sources}
        self.fast = {name: FastCanonical(c) for name, c in self.contracts.items()}
        self.pool: ProcessPoolExecutor | None = None
        if self.processes > 1:
            self.pool = _take_started(self.config, self.run_id, self.processes) or _ParsePool(
                self.config, self.run_id, self.processes
            )
        # parts of files handed to workers → (label, [the file's parts not yet collected])
        self.pending: dict[Future, tuple[str, list[int]]] = {}

    def start_bundle(self) -> None:
        # A retried bundle starts clean: nothing of a failed attempt may be emitted twice.
        for future in self.pending:
            future.cancel()
        self.pending = {}

    def teardown(self) -> None:
        if getattr(self, "pool", None) is not None:
            self.pool.shutdown(cancel_futures=True)

    def process(self, item: InputFile) -> Iterator[Any]:
        if self.pool is None:
            yield from self.parse_file(item)
            return
        parts = file_parts(self.config, item, self.processes)
        left = [parts]  # the file's parts not yet collected, shared by its parts
        for part in range(parts):
            label = item.path if parts == 1 else f"{item.path} (part {part + 1} of {parts})"
            self.pending[self.pool.submit(_parse_in_worker, item, part, parts)] = (label, left)
        done, _ = wait(self.pending, timeout=0, return_when=FIRST_COMPLETED)
        yield from self._collect(done, windowed=False)

    def finish_bundle(self) -> Iterator[Any]:
        if self.pool is not None and self.pending:
            # File by file as each finishes: the steps fused after this one work on a file's
            # tables while the workers still parse the others.
            for future in as_completed(list(self.pending)):
                yield from self._collect({future}, windowed=True)

    def _collect(self, done: set[Future], windowed: bool) -> Iterator[Any]:
        """The outputs of finished files or parts of files (from finish_bundle, wrapped in the
        global window)."""
        for future in done:
            label, left = self.pending.pop(future)
            left[0] -= 1
            finished = not left[0]  # its last part: the file is read
            events, others = future.result()
            for tag, value in [*((None, table) for table in unpack(events)), *others]:
                if tag == STATS:
                    self._count({**value, "label": label}, files=int(finished))
                out = value if tag is None else beam.pvalue.TaggedOutput(tag, value)
                yield at_bundle_end(out) if windowed else out

    def parse_file(self, item: InputFile, part: int = 0, parts: int = 1) -> Iterator[Any]:
        """The outputs of one file (or of one of its ``parts``, ``read_part``), parsed in this
        process."""
        source = self.sources[item.source]
        received = datetime.fromtimestamp(item.mtime, tz=UTC)
        if source.format == "canonical":
            yield from self.parse_canonical(source, item, received, part, parts)
            return
        records = source_records(self.config, source, item, self.config.contract.max_raw_bytes)
        yield from self.parse(source, records, received, item.path)

    def _count(self, stats: dict[str, Any], files: int = 1) -> None:
        self.lines.inc(stats["input_count"])
        self.rejected.inc(stats["quarantined_count"])
        READS.file_done(stats["input_count"], files)
        _LOG.info(
            "read %s: %d records, %d quarantined",
            stats.get("label", stats["source"]),
            stats["input_count"],
            stats["quarantined_count"],
        )

    def _tally(self, source: SourceConfig, received: datetime, batch_rows: int) -> _Tally:
        hasher = self.contracts[source.name].hasher
        return _Tally(source.name, self.run_id, to_micros(received), batch_rows, hasher)

    def _finish(self, tally: _Tally, label: str) -> Iterator[Any]:
        table = tally.flush()
        if table is not None:
            yield beam.pvalue.TaggedOutput(QUARANTINE, table)
        if _WORKER is None:  # a worker's parent counts its files as they come back
            self._count({**tally.stats, "label": label})
        yield beam.pvalue.TaggedOutput(STATS, tally.stats)

    def parse(
        self, source: SourceConfig, records: Iterable[RawRecord], received: datetime, label: str
    ) -> Iterator[Any]:
        """Records of one source → event tables, quarantine tables (tagged) and a count record.

        ``received`` is the fallback received_at (a file's modification time).
        """
        tally = self._tally(source, received, self.config.pipeline.batch_rows)
        yield from self._parse_into(source, records, received, tally, label)
        yield from self._finish(tally, label)

    def _parse_into(
        self,
        source: SourceConfig,
        records: Iterable[RawRecord],
        received: datetime,
        tally: _Tally,
        label: str,
    ) -> Iterator[Any]:
        """Run records through the per-row contract, counting into ``tally``."""
        contract = self.contracts[source.name]
        canonical = source.format == "canonical"
        events = BatchBuilder(EVENT_SCHEMA, self.config.pipeline.batch_rows)
        for record in records:
            tally.stats["source_rows"] += record.rows
            if record.value is SKIPPED_ROW:
                tally.stats["skipped_rows"] += 1
                continue
            tally.stats["input_count"] += 1
            outcome = (
                record.value
                if isinstance(record.value, Rejection)
                else contract.check(record.value, received)
            )
            if isinstance(outcome, Accepted):
                row = outcome.row
                row["input_source"] = source.name
                row["input_file"] = label
                # A row that fans out shares its text: its location keeps the hashes apart.
                row["record_hash"] = record_hash(
                    record.raw if canonical else f"{record.location}\x1f{record.raw}"
                )
                tally.accepted(row["occurred_at"], row["received_at"], outcome.identifiers_dropped)
                full = events.append(row)
                if full is not None:
                    yield full
            else:
                full = tally.reject(record, outcome)
                if full is not None:
                    yield beam.pvalue.TaggedOutput(QUARANTINE, full)
        table = events.flush()
        if table is not None:
            yield table

    def parse_canonical(
        self, source: SourceConfig, item: InputFile, received: datetime, part: int, parts: int
    ) -> Iterator[Any]:
        """Canonical JSON lines in bulk: clean records through the columnar contract, every
        other line (bad JSON, oversized, anything unusual) through the per-row contract."""
        # Parsing allocates millions of short-lived dicts that hold no cycles: the cyclic
        # collector would walk them again and again for nothing.
        paused = gc.isenabled()
        gc.disable()
        try:
            with FileSystems.open(item.path) as handle:
                first, lines = read_part(handle, item.size, part, parts)
            yield from self._parse_canonical(source, item.path, received, first, lines)
        finally:
            if paused:
                gc.enable()

    def _load(
        self,
        numbers: list[int],
        lines: list[bytes],
        path: str,
        values: list[Any],
        value_numbers: list[int],
        slow: list[tuple[int, RawRecord]],
    ) -> None:
        """Lines (``numbers``: each one's line number, ascending) parsed with orjson, in runs
        of ``_RUN`` from bytes; a run with a bad line in it is parsed line by line."""
        max_bytes = self.config.contract.max_raw_bytes
        loads, malformed = orjson.loads, orjson.JSONDecodeError
        for lo in range(0, len(lines), _RUN):
            run, run_numbers = lines[lo : lo + _RUN], numbers[lo : lo + _RUN]
            if run_numbers[0] > 1 and max(map(len, run)) <= max_bytes:
                try:  # the common case: a run of well-formed lines, parsed from bytes
                    values += list(map(loads, run))
                    value_numbers += run_numbers
                    continue
                except malformed:
                    pass
            self._lines_one_by_one(run, run_numbers, path, values, value_numbers, slow)

    def _lines_one_by_one(
        self,
        run: list[bytes],
        run_numbers: list[int],
        path: str,
        values: list[Any],
        numbers: list[int],
        slow: list[tuple[int, RawRecord]],
    ) -> None:
        """Lines of a run that did not parse as a whole (``run_numbers``: their numbers):
        each well-formed one into ``values``, the rest through ``parse_line`` (the file's
        first line always, for its byte-order mark), rejections into ``slow``."""
        max_bytes = self.config.contract.max_raw_bytes
        loads, malformed = orjson.loads, orjson.JSONDecodeError
        for number, line in zip(run_numbers, run, strict=True):
            if number > 1 and len(line) <= max_bytes:
                try:
                    values.append(loads(line))
                    numbers.append(number)
                    continue
                except malformed:
                    pass
            record = parse_line(line, f"{path}:{number}", max_bytes, number == 1)
            if record is None:
                continue
            if isinstance(record.value, Rejection):
                slow.append((number, record))
            else:
                values.append(record.value)
                numbers.append(number)

    def _parse_canonical(
        self, source: SourceConfig, path: str, received: datetime, first: int, lines: list[bytes]
    ) -> Iterator[Any]:
        """Each batch of lines: the plainly clean ones scanned in C into columns
        (``transforms/scan.py``), the others parsed with orjson, both accepted in bulk by the
        columnar contract; what it cannot prove clean goes through the per-row contract.

        A parsed line is kept as its value and line number only: the ``RawRecord`` and
        ``file:line`` location the per-row contract needs are built for the few lines that
        go there, not for every line.
        """
        max_bytes = self.config.contract.max_raw_bytes
        batch_rows = self.config.pipeline.batch_rows
        fast = self.fast[source.name]
        tally = self._tally(source, received, batch_rows)
        for start in range(0, len(lines), batch_rows):
            batch = lines[start : start + batch_rows]
            number = first + start  # the line number of the batch's first line
            slow: list[tuple[int, RawRecord]] = []  # (line number, record) for RowContract
            scanned = scan_lines(batch, number == 1, max_bytes)
            rest = np.arange(len(batch))
            if scanned.rows:
                result = fast.accept_scanned(scanned, received)
                index = scanned.index
                if result.table is not None:
                    taken = [batch[i] for i in index[result.accepted].tolist()]
                    yield self._accepted_table(result, taken, path, tally)
                for i in index[result.fallback].tolist():  # valid JSON, an unusual record
                    line = batch[i]
                    slow.append((number + i, self._raw(line, path, number + i, orjson.loads(line))))
                rest = np.setdiff1d(rest, index, assume_unique=True)
            values: list[Any] = []
            numbers: list[int] = []  # the line number of each value (lines[number - first])
            self._load(
                (rest + number).tolist(),
                [batch[i] for i in rest.tolist()],
                path,
                values,
                numbers,
                slow,
            )
            result = fast.accept(values, received)
            if result.table is not None:
                taken = [lines[numbers[i] - first] for i in result.accepted]
                yield self._accepted_table(result, taken, path, tally)
            for i in result.fallback:
                line = lines[numbers[i] - first]
                slow.append((numbers[i], self._raw(line, path, numbers[i], values[i])))
            slow.sort(key=itemgetter(0))  # in line order (each line number occurs once)
            records = [record for _, record in slow]
            yield from self._parse_into(source, records, received, tally, path)
        yield from self._finish(tally, path)

    @staticmethod
    def _raw(line: bytes, path: str, number: int, value: Any) -> RawRecord:
        """The per-row contract's record of a parsed landing line."""
        text = _text_of(line).decode("utf-8", errors="replace")
        return RawRecord(text, f"{path}:{number}", value)

    @staticmethod
    def _accepted_table(
        result: FastResult, taken: list[bytes], path: str, tally: _Tally
    ) -> pa.Table:
        """The columnar contract's table for ``taken`` (its accepted lines, in order) with
        their line hashes and file, counted into ``tally``."""
        tally.stats["input_count"] += len(result.accepted)
        tally.stats["source_rows"] += len(result.accepted)
        hashes = record_hashes(taken)
        # The fields of EVENT_SCHEMA itself (record_hash is not null): every event
        # table then has one schema, whichever path built it.
        table = result.table.set_column(
            result.table.schema.get_field_index("record_hash"),
            EVENT_SCHEMA.field("record_hash"),
            hashes,
        )
        table = table.set_column(
            table.schema.get_field_index("input_file"),
            EVENT_SCHEMA.field("input_file"),
            pa.repeat(pa.scalar(path, pa.string()), table.num_rows),
        )
        tally.accepted(
            pc.max(table.column("occurred_at")).cast(pa.int64()).as_py(),
            pc.max(table.column("received_at")).cast(pa.int64()).as_py(),
            result.identifiers_dropped,
        )
        return table


_WORKER: ParseSourceFile | None = None  # the parser of a parse worker process
_HANDOFF: str | None = None  # where a worker writes its event tables for the parent


class _StartedPool:
    """A pool ``parse_workers_ahead`` is starting on a thread of its own, with its config."""

    def __init__(self, config: Config, pool: ProcessPoolExecutor, processes: int) -> None:
        self.config = config
        self.pool = pool
        self.error: BaseException | None = None
        self.starting = threading.Thread(
            target=self._start, args=(processes,), name="parse-workers-ahead", daemon=True
        )
        self.starting.start()

    def _start(self, processes: int) -> None:
        try:
            for _ in range(processes):  # one task per worker: each submit starts one more
                self.pool.submit(_ready)
        except BaseException as exc:  # raised where the pool is taken over, not on this thread
            self.error = exc

    def ready(self) -> ProcessPoolExecutor:
        """The pool, once its workers are started (a failure to start them is raised here)."""
        self.starting.join()
        if self.error is not None:
            raise self.error
        return self.pool


# Pools started by ``parse_workers_ahead``, by (run id, processes).
_STARTED: dict[tuple[str, int], _StartedPool] = {}


class _ParsePool(ProcessPoolExecutor):
    """The parse worker processes, with the shared-memory directory through which their
    event tables come back (``transforms.handoff``); shutting down removes it."""

    def __init__(self, config: Config, run_id: str, processes: int) -> None:
        # Not fork: the runner's threads (and their locks) must not be copied. A fork server
        # is a fresh single-threaded process that imports this module once (about 1.5 s,
        # mostly Beam); each worker is forked from it ready, instead of importing on its own.
        self.handoff = handoff_dir()
        super().__init__(
            processes,
            mp_context=fork_context(),  # its server started early by a `run`, or now
            initializer=_start_worker,
            initargs=(config, run_id, self.handoff),
        )

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        remove_dir(self.handoff)


def _take_started(config: Config, run_id: str, processes: int) -> ProcessPoolExecutor | None:
    """The pool ``parse_workers_ahead`` started for this run, if its config is this one."""
    started = _STARTED.get((run_id, processes))
    if started is None or started.config != config:
        return None
    del _STARTED[(run_id, processes)]
    return started.ready()


@contextmanager
def parse_workers_ahead(config: Config, run_id: str, processes: int) -> Iterator[None]:
    """Start the parse worker processes of a pipeline that runs in this process (the local
    runner) while the pipeline is built: the workers' fork server takes about 1.5 s to
    import their modules (the first time in a process, unless the `run` command started
    it already: ``journeyline.parse_server``), and starting a worker waits for it. A thread
    of its own does that waiting, so the import runs on the other core while this thread
    builds and plans the pipeline. The read step's ``ParseSourceFile`` takes the pool
    over; on exit it is shut down whatever happened."""
    if processes <= 1:
        yield
        return
    started = _STARTED[(run_id, processes)] = _StartedPool(
        config, _ParsePool(config, run_id, processes), processes
    )
    try:
        yield
    finally:
        _STARTED.pop((run_id, processes), None)
        started.starting.join()
        started.pool.shutdown(cancel_futures=True)


def _ready() -> None:
    """A no-op task: its submit starts a worker process (which imports and sets up)."""


def _start_worker(config: Config, run_id: str, handoff: str | None) -> None:
    global _WORKER, _HANDOFF
    _WORKER = ParseSourceFile(config, run_id)
    _WORKER.setup()
    _HANDOFF = handoff


def _parse_in_worker(
    item: InputFile, part: int = 0, parts: int = 1
) -> tuple[MappedTables | list[pa.Table], list[tuple[str, Any]]]:
    """One file's (or part's) outputs for the parent: its event tables (in one shared-memory
    file where there is room) and the tagged outputs as (tag, value) pairs."""
    assert _WORKER is not None
    events: list[pa.Table] = []
    others: list[tuple[str, Any]] = []
    for out in _WORKER.parse_file(item, part, parts):
        if isinstance(out, beam.pvalue.TaggedOutput):
            others.append((out.tag, out.value))
        else:
            events.append(out)
    return pack(events, _HANDOFF), others


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


class ReadSources(beam.PTransform):
    """Files (and BigQuery tables) of the configured sources → accepted events, quarantine
    and per-file counts."""

    def __init__(
        self,
        config: Config,
        run_id: str,
        files: list[InputFile],
        received: datetime | None = None,
        processes: int = 1,
    ) -> None:
        """``received``: received_at of BigQuery rows (they have no file time); default now.
        ``processes``: how many processes parse the files (``ParseSourceFile``)."""
        super().__init__()
        self.config = config
        self.run_id = run_id
        self.files = files
        self.processes = processes
        self.received = received or datetime.now(UTC).replace(microsecond=0)

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.pvalue.DoOutputsTuple | TaggedOutputs:
        files = (
            pbegin
            | "ListFiles" >> beam.Create(self.files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ParseFiles"
            >> beam.ParDo(ParseSourceFile(self.config, self.run_id, self.processes))
            .with_output_types(pa.Table, **_OUTPUT_TYPES)
            .with_outputs(QUARANTINE, STATS, main="events")
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
                >> beam.ParDo(parse)
                .with_output_types(pa.Table, **_OUTPUT_TYPES)
                .with_outputs(QUARANTINE, STATS, main="events")
            )
        # The outputs of several readers, flattened per tag.
        return TaggedOutputs(
            {
                tag: tuple(part[tag] for part in parts) | f"Flatten[{tag}]" >> beam.Flatten()
                for tag in ("events", QUARANTINE, STATS)
            }
        )
