"""Incremental timeline: which earlier rows move, pulled to be rebuilt, and the rest as is.

After identity resolution of a new window, an earlier timeline row must be rebuilt
when its customer's identity changed (an identifier moved to another customer: a
merge, or a split; otherwise an earlier run's rows would still show it split), or
when it comes at or after its customer's first new event (its ``event_seq`` and
maybe its stage move). Those rows are pulled from the previous lake state and
re-stitched with the new events; a customer's rows before its first new event stay
where they are, and its new rows are numbered and staged on from them
(``transforms/append.py``). A date partition with no change is copied as a file,
not rewritten. ``transforms/earlier.py`` reads the earlier files and applies these rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeyline.schema import EVENT_SCHEMA, IDENTITY_MAP_SCHEMA, TIMELINE_ORDER, TIMESTAMP
from transforms.batches import concat, group_starts, lookup, split_by_shard, string_shards
from transforms.sinks import read_parquet

RESTITCHED = ""  # input_source of re-stitched rows: they were counted in the run that read them
_EPOCH = date(1970, 1, 1)


def partition_day(path: str) -> int | None:
    """Days since the epoch of a ``.../event_date=YYYY-MM-DD/part-N.parquet`` path."""
    folder = path.rsplit("/", 2)[-2]
    if not folder.startswith("event_date="):
        return None
    try:
        return (date.fromisoformat(folder.split("=", 1)[1]) - _EPOCH).days
    except ValueError:
        return None


def changed_customers(previous: pa.Table, resolved: pa.Table, new: bool = True) -> set[str]:
    """Old and new customer ids of identifiers that changed customer, and (``new``) the
    customers of identifiers that are new.

    A new identifier changes the customer of no earlier event (its events are new), so the
    batch job's re-stitch leaves it out: a customer that only gained identifiers goes on
    from its earlier rows (``transforms/append.py``)."""
    nodes = resolved.column("node").to_numpy()
    at, found = lookup(nodes, previous.column("node").to_numpy())
    new_ids = resolved.column("customer_id").to_numpy(zero_copy_only=False)
    old_ids = (
        previous.column("customer_id").to_numpy(zero_copy_only=False)[at[found]]
        if previous.num_rows
        else np.array([], dtype=object)
    )
    changed = np.full(len(nodes), new, dtype=bool)
    changed[found] = old_ids != new_ids[found]
    out = set(new_ids[changed].tolist())
    out.update(old_ids[old_ids != new_ids[found]].tolist())
    return out


def as_events(timeline: pa.Table) -> pa.Table:
    """Timeline rows back as events to re-stitch (not counted again as accepted)."""
    n = timeline.num_rows
    columns = {
        "input_source": pa.array([RESTITCHED] * n, pa.string()),
        "record_hash": pa.array(np.zeros(n, np.uint64)),
    }
    return pa.Table.from_arrays(
        [columns[f.name] if f.name in columns else timeline.column(f.name) for f in EVENT_SCHEMA],
        schema=EVENT_SCHEMA,
    )


def _changes(element: tuple[int, dict[str, Iterable[pa.Table]]]) -> Iterator[pa.Array]:
    _, groups = element
    previous = concat(groups["previous"], IDENTITY_MAP_SCHEMA)
    resolved = concat(groups["resolved"], IDENTITY_MAP_SCHEMA)
    changed = changed_customers(previous, resolved, new=False)
    if changed:
        yield pa.array(sorted(changed), pa.string())


def affected_set(parts: list[pa.Array]) -> pa.Array:
    """The distinct customer ids of the side input's arrays (one array per producer)."""
    if not parts:
        return pa.array([], pa.string())
    return pc.unique(pa.concat_arrays([p.cast(pa.string()) for p in parts]))


class PerSideInput:
    """What a step derives from a side input (``derive(value)``), computed once per
    side-input value.

    The runner hands every element the same list while the side input does not change,
    and each timeline file needs the same derived table: the affected set computed per
    file cost 3.5 s of CPU in a 1M incremental run (365 files, twice)."""

    def __init__(self, derive: Callable[[list[Any]], Any]) -> None:
        self._derive = derive
        self._of: list[Any] | None = None
        self._value: Any = None

    def __call__(self, side_input: list[Any]) -> Any:
        if side_input is not self._of:
            self._value = self._derive(side_input)
            self._of = side_input  # kept, so that no other list can take its id
        return self._value


