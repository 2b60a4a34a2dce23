"""Incremental timeline, the common case: a customer's timeline goes on from its earlier rows.

A scheduled run brings each customer's latest events. A customer's earlier rows
before its first new event (in the timeline's order: occurred_at, then event_id)
keep their ``event_seq`` and stage when its identity did not change: they stay in
their files, and the new rows (with any earlier ones at or after the first new
event, ``transforms/restitch.py``) are numbered and staged on from them.
``EarlierRows`` reads what ordering, numbering and staging need of those rows: a few
columns, not the whole rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from transforms.batches import int_shards, slice_by_shard
from transforms.restitch import EarlierFile, read_files, row_fates
from transforms.timeline import EARLIER_SCHEMA, known_identifier_mask

_READ = ["customer_id", "occurred_at", "event_id", "event_type", "survey_type", "score"]


class EarlierRows(EarlierFile):
    """Earlier timeline files → the rows that stay of customers with new events: before
    their first new event, of a customer whose identity did not change. Narrow
    (``EARLIER_SCHEMA``) and keyed by the customer shard ``BuildTimeline`` groups by.

    Side inputs: the changed customers' ids (as ``PullRows`` takes them) and the first new
    event of each customer (tables of ``FIRSTS_SCHEMA`` rows, one per table of new events).
    """

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def process(
        self, paths: list[str], affected: list[pa.Array], firsts: list[pa.Table]
    ) -> Iterator[tuple[int, pa.Table]]:
        first = self.firsts(firsts)
        if not first.num_rows:
            return
        table, _ = read_files(paths, [*_READ, "identifiers"])
        moving, has_new, mine = row_fates(table, self.affected_ids(affected), first)
        stays = has_new & ~moving
        if not stays.any():
            return
        table, mine = table.filter(pa.array(stays)), mine.filter(pa.array(stays[has_new]))
        rows = pa.Table.from_arrays(
            [
                table.column("customer_id"),
                mine.column("customer_key"),
                *(table.column(name) for name in _READ[1:]),
                pa.array(known_identifier_mask(table.column("identifiers")), pa.bool_()),
            ],
            schema=EARLIER_SCHEMA,
        )
        # zero-copy slices, one per shard: the output goes straight into BuildTimeline's
        # shuffle, typed KeyedTable
        yield from slice_by_shard(rows, int_shards(rows.column("customer_key"), self.shards))
