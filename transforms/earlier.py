"""The earlier timeline of an incremental run, read once: every row sent where it goes.

After identity resolution, each earlier row moves (rebuilt with the new events) or
stays (``transforms/restitch.py``, ``row_fates``). Three things come of that: the
moving rows, re-stitched; the rows that stay of customers with new events, the
context their new rows are numbered and staged from (``transforms/append.py``); and
the rows that stay of each day that gets a new file. ``SplitEarlierFiles`` reads
each file's ordering columns once, and a file with a moving row whole once, and
sends every row to its output. Only the files without a moving row wait for the
new timeline's days (``CarryUnmoved``): copied as they are, or read whole for a day
that gets new rows. Before, three steps each read every file's key columns, and a
file with a moving row was read whole twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import apache_beam as beam
import pyarrow as pa

from transforms.append import EARLIER_READ, narrow_rows
from transforms.batches import (
    KeyedTable,
    int_shards,
    slice_by_shard,
    split_by_shard,
    string_shards,
)
from transforms.restitch import (
    MOVE_KEYS,
    AffectedIds,
    FirstEvents,
    PerSideInput,
    as_events,
    partition_day,
    read_files,
    row_fates,
)
from transforms.sinks import copy_into, read_parquet

EARLIER = "earlier"  # rows that stay of customers with new events, narrow, by customer shard
CARRIED = "carried"  # (day, rows that stay) of each file with a moving row
UNMOVED = "unmoved"  # the paths of a group's files without a moving row
OUTPUT_TYPES = {EARLIER: KeyedTable, CARRIED: KeyedTable, UNMOVED: list[str]}


class SplitEarlierFiles(beam.DoFn):
    """Groups of earlier timeline files (``file_groups``) → the moving rows as events keyed
    by event-id shard (main output, to be re-stitched), and the ``EARLIER``, ``CARRIED``
    and ``UNMOVED`` outputs above.

    Side inputs: the changed customers' ids (arrays, ``AffectedCustomers``) and the first
    new event of each customer (tables of ``FIRSTS_SCHEMA`` rows)."""

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def setup(self) -> None:
        self.affected_ids = AffectedIds()
        self.firsts = FirstEvents()

    def process(
        self, paths: list[str], affected: list[pa.Array], firsts: list[pa.Table]
    ) -> Iterator[Any]:
        first = self.firsts(firsts)
        # identifiers too when there are rows that stay (whether each has a known one)
        columns = [*EARLIER_READ, "identifiers"] if first.num_rows else MOVE_KEYS
        table, offsets = read_files(paths, columns)
        moving, has_new, mine = row_fates(table, self.affected_ids(affected), first)
        stays = has_new & ~moving
        if stays.any():
            rows = narrow_rows(table.filter(pa.array(stays)), mine.filter(pa.array(stays[has_new])))
            # zero-copy slices, one per shard, straight into BuildTimeline's shuffle
            for keyed in slice_by_shard(rows, int_shards(rows.column("customer_key"), self.shards)):
                yield beam.pvalue.TaggedOutput(EARLIER, keyed)
        pulled: list[pa.Table] = []
        unmoved: list[str] = []
        for path, (start, end) in zip(paths, pairwise(offsets), strict=True):
            moves = moving[start:end]
            if not moves.any():  # not read whole here: CarryUnmoved copies or carries it
                unmoved.append(path)
                continue
            whole = read_parquet(path)
            pulled.append(whole.filter(pa.array(moves)))
            day = partition_day(path)
            kept = whole.filter(pa.array(~moves))
            if day is not None and kept.num_rows:  # its day is rewritten: the moves leave it
                yield beam.pvalue.TaggedOutput(CARRIED, (day, kept))
        if unmoved:
            yield beam.pvalue.TaggedOutput(UNMOVED, unmoved)
        if pulled:
            events = as_events(pa.concat_tables(pulled))
            yield from split_by_shard(events, string_shards(events.column("event_id"), self.shards))


class CarryUnmoved(beam.DoFn):
    """Earlier files without a moving row → each copied as is when its day gets no new
    rows, else its rows keyed by day for the day's new file.

    Side input: the days of the new timeline's rows (days since the epoch)."""

    def __init__(self, target: str) -> None:
        self.target = target

    def setup(self) -> None:
        self.rebuilt = PerSideInput(set)

    def process(self, paths: list[str], rebuilt_days: list[int]) -> Iterator[KeyedTable]:
        rebuilt = self.rebuilt(rebuilt_days)
        for path in paths:
            day = partition_day(path)
            if day is None:
                continue
            if day in rebuilt:
                rows = read_parquet(path)
                if rows.num_rows:
                    yield day, rows
                continue
            copy_into(path, f"{self.target}/{path.rsplit('/', 2)[-2]}")  # not read: copied
