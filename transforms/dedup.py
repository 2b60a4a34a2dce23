"""De-duplication on event_id: one copy survives, every other copy is counted, never lost.

Copies of an event_id meet in one group (by event-id shard) with the ids earlier
runs already accepted, so a re-delivered old event is a duplicate too. The
survivor is the earliest received copy (ties broken by input source, content hash
and input file), which makes the choice the same on every run whatever order the
copies arrive in (files are parsed side by side).

Two plans give the same survivors. ``shuffle`` moves whole events to their group
and keeps the survivors there, so they leave keyed by event-id shard (what the
shuffle identity join wants). ``broadcast`` moves only the key columns and where
each row is (its table and row number); the few losing copies go back to every
worker as a side input and are dropped where the events already are, so the wide
rows (properties, identifiers) are not copied through a shuffle: what the
single-process local runner wants (README, Performance).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from journeyline.schema import EVENT_SCHEMA
from transforms.batches import (
    KeyedTable,
    PerSideInput,
    TaggedOutputs,
    concat,
    events_by_event_id,
    group_starts,
    shard_runs,
)
from transforms.pooled import PooledDoFn

DUPLICATES = "duplicates"
_ORDER = [
    ("event_id", "ascending"),
    ("received_at", "ascending"),
    ("input_source", "ascending"),
    ("record_hash", "ascending"),
    ("input_file", "ascending"),  # byte-identical copies in two files
]
_KEYS = [name for name, _ in _ORDER]
# Where a row is: rows equal on every key are byte-identical copies, and this picks one.
_WHERE = [("table_id", "ascending"), ("row", "ascending")]
LOCATED_KEYS = pa.schema(
    [EVENT_SCHEMA.field(name) for name in _KEYS]
    + [pa.field("table_id", pa.int64(), False), pa.field("row", pa.int32(), False)]
)


def losing_rows(
    keys: pa.Table, known: pa.Array | None, order_by: list[tuple[str, str]]
) -> np.ndarray:
    """Positions of the rows of ``keys`` that do not survive, ascending: every copy of a
    ``known`` id (accepted before), and every copy but the first (in ``order_by``) of an id
    that occurs more than once.

    Only the copies of repeated ids are sorted (a few percent of a run's events): counting
    the ids is one hash pass, where sorting every row's keys cost 2.5 times as much at 1M.
    """
    ids = keys.column("event_id")
    losing = np.zeros(keys.num_rows, dtype=bool)
    if known is not None and len(known):
        losing |= pc.is_in(ids, value_set=known).to_numpy(zero_copy_only=False)
    counts = pc.value_counts(ids)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    if len(repeated):
        rows = np.flatnonzero(pc.is_in(ids, value_set=repeated).to_numpy(zero_copy_only=False))
        copies = keys.take(pa.array(rows))
        order = pc.sort_indices(copies, sort_keys=order_by).to_numpy()
        first = group_starts(copies.column("event_id").take(pa.array(order)))
        losing[rows[order[~first]]] = True
    return np.flatnonzero(losing)


def _per_source(sources: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    return {c["values"]: int(c["counts"]) for c in pc.value_counts(sources).to_pylist()}


def drop_duplicates(
    table: pa.Table, known: pa.Array | None = None
) -> tuple[pa.Table, dict[str, int]]:
    """Keep the first copy of every event_id not already ``known``; return survivors and
    duplicates per input source."""
    if not table.num_rows:
        return table, {}
    losing = losing_rows(table.select(_KEYS), known, _ORDER)
    if not len(losing):
        return table, {}
    return _without_rows(table, losing), _per_source(
        table.column("input_source").take(pa.array(losing))
    )


def _without_rows(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """``table`` without the rows at positions ``rows``, the others in their order."""
    keep = np.ones(table.num_rows, dtype=bool)
    keep[rows] = False
    return table.filter(pa.array(keep))


def _known_ids(tables: Iterable[pa.Table]) -> pa.Array | None:
    known = [t.column("event_id") for t in tables if t.num_rows]
    return pa.chunked_array(known).combine_chunks() if known else None


class _Counting(beam.DoFn):
    """Emits duplicate counts per source (``duplicates``) and adds them to the metric."""

    def __init__(self) -> None:
        self.duplicates = Metrics.counter("dedup", "duplicate_events")

    def counted(self, counts: dict[str, int]) -> Iterator[Any]:
        for source, count in sorted(counts.items()):
            self.duplicates.inc(count)
            yield beam.pvalue.TaggedOutput(DUPLICATES, {"source": source, "duplicate_count": count})


class _DropDuplicatesInShard(_Counting):
    """Shuffle plan: every copy of the shard's events is here; keep the survivors."""

    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        shard, groups = element
        survivors, counts = drop_duplicates(
            concat(groups["events"], EVENT_SCHEMA), _known_ids(groups["known"])
        )
        if survivors.num_rows:
            yield shard, survivors
        yield from self.counted(counts)


def _with_table_id(table: pa.Table) -> KeyedTable:
    """An event table with a random 63-bit id, so a row is known by (table, row number).

    Random, not derived from the rows: two tables may hold the same rows (a file that
    repeats itself), and their copies must still be told apart.
    """
    return uuid.uuid4().int >> 65, table


def _located_keys(element: KeyedTable) -> KeyedTable:
    """The key columns of an event table and where each row is, all in group 0.

    The broadcast plan runs in one process: hashing every event id to split the keys by
    shard (about 1.3 s of the runner's thread at 1M events, while the parse processes
    want both cores) would buy nothing there, so every key goes to the one group."""
    table_id, table = element
    n = table.num_rows
    keys = pa.Table.from_arrays(
        [table.column(name) for name in _KEYS]
        + [pa.array(np.full(n, table_id, np.int64)), pa.array(np.arange(n, dtype=np.int32))],
        schema=LOCATED_KEYS,
    )
    return 0, keys


def _in_group_zero(element: KeyedTable) -> KeyedTable:
    """Known event ids, keyed by their shard, into the broadcast plan's one group."""
    return 0, element[1]


class _FindLosers(_Counting):
    """Broadcast plan, all keys in one group: (table_id, row) of every copy that does not
    survive (main) and the duplicate counts."""

    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        _, groups = element
        keys = concat(groups["events"], LOCATED_KEYS)
        losing = losing_rows(keys, _known_ids(groups["known"]), _ORDER + _WHERE)
        if not len(losing):
            return
        losers = keys.take(pa.array(losing))
        yield losers.select(["table_id", "row"])
        yield from self.counted(_per_source(losers.column("input_source")))


def _losing_rows(losers: list[pa.Table]) -> dict[int, np.ndarray]:
    """Losing row numbers by table id."""
    if not losers:
        return {}
    both = pa.concat_tables(losers)
    order, runs = shard_runs(both.column("table_id").to_numpy())
    rows = both.column("row").to_numpy()[order]
    return {table_id: rows[start:end] for table_id, start, end in runs}


class _DropLosers(PooledDoFn):
    """Broadcast plan: every event table without its losing copies (a side input), on a
    pool thread (the filter releases the GIL: see ``PooledDoFn``)."""

    def __init__(self) -> None:
        self._rows = PerSideInput(_losing_rows)

    def prepare(self, losers: list[pa.Table]) -> tuple[dict[int, np.ndarray]]:
        return (self._rows(losers),)

    def work(self, element: KeyedTable, losing: dict[int, np.ndarray]) -> list[KeyedTable]:
        table_id, table = element
        rows = losing.get(table_id)
        if rows is not None:
            table = _without_rows(table, rows)
        return [(table_id, table)] if table.num_rows else []


def _alone(tables: Iterable[pa.Table]) -> dict[str, Iterable[pa.Table]]:
    """A shard's event tables in the shape a CoGroupByKey with no known ids would give."""
    return {"events": tables, "known": ()}


def _by_shard(keyed: beam.PCollection, known: beam.PCollection | None) -> beam.PCollection:
    """Tables keyed by event-id shard, grouped with the known ids of the same shard."""
    if known is not None:
        return {"events": keyed, "known": known} | "GroupShards" >> beam.CoGroupByKey()
    # Nothing known yet: a plain GroupByKey (a CoGroupByKey copies every table once more).
    return (
        keyed
        | "GroupShards" >> beam.GroupByKey()
        | "NoneKnown"
        >> beam.MapTuple(lambda shard, tables: (shard, _alone(tables))).with_output_types(
            tuple[int, dict[str, Iterable[pa.Table]]]
        )
    )


class DropDuplicateEvents(beam.PTransform):
    """``{"events": tables, "known": (shard, event-id table) …}`` → de-duplicated event
    tables (``.events``) and duplicate counts per source (``[DUPLICATES]``). ``known`` may
    be left out (nothing accepted before).

    The events leave keyed by event-id shard with ``broadcast=False`` (the shuffle plan,
    the scalable default) and by a table id with ``broadcast=True``, where only the key
    columns are grouped, all in one group, and each table drops its losing rows where it
    is; both give the same rows.
    """

    def __init__(self, shards: int, broadcast: bool = False) -> None:
        super().__init__()
        self.shards = shards
        self.broadcast = broadcast

    def expand(self, inputs: dict[str, beam.PCollection]) -> dict[str, beam.PCollection]:
        shards, known = self.shards, inputs.get("known")
        if not self.broadcast:
            keyed = inputs["events"] | "ShardByEventId" >> beam.FlatMap(
                events_by_event_id, shards
            ).with_output_types(KeyedTable)
            kept = _by_shard(keyed, known) | "KeepFirstCopy" >> beam.ParDo(
                _DropDuplicatesInShard()
            ).with_output_types(KeyedTable).with_outputs(DUPLICATES, main="events")
            return TaggedOutputs({"events": kept.events, DUPLICATES: kept[DUPLICATES]})
        located = inputs["events"] | "IdentifyTables" >> beam.Map(_with_table_id).with_output_types(
            KeyedTable
        )
        keys = located | "LocateKeys" >> beam.Map(_located_keys).with_output_types(KeyedTable)
        if known is not None:
            known = known | "KnownInGroupZero" >> beam.Map(_in_group_zero).with_output_types(
                KeyedTable
            )
        found = _by_shard(keys, known) | "FindLosers" >> beam.ParDo(
            _FindLosers()
        ).with_output_types(pa.Table).with_outputs(DUPLICATES, main="losers")
        events = located | "DropLosers" >> beam.ParDo(
            _DropLosers(), beam.pvalue.AsList(found.losers)
        ).with_output_types(KeyedTable)
        return TaggedOutputs({"events": events, DUPLICATES: found[DUPLICATES]})
