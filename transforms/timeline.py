"""The customer timeline: per customer, events ordered, numbered and staged.

Events are grouped by a shard of their customer, sorted by (customer_id,
occurred_at, event_id) with one vectorised sort, numbered 1..n per customer
(``event_seq``) and given the lifecycle stage after each event by the
``StageMachine``. The step also counts accepted events per input source, so
reconciliation proves that every accepted record reached the timeline.

In an incremental run a customer's earlier rows that stay where they are (before its
first new event, ``transforms/append.py``) come in a narrow form (``EARLIER_SCHEMA``):
they are ordered, numbered and staged with the new events, so the numbers and stages
go on from where they stood, and only the new rows come out.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import StagesConfig
from journeyline.schema import (
    ANONYMOUS_IDENTIFIER_TYPES,
    TIMELINE_ORDER,
    TIMELINE_SCHEMA,
    TIMESTAMP,
)
from transforms.batches import KeyedTable, concat, group_starts, int_shards, slice_by_shard
from transforms.identity import ASSIGNED_EVENT_SCHEMA
from transforms.pooled import PooledDoFn
from transforms.restitch import RESTITCHED
from transforms.stages import StageMachine, run_columns

ACCEPTED = "accepted"
# What the stage machine reads of a row, besides whether it has a known identifier.
_STAGE_KEYS = ["customer_id", "occurred_at", "event_type", "survey_type", "score"]
# An earlier timeline row of a customer whose timeline goes on (in flight only): what
# ordering, numbering and staging read of it, and the shard key of its customer.
EARLIER_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("customer_key", pa.int64(), nullable=False),
        pa.field("occurred_at", TIMESTAMP, nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("survey_type", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("has_known_identifier", pa.bool_(), nullable=False),
    ]
)


def known_identifier_mask(identifiers: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """True for events carrying at least one identifier that is not anonymous."""
    arr = identifiers.combine_chunks() if isinstance(identifiers, pa.ChunkedArray) else identifiers
    offsets = arr.offsets.to_numpy()
    start, length = int(offsets[0]), int(offsets[-1] - offsets[0])
    parent = np.repeat(np.arange(len(arr), dtype=np.int64), np.diff(offsets))
    anonymous = pa.array(sorted(ANONYMOUS_IDENTIFIER_TYPES), pa.string())
    types = arr.keys.slice(start, length)
    known = ~pc.is_in(types, value_set=anonymous).to_numpy(zero_copy_only=False)
    return np.bincount(parent[known], minlength=len(arr)) > 0


def sequence_numbers(starts: np.ndarray) -> np.ndarray:
    """1..n within each run that begins where ``starts`` is True."""
    index = np.arange(len(starts))
    run_start = np.maximum.accumulate(np.where(starts, index, 0))
    return index - run_start + 1


def build_timeline(
    events: pa.Table, machine: StageMachine, earlier: pa.Table | None = None
) -> pa.Table:
    """Order, number and stage the events of whole customers (all of a customer's rows).

    ``earlier``: rows (``EARLIER_SCHEMA``) that come before every event of their customer
    here; they are numbered and staged with the events and left out of the result, so a
    customer's timeline goes on from them as if it had been built whole.

    The rows come out by day (``event_date``), then customer and time: the day files
    take them as zero-copy slices. Only the key columns are sorted and read by the stage
    machine; the full rows are gathered once, straight into that order.
    """
    if not events.num_rows:
        return TIMELINE_SCHEMA.empty_table()
    order_keys = events.select([name for name, _ in TIMELINE_ORDER])
    keys = events.select(_STAGE_KEYS)
    known = known_identifier_mask(events.column("identifiers"))
    if earlier is not None and earlier.num_rows:
        order_keys = pa.concat_tables(
            [order_keys, earlier.select(order_keys.column_names).cast(order_keys.schema)]
        )
        keys = pa.concat_tables([keys, earlier.select(_STAGE_KEYS).cast(keys.schema)])
        known = np.concatenate(
            [known, earlier.column("has_known_identifier").to_numpy(zero_copy_only=False)]
        )
    by_customer = pc.sort_indices(order_keys, sort_keys=TIMELINE_ORDER).to_numpy()
    keys = keys.take(by_customer)
    starts = group_starts(keys.column("customer_id"))
    seq = sequence_numbers(starts)
    stages, changed = run_columns(
        machine,
        starts,
        keys.column("event_type"),
        keys.column("survey_type"),
        keys.column("score"),
        known[by_customer],
    )
    if len(by_customer) > events.num_rows:  # only this run's events come out
        new = np.flatnonzero(by_customer < events.num_rows)
        by_customer, seq, changed = by_customer[new], seq[new], changed[new]
        stages = stages.take(new)
        keys = keys.take(new)
    dates = pc.cast(keys.column("occurred_at"), pa.date32())
    by_day = np.argsort(dates.to_numpy().astype(np.int32), kind="stable")
    columns = {
        "event_seq": pa.array(seq[by_day], pa.int64()),
        "lifecycle_stage": stages.take(by_day),
        "stage_changed": pa.array(changed[by_day], pa.bool_()),
        "event_date": dates.take(by_day),
    }
    ordered = events.take(by_customer[by_day])
    arrays = [
        columns[name] if name in columns else ordered.column(name) for name in TIMELINE_SCHEMA.names
    ]
    return pa.Table.from_arrays(arrays, schema=TIMELINE_SCHEMA)


class _BuildShard(PooledDoFn):
    """The timeline of a shard of customers, built on a pool thread (its sorts and takes
    release the GIL: see ``PooledDoFn``), and the accepted counts per input source."""

    grouped = True

    def __init__(self, stages: StagesConfig) -> None:
        self.stages = stages

    def setup(self) -> None:
        super().setup()
        self.machine = StageMachine(self.stages)

    def work(self, element: tuple[int, list[pa.Table]]) -> list[Any]:
        _, tables = element
        # one group holds both kinds of table: the earlier rows' have their own columns
        earlier = [t for t in tables if t.schema.names == EARLIER_SCHEMA.names]
        events = concat(
            [t for t in tables if t.schema.names != EARLIER_SCHEMA.names], ASSIGNED_EVENT_SCHEMA
        )
        earlier = concat(earlier, EARLIER_SCHEMA)
        timeline = build_timeline(events, self.machine, earlier)
        outputs: list[Any] = [timeline] if timeline.num_rows else []
        if earlier.num_rows:
            continued = len(pc.unique(earlier.column("customer_id")))
            outputs.append(beam.pvalue.TaggedOutput(ACCEPTED, {"continued_customers": continued}))
        for item in pc.value_counts(events.column("input_source")).to_pylist():
            if item["values"] == RESTITCHED:
                continue  # earlier rows re-stitched: counted by the run that accepted them
            outputs.append(
                beam.pvalue.TaggedOutput(
                    ACCEPTED, {"source": item["values"], "accepted_count": int(item["counts"])}
                )
            )
        return outputs


class _ShardByCustomer(PooledDoFn):
    """An event table's rows grouped by the shard of their customer, as slices: the take
    that groups them copies every column, so it runs on a pool thread (``PooledDoFn``)."""

    def __init__(self, shards: int) -> None:
        self.shards = shards

    def work(self, table: pa.Table) -> list[Any]:
        return list(slice_by_shard(table, int_shards(table.column("customer_key"), self.shards)))


class BuildTimeline(beam.PTransform):
    """Events with customer ids → timeline tables (main) and accepted counts (``accepted``).

    The input is the events, or ``{"events": …, "earlier": …}`` where ``earlier`` holds
    (customer shard, ``EARLIER_SCHEMA`` rows) of the customers whose timelines go on."""

    def __init__(self, stages: StagesConfig, shards: int) -> None:
        super().__init__()
        self.stages = stages
        self.shards = shards

    def expand(
        self, inputs: beam.PCollection | dict[str, beam.PCollection]
    ) -> beam.pvalue.DoOutputsTuple:
        events = inputs["events"] if isinstance(inputs, dict) else inputs
        shards = events | "ShardByCustomer" >> beam.ParDo(
            _ShardByCustomer(self.shards)
        ).with_output_types(KeyedTable)  # slices: typed KeyedTable, so only a slice is encoded
        if isinstance(inputs, dict) and "earlier" in inputs:
            shards = (
                shards,
                inputs["earlier"],
            ) | "WithEarlierRows" >> beam.Flatten().with_output_types(KeyedTable)
        return (
            shards
            | "GroupCustomers" >> beam.GroupByKey()
            | "OrderAndStage"
            >> beam.ParDo(_BuildShard(self.stages))
            .with_output_types(pa.Table, **{ACCEPTED: dict[str, Any]})
            .with_outputs(ACCEPTED, main="timeline")
        )
