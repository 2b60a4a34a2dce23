"""De-duplication on event_id: one copy survives, every other copy is counted, never lost.

Events are sharded by event_id so all copies of an id meet in one group — with
the ids earlier runs already accepted, so a re-delivered old event is a
duplicate too. The survivor is the earliest received copy (ties broken by input
source and content hash), which makes the choice the same on every run.
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


def drop_duplicates(
    table: pa.Table, known: pa.Array | None = None
) -> tuple[pa.Table, dict[str, int]]:
    """Keep the first copy of every event_id not already ``known``; return survivors and
    duplicates per input source."""
    if not table.num_rows:
        return table, {}
    ordered = table.sort_by(_ORDER)
    keep = group_starts(ordered.column("event_id"))
    if known is not None and len(known):
        seen = pc.is_in(ordered.column("event_id"), value_set=known)
        keep &= ~seen.to_numpy(zero_copy_only=False)
    survivors = ordered.filter(pa.array(keep))
    if survivors.num_rows == ordered.num_rows:
        return survivors, {}
    dropped = ordered.filter(pa.array(~keep)).column("input_source")
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


class DropDuplicateEvents(beam.PTransform):
    """``{"events": tables, "known": (shard, event-id table) …}`` → de-duplicated events keyed
    by event-id shard (main) and duplicate counts per source (``duplicates``)."""

    def __init__(self, shards: int) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.pvalue.DoOutputsTuple:
        shards = self.shards
        keyed = inputs["events"] | "ShardByEventId" >> beam.FlatMap(
            lambda t: events_by_event_id(t, shards)
        )
        return (
            {"events": keyed, "known": inputs["known"]}
            | "GroupShards" >> beam.CoGroupByKey()
            | "KeepFirstCopy"
            >> beam.ParDo(_DropDuplicatesInShard()).with_outputs(DUPLICATES, main="events")
        )