class AffectedIds(PerSideInput):
    """``affected_set`` of a side input, computed once per side-input value."""

    def __init__(self) -> None:
        super().__init__(lambda parts: affected_set(parts))


class AffectedCustomers(beam.PTransform):
    """Customer ids whose timeline must be rebuilt whole — changed identifiers' old and new
    customers — as arrays (one per shard), so a side input of many ids costs a few
    elements, not one per id."""

    def expand(self, inputs: dict[str, beam.PCollection]) -> beam.PCollection:
        return (
            {"previous": inputs["previous"], "resolved": inputs["resolved"]}
            | "JoinIdentity" >> beam.CoGroupByKey()
            | "Changed" >> beam.FlatMap(_changes)
        )


# A customer's first new event: its earlier rows before it stay, those at or after it move.
FIRSTS_SCHEMA = pa.schema(
    [
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("customer_key", pa.int64(), nullable=False),
        pa.field("occurred_at", TIMESTAMP, nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
    ]
)
MOVE_KEYS = [name for name, _ in TIMELINE_ORDER]  # what says whether an earlier row moves


def first_events(tables: list[pa.Table]) -> pa.Table:
    """Each customer's first event of the tables (``FIRSTS_SCHEMA``), by customer id."""
    keys = concat(
        [t.select(FIRSTS_SCHEMA.names).cast(FIRSTS_SCHEMA) for t in tables], FIRSTS_SCHEMA
    )
    if not keys.num_rows:
        return keys
    ordered = keys.take(pc.sort_indices(keys, sort_keys=TIMELINE_ORDER))
    return ordered.filter(pa.array(group_starts(ordered.column("customer_id"))))


class FirstEvents(PerSideInput):
    """``first_events`` of a side input, computed once per side-input value."""

    def __init__(self) -> None:
        super().__init__(first_events)


def first_of(rows: pa.Table, first: pa.Table) -> tuple[np.ndarray, pa.Table]:
    """Which rows' customers have a new event, and (for those rows, in order) its first."""
    at = pc.index_in(rows.column("customer_id"), value_set=first.column("customer_id"))
    has_new = pc.is_valid(at).to_numpy(zero_copy_only=False)
    return has_new, first.take(at.filter(pa.array(has_new)))


def not_before(rows: pa.Table, first: pa.Table) -> np.ndarray:
    """Rows whose (occurred_at, event_id) is at or after the same position's ``first`` row."""
    occurred, event_ids = rows.column("occurred_at"), rows.column("event_id")
    at_or_after = pc.or_(
        pc.greater(occurred, first.column("occurred_at")),
        pc.and_(
            pc.equal(occurred, first.column("occurred_at")),
            pc.greater_equal(event_ids, first.column("event_id")),
        ),
    )
    return at_or_after.to_numpy(zero_copy_only=False)


def row_fates(
    rows: pa.Table, changed: pa.Array, first: pa.Table
) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """What becomes of earlier rows (``MOVE_KEYS`` at least): (moving, has_new, first).

    A row moves (is rebuilt) when its customer changed, or when it comes at or after its
    customer's first new event (its number and stage move); every other row stays.
    ``has_new``: its customer has a new event; ``first``: that event, for those rows."""
    moving = np.array(pc.is_in(rows.column("customer_id"), value_set=changed), dtype=bool)
    has_new, mine = first_of(rows, first)
    if has_new.any():
        moving[has_new] |= not_before(rows.filter(pa.array(has_new)), mine)
    return moving, has_new, mine


def file_groups(paths: list[str] | tuple[str, ...], per_group: int) -> list[list[str]]:
    """Earlier timeline files in groups of ``per_group``: one element per group, so the steps
    that read them look up a side input's ids once per group, not once per day file."""
    return [list(paths[i : i + per_group]) for i in range(0, len(paths), per_group)]


def read_files(paths: list[str], columns: list[str]) -> tuple[pa.Table, np.ndarray]:
    """``columns`` of several files as one table, and where each file's rows start (with
    the end as the last offset)."""
    tables = [read_parquet(path, columns) for path in paths]
    offsets = np.cumsum([0, *(t.num_rows for t in tables)])
    return pa.concat_tables(tables), offsets


def timeline_event_ids(paths: list[str], shards: int) -> Iterator[tuple[int, pa.Table]]:
    """The event ids of earlier timeline files, keyed by event-id shard (for de-dup)."""
    ids, _ = read_files(paths, ["event_id"])
    yield from split_by_shard(ids, string_shards(ids.column("event_id"), shards))
