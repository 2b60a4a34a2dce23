"""Arrow record batches in flight: building them row by row once, then moving them by shard.

Heavy steps move ``pyarrow.Table`` chunks keyed by a hash shard rather than
single dicts (measured ~6× faster on the local runner, PLATFORM.md); these
helpers build the chunks and split them by shard with vectorised kernels.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.schema import EVENT_SCHEMA

_IPC = pa.ipc.IpcWriteOptions(compression="lz4")
# An encoded table starts with one of these 8-byte marks (8, so that the IPC stream after
# it keeps the alignment of the bytes it is read from).
_STREAM = b"S" * 8
_HANDLE = b"H" * 8
_IN_PROCESS: dict[int, pa.Table] | None = None  # tables handed over by reference, by handle
_HANDLES = itertools.count()


@contextmanager
def tables_in_process() -> Iterator[None]:
    """While open, ``ArrowTableCoder`` hands tables from step to step by reference.

    The local runner encodes every element that crosses a stage and decodes it again,
    in the same process: for event tables that is an IPC stream written, compressed,
    copied and read back per shuffle, about a fifth of the Beam job at 1M events. Arrow
    tables are immutable, so a handle to the table itself serves as well. Only for a
    pipeline whose every step runs in this process (a handle means nothing to another
    one); the tables are released when the block closes.
    """
    global _IN_PROCESS
    if _IN_PROCESS is not None:  # already open (a nested run): the outer block releases
        yield
        return
    _IN_PROCESS = {}
    try:
        yield
    finally:
        _IN_PROCESS = None


class ArrowTableCoder(beam.coders.Coder):
    """Tables between pipeline steps as LZ4-compressed Arrow IPC streams.

    Without it Beam pickles a table buffer by buffer; the IPC stream of an event table is
    about a third of that, so every shuffle moves, and the local runner buffers, a third of
    the bytes (README, Performance: the local runner copies a step's input several times).
    Inside ``tables_in_process`` a table is encoded as a handle instead.
    Used where a step declares ``KeyedTable`` (or ``pa.Table``) as its output type.
    """

    def encode(self, value: pa.Table) -> bytes:
        tables = _IN_PROCESS
        if tables is not None:
            handle = next(_HANDLES)
            tables[handle] = value
            return _HANDLE + handle.to_bytes(8, "little")
        sink = pa.BufferOutputStream()
        sink.write(_STREAM)
        with pa.ipc.new_stream(sink, value.schema, options=_IPC) as writer:
            writer.write_table(value)
        return sink.getvalue().to_pybytes()

    def decode(self, encoded: bytes) -> pa.Table:
        mark = encoded[:8]
        if mark == _HANDLE:
            handle = int.from_bytes(encoded[8:], "little")
            if _IN_PROCESS is None or handle not in _IN_PROCESS:
                raise ValueError(
                    f"table handle {handle} is not of this process's open run: tables go by "
                    "handle only inside tables_in_process(), for steps run in this process"
                )
            return _IN_PROCESS[handle]
        if mark != _STREAM:
            raise ValueError(f"not an encoded table (it starts with {bytes(mark)!r})")
        return pa.ipc.open_stream(pa.py_buffer(encoded)[8:]).read_all()

    def estimate_size(self, value: pa.Table) -> int:
        """The table's size in memory, an upper bound of its encoded size (LZ4 makes it a
        third). Beam samples element sizes for its metrics, and the default estimate
        encodes the table, as costly as sending it: about 1 s per million events locally."""
        return value.nbytes

    def is_deterministic(self) -> bool:
        return False

    def to_type_hint(self) -> type:
        return pa.Table


beam.coders.registry.register_coder(pa.Table, ArrowTableCoder)
KeyedTable = tuple[int, pa.Table]  # (shard, rows): the element type of the wide shuffles


class TaggedOutputs(dict):
    """A composite's outputs by tag, the main one also as ``.events`` (as a ParDo's are)."""

    @property
    def events(self) -> beam.PCollection:
        return self["events"]


class PerSideInput:
    """A value derived from a side input once per list the runner hands over: it passes
    every element of a bundle the same list, and deriving (a concat, an index) per element
    would cost as much as the element's own work."""

    def __init__(self, derive: Callable[[list[Any]], Any]) -> None:
        self.derive = derive
        self._last: tuple[list[Any], Any] | None = None

    def __call__(self, side: list[Any]) -> Any:
        if self._last is None or self._last[0] is not side:
            self._last = (side, self.derive(side))
        return self._last[1]


class BatchBuilder:
    """Accumulates rows column by column and hands out tables of at most ``batch_rows`` rows."""

    def __init__(self, schema: pa.Schema, batch_rows: int) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self._columns: dict[str, list[Any]] = {name: [] for name in schema.names}

    def __len__(self) -> int:
        return len(self._columns[self.schema.names[0]])

    def append(self, row: dict[str, Any]) -> pa.Table | None:
        """Add one row; return a full table when the batch is complete."""
        for name, column in self._columns.items():
            column.append(row.get(name))
        return self.flush() if len(self) >= self.batch_rows else None

    def flush(self) -> pa.Table | None:
        """The rows gathered so far as a table (None when empty); the builder starts over."""
        if not len(self):
            return None
        arrays = [pa.array(self._columns[field.name], type=field.type) for field in self.schema]
        self._columns = {name: [] for name in self.schema.names}
        return pa.Table.from_arrays(arrays, schema=self.schema)


