"""The streaming timeline one step at a time: de-dup, identity, re-stitch, sequence, stage.

``advance`` takes the journeys so far (identity graph + every timeline row the stream
holds) and a batch of newly arrived events, and returns the new journeys and the rows
that changed. It runs the batch functions on exactly the customers a batch run would
rebuild: the customers of the new events and every customer whose identifiers changed
customer (a merge found later pulls the earlier rows of both customers and re-sequences
them under the surviving id — retroactively). Because each step re-derives those
customers from all their events, the rows equal what one batch run over all events
gives, whatever the order or grouping in which the events arrived.

De-duplication follows batch: a published (lake) copy always wins; among the stream's
copies the earliest received survives (then input source, then content hash), so a
later copy that sorts first replaces the row it duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.config import Config
from journeyline.schema import EVENT_SCHEMA, TIMELINE_SCHEMA
from transforms.batches import concat
from transforms.dedup import drop_duplicates
from transforms.identity import ASSIGNED_EVENT_SCHEMA, assign, candidates, graph_of
from transforms.stages import StageMachine
from transforms.streaming.identity import IdentityGraph, extend
from transforms.timeline import build_timeline

PUBLISHED = ""  # input_source of rows that came from the published lake
STORED_SCHEMA = (
    TIMELINE_SCHEMA.append(pa.field("customer_key", pa.int64(), False))
    .append(pa.field("input_source", pa.string(), False))
    .append(pa.field("record_hash", pa.uint64(), False))
)
_PREV = "_stored"
# A row is re-emitted when any of these differ from the stored row of its event.
_COMPARED = ("customer_id", "event_seq", "lifecycle_stage", "stage_changed", "record_hash")


@dataclass(frozen=True)
class Journeys:
    """Everything the stream knows: the identity graph and the current timeline rows."""

    graph: IdentityGraph
    rows: pa.Table  # STORED_SCHEMA, one row per accepted event

    @classmethod
    def empty(cls) -> Journeys:
        return cls(IdentityGraph.empty(), STORED_SCHEMA.empty_table())


@dataclass
class Step:
    """What one ``advance`` did."""

    changed_rows: pa.Table  # STORED_SCHEMA: new rows and rows whose customer/seq/stage changed
    customers: set[str]  # customers whose rows were rebuilt
    accepted: dict[str, int] = field(default_factory=dict)  # per input source (may be < 0)
    duplicates: dict[str, int] = field(default_factory=dict)
    unassigned: int = 0
    conflicts: int = 0
    merges: list[tuple[str, str]] = field(default_factory=list)  # (merged, into)


def stored_rows(published: pa.Table) -> pa.Table:
    """Published timeline rows in the stream's row shape (their customer_key is only needed
    once they are rebuilt, and assignment sets it then)."""
    n = published.num_rows
    extra = {
        "customer_key": pa.array(np.zeros(n, np.int64)),
        "input_source": pa.array([PUBLISHED] * n, pa.string()),
        "record_hash": pa.array(np.zeros(n, np.uint64)),
    }
    return pa.Table.from_arrays(
        [extra[f.name] if f.name in extra else published.column(f.name) for f in STORED_SCHEMA],
        schema=STORED_SCHEMA,
    )


def _as_events(rows: pa.Table) -> pa.Table:
    """Stored rows back as events (keeping their input source and hash, for counting)."""
    return rows.select(EVENT_SCHEMA.names).cast(EVENT_SCHEMA)


def _dedup(
    rows: pa.Table, events: pa.Table
) -> tuple[pa.Table, pa.Table, dict[str, int], dict[str, int]]:
    """(events to place, stored rows they replace, accepted delta, duplicates) per source."""
    ids = pc.unique(events.column("event_id"))
    mine = rows.filter(pc.is_in(rows.column("event_id"), value_set=ids))
    is_published = pc.equal(mine.column("input_source"), PUBLISHED)
    known = mine.filter(is_published).column("event_id")
    stored = mine.filter(pc.invert(is_published))
    pool = concat(
        [
            _as_events(stored).append_column(_PREV, pa.array([True] * stored.num_rows)),
            events.append_column(_PREV, pa.array([False] * events.num_rows)),
        ],
        EVENT_SCHEMA.append(pa.field(_PREV, pa.bool_())),
    )
    survivors, duplicates = drop_duplicates(pool, known.combine_chunks() if len(known) else None)
    fresh = survivors.filter(pc.invert(survivors.column(_PREV))).drop_columns([_PREV])
    replaced = stored.filter(
        pc.invert(
            pc.is_in(
                stored.column("event_id"),
                value_set=survivors.filter(survivors.column(_PREV)).column("event_id"),
            )
        )
    )
    accepted: dict[str, int] = {}
    for source in fresh.column("input_source").to_pylist():
        accepted[source] = accepted.get(source, 0) + 1
    for source in replaced.column("input_source").to_pylist():
        accepted[source] = accepted.get(source, 0) - 1
    return fresh, replaced, accepted, duplicates


def _assigned(events: pa.Table, occurrences: pa.Table, graph: IdentityGraph) -> tuple[Any, int]:
    if not events.num_rows:
        return ASSIGNED_EVENT_SCHEMA.empty_table(), 0
    return assign(events, candidates(occurrences, graph.resolved))


def _restore(timeline: pa.Table, events: pa.Table) -> pa.Table:
    """Timeline rows with the customer key, input source and hash of their events."""
    at = pc.index_in(timeline.column("event_id"), value_set=events.column("event_id"))
    extra = {c: events.column(c).take(at) for c in ("customer_key", "input_source", "record_hash")}
    return pa.Table.from_arrays(
        [extra[f.name] if f.name in extra else timeline.column(f.name) for f in STORED_SCHEMA],
        schema=STORED_SCHEMA,
    )


def _changed(old: pa.Table, new: pa.Table) -> pa.Table:
    """Rows of ``new`` that are new or differ from ``old`` in a compared column."""
    at = pc.index_in(new.column("event_id"), value_set=old.column("event_id"))
    differs = pc.is_null(at)
    for column in _COMPARED:
        before = old.column(column).take(at)
        differs = pc.or_(differs, pc.fill_null(pc.not_equal(before, new.column(column)), True))
    return new.filter(differs)


def _merges(pulled: pa.Table, rebuilt: pa.Table, rows: pa.Table) -> list[tuple[str, str]]:
    """(merged, into) for earlier customers whose rows now all belong to another customer."""
    if not pulled.num_rows:
        return []
    at = pc.index_in(pulled.column("event_id"), value_set=rebuilt.column("event_id"))
    moved = pulled.filter(pc.is_valid(at))
    into = rebuilt.column("customer_id").take(at.filter(pc.is_valid(at)))
    pairs = {
        (old, new)
        for old, new in zip(moved.column("customer_id").to_pylist(), into.to_pylist(), strict=True)
        if old != new
    }
    remaining = set(pc.unique(rows.column("customer_id")).to_pylist())
    return sorted((old, new) for old, new in pairs if old not in remaining)


def advance(
    journeys: Journeys, events: pa.Table, config: Config, machine: StageMachine
) -> tuple[Journeys, Step]:
    """Place newly arrived ``events`` (EVENT_SCHEMA) into the journeys."""
    fresh, replaced, accepted, duplicates = _dedup(journeys.rows, events)
    if not fresh.num_rows:
        return journeys, Step(STORED_SCHEMA.empty_table(), set(), accepted, duplicates)
    step = extend(journeys.graph, fresh, config.identity)
    graph = step.graph
    placed, unplaced = _assigned(fresh, step.occurrences, graph)
    affected = step.changed | set(placed.column("customer_id").to_pylist())
    affected |= set(replaced.column("customer_id").to_pylist())
    rows = journeys.rows
    superseded = pc.is_in(rows.column("event_id"), value_set=replaced.column("event_id"))
    taken = pc.or_(
        pc.is_in(rows.column("customer_id"), value_set=pa.array(sorted(affected), pa.string())),
        superseded,
    )
    pulled = rows.filter(pc.and_(taken, pc.invert(superseded)))
    earlier = _as_events(pulled)
    occurrences = graph_of(earlier, config.identity.priority)[0]
    moved, unmoved = _assigned(earlier, occurrences, graph)
    combined = concat([placed, moved], ASSIGNED_EVENT_SCHEMA)
    rebuilt = _restore(build_timeline(combined, machine), combined)
    kept = rows.filter(pc.invert(taken))
    new_rows = concat([kept, rebuilt], STORED_SCHEMA)
    return Journeys(graph, new_rows), Step(
        changed_rows=_changed(rows, rebuilt),
        customers=set(rebuilt.column("customer_id").to_pylist()),
        accepted=accepted,
        duplicates=duplicates,
        unassigned=unplaced + unmoved,
        conflicts=step.conflicts,
        merges=_merges(pulled, rebuilt, new_rows),
    )
