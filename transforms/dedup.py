"""De-duplication on event_id: one copy survives, every other copy is counted, never lost.

Events are sharded by event_id so all copies of an id meet in one group — with
the ids earlier runs already accepted, so a re-delivered old event is a
duplicate too. The survivor is the earliest received copy (ties broken by input
source, content hash and input file), which makes the choice the same on every run
whatever order the copies arrive in (files are parsed side by side).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from journeyline.schema import EVENT_SCHEMA
from transforms.batches import KeyedTable, concat, events_by_event_id, group_starts

DUPLICATES = "duplicates"
_ORDER = [
    ("event_id", "ascending"),
    ("received_at", "ascending"),
    ("input_source", "ascending"),
    ("record_hash", "ascending"),
    ("input_file", "ascending"),  # byte-identical copies in two files
]


def drop_duplicates(
    table: pa.Table, known: pa.Array | None = None
) -> tuple[pa.Table, dict[str, int]]:
    """Keep the first copy of every event_id not already ``known``; return survivors and
    duplicates per input source."""
    if not table.num_rows:
        return table, {}
    # Sort the key columns only and gather the survivors once: the wide rows (properties,
    # identifiers) are copied a single time instead of by a sort and again by a filter.
    order = pc.sort_indices(table.select([name for name, _ in _ORDER]), sort_keys=_ORDER)
    ids = table.column("event_id").take(order)
    keep = group_starts(ids)
    if known is not None and len(known):
        seen = pc.is_in(ids, value_set=known)
        keep &= ~seen.to_numpy(zero_copy_only=False)
    survivors = table.take(order.filter(pa.array(keep)))
    if survivors.num_rows == table.num_rows:
        return survivors, {}
    dropped = table.column("input_source").take(order.filter(pa.array(~keep)))
    counts = pc.value_counts(dropped).to_pylist()
    return survivors, {c["values"]: int(c["counts"]) for c in counts}


class _DropDuplicatesInShard(beam.DoFn):
    def __init__(self) -> None:
        self.duplicates = Metrics.counter("dedup", "duplicate_events")

    def process(self, element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[Any]:
        shard, groups = element
        known = [t.column("event_id") for t in groups["known"] if t.num_rows]
        known_ids = pa.chunked_array(known).combine_chunks() if known else None
        survivors, counts = drop_duplicates(concat(groups["events"], EVENT_SCHEMA), known_ids)
        if survivors.num_rows:
            yield shard, survivors
        for source, count in sorted(counts.items()):
            self.duplicates.inc(count)
            yield beam.pvalue.TaggedOutput(DUPLICATES, {"source": source, "duplicate_count": count})


def _alone(tables: Iterable[pa.Table]) -> dict[str, Iterable[pa.Table]]:
    """A shard's event tables in the shape a CoGroupByKey with no known ids would give."""
    return {"events": tables, "known": ()}


class DropDuplicateEvents(beam.PTransform):
    """``{"events": tables, "known": (shard, event-id table) …}`` → de-duplicated events keyed
    by event-id shard (main) and duplicate counts per source (``duplicates``). ``known`` may be
    left out (nothing accepted before)."""

    def __init__(self, shards: int) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        shards = self.shards
        keyed = inputs["events"] | "ShardByEventId" >> beam.FlatMap(
            lambda t: events_by_event_id(t, shards)
        ).with_output_types(KeyedTable)
        if "known" in inputs:
            groups = {"events": keyed, "known": inputs["known"]} | (
                "GroupShards" >> beam.CoGroupByKey()
            )
        else:  # nothing known yet: a plain GroupByKey (a CoGroupByKey copies every event)
            groups = (
                keyed
                | "GroupShards" >> beam.GroupByKey()
                | "NoneKnown" >> beam.MapTuple(lambda shard, tables: (shard, _alone(tables)))
            )
        return groups | "KeepFirstCopy" >> beam.ParDo(_DropDuplicatesInShard()).with_output_types(
            KeyedTable
        ).with_outputs(DUPLICATES, main="events")