def empty(schema: pa.Schema) -> pa.Table:
    """A table with no rows (so downstream steps never special-case 'nothing')."""
    return schema.empty_table()


def concat(tables: Iterable[pa.Table], schema: pa.Schema) -> pa.Table:
    """Concatenate tables of one schema; an empty input gives an empty table."""
    parts = [t for t in tables if t.num_rows]
    if not parts:
        return empty(schema)
    return pa.concat_tables(parts).combine_chunks()


def string_shards(values: pa.ChunkedArray | pa.Array, shards: int) -> np.ndarray:
    """Shard numbers for text keys (CRC32, identical in every worker process)."""
    return np.fromiter(
        (zlib.crc32(v.encode()) % shards for v in values.to_pylist()),
        dtype=np.int64,
        count=len(values),
    )


def int_shards(values: pa.ChunkedArray | pa.Array, shards: int) -> np.ndarray:
    """Shard numbers for signed 64-bit keys (node ids are already uniform hashes)."""
    arr = values.to_numpy()
    return np.mod(arr.astype(np.int64, copy=False), shards)


def shard_runs(shard_of_row: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """The rows in shard order (stable) and each shard's (shard, start, end) in that order:
    the groups of equal values of any integer key (``shard_of_row`` must not be empty)."""
    order = np.argsort(shard_of_row, kind="stable")
    sorted_shards = shard_of_row[order]
    cuts = np.flatnonzero(np.diff(sorted_shards)) + 1
    starts = np.concatenate(([0], cuts)).tolist()
    ends = np.concatenate((cuts, [len(order)])).tolist()
    return order, [
        (int(sorted_shards[start]), start, end) for start, end in zip(starts, ends, strict=True)
    ]


def split_by_shard(table: pa.Table, shard_of_row: np.ndarray) -> Iterator[tuple[int, pa.Table]]:
    """Yield (shard, rows of that shard) for every shard present in ``table``."""
    if not table.num_rows:
        return
    order, runs = shard_runs(shard_of_row)
    for shard, start, end in runs:
        yield shard, table.take(pa.array(order[start:end]))


def slice_by_shard(table: pa.Table, shard_of_row: np.ndarray) -> Iterator[tuple[int, pa.Table]]:
    """``split_by_shard`` with one take for all shards (none when the rows are already in
    shard order) and a zero-copy slice per shard: much faster when the shards are many (a
    timeline's days), but only for outputs that go straight into a shuffle typed
    ``KeyedTable``. ``ArrowTableCoder`` writes just a slice's
    rows, whereas a pickled slice (an untyped output, a side input) would carry the whole
    table's buffers."""
    if not table.num_rows:
        return
    order, runs = shard_runs(shard_of_row)
    # rows already grouped (a timeline comes in day order) are sliced where they are
    grouped = bool(np.all(shard_of_row[1:] >= shard_of_row[:-1]))
    ordered = table if grouped else table.take(pa.array(order))
    for shard, start, end in runs:
        yield shard, ordered.slice(start, end - start)


def events_by_event_id(table: pa.Table, shards: int) -> Iterator[tuple[int, pa.Table]]:
    """Split an event table by the shard of its event_id."""
    yield from split_by_shard(table, string_shards(table.column("event_id"), shards))


def event_schema() -> pa.Schema:
    """The in-flight event schema (canonical fields plus ingest bookkeeping)."""
    return EVENT_SCHEMA


def group_starts(keys: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of rows that start a new run of equal keys in a sorted column."""
    arr = keys if isinstance(keys, pa.Array) else keys.combine_chunks()
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        same = pc.equal(arr.slice(1), arr.slice(0, n - 1))
        starts[1:] = ~same.to_numpy(zero_copy_only=False)
    return starts


class SortedKeys:
    """int64 keys sorted once, to find many needles in them (``lookup``'s join, the sort
    done ahead for keys that many tables are looked up in, such as a side input's)."""

    def __init__(self, keys: np.ndarray) -> None:
        self.order = np.argsort(keys, kind="stable")
        self.sorted = keys[self.order]

    def find(self, needles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each needle, the row of the keys holding it and whether it was found."""
        if not len(self.sorted):
            return np.zeros(len(needles), dtype=np.int64), np.zeros(len(needles), dtype=bool)
        pos = np.clip(np.searchsorted(self.sorted, needles), 0, len(self.sorted) - 1)
        return self.order[pos], self.sorted[pos] == needles


def lookup(needles: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each needle, the row of ``keys`` holding it and whether it was found.

    A sorted-key join in numpy: it works for any payload type (Arrow's hash join
    refuses map columns) and costs one sort of ``keys``.
    """
    return SortedKeys(keys).find(needles)
