"""De-duplication on event_id: one copy survives, every other copy is counted, never lost.

Events are sharded by event_id so all copies of an id meet in one group; the
survivor is the earliest received copy (ties broken by input source and content
hash), which makes the choice the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics

from journeyline.schema import EVENT_SCHEMA
from transforms.batches import concat, events_by_event_id, group_starts

DUPLICATES = "duplicates"
_ORDER = [
    ("event_id", "ascending"),
    ("received_at", "ascending"),
    ("input_source", "ascending"),
    ("record_hash", "ascending"),
]


def drop_duplicates(table: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Keep the first copy of every event_id; return survivors and duplicates per input source."""
    if not table.num_rows:
        return table, {}
    ordered = table.sort_by(_ORDER)
    first = group_starts(ordered.column("event_id"))
    survivors = ordered.filter(pa.array(first))
    if survivors.num_rows == ordered.num_rows:
        return survivors, {}
    dropped = ordered.filter(pa.array(~first)).column("input_source")
    counts = pc.value_counts(dropped).to_pylist()
    return survivors, {c["values"]: int(c["counts"]) for c in counts}


class _DropDuplicatesInShard(beam.DoFn):
    def __init__(self) -> None:
        self.duplicates = Metrics.counter("dedup", "duplicate_events")

    def process(self, element: tuple[int, Iterable[pa.Table]]) -> Iterator[Any]:
        _, tables = element
        survivors, counts = drop_duplicates(concat(tables, EVENT_SCHEMA))
        if survivors.num_rows:
            yield survivors
        for source, count in sorted(counts.items()):
            self.duplicates.inc(count)
            yield beam.pvalue.TaggedOutput(DUPLICATES, {"source": source, "duplicate_count": count})


class DropDuplicateEvents(beam.PTransform):
    """Event tables → de-duplicated event tables (main) and duplicate counts (``duplicates``)."""

    def __init__(self, shards: int) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, tables: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        shards = self.shards
        return (
            tables
            | "ShardByEventId" >> beam.FlatMap(lambda t: events_by_event_id(t, shards))
            | "GroupShards" >> beam.GroupByKey()
            | "KeepFirstCopy"
            >> beam.ParDo(_DropDuplicatesInShard()).with_outputs(DUPLICATES, main="events")
        )
