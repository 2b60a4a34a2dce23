"""Rebasing the lake state: the previous timeline and quarantine minus what must go.

Two things take rows *out* of an incremental state, which only ever grows:

* a window re-run (``journeyline run --date …`` for a window already ingested)
  retracts everything the window's input files gave, then reads them again;
* an erasure (``journeyline forget``) retracts every row of a forgotten person.

The kept timeline rows re-enter the batch pipeline as already accepted events
(known for de-duplication, not counted again), and identity and timeline are
resolved afresh over them plus whatever is read now: a retracted event may have
been the only link between two identifiers, so the graph cannot be patched in
place. The result equals a full refresh over the inputs that remain.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from transforms.batches import split_by_shard, string_shards
from transforms.restitch import as_events
from transforms.sinks import read_parquet, write_parquet

# A quarantine location is ``path:line``, ``path#row`` or ``bigquery://table#digest``.
_LOCATION_SUFFIX = re.compile(r"(:\d+|#[^/#]*)$")
# Identifier values shorter than this are not searched for in quarantined raw text.
_MIN_SEARCH_CHARS = 6


@dataclass(frozen=True)
class Retraction:
    """What a rebase takes out: rows read from ``files``, rows of ``customers``, and
    quarantined inputs whose text holds one of ``values`` (stored identifier values)."""

    files: frozenset[str] = frozenset()
    customers: frozenset[str] = frozenset()
    values: frozenset[str] = frozenset()

    def describe(self) -> str:
        parts = []
        if self.files:
            parts.append(f"{len(self.files)} input file(s)")
        if self.customers:
            parts.append(f"{len(self.customers)} customer(s)")
        return " and ".join(parts) or "nothing"


def location_file(location: str) -> str:
    """The input file of a quarantine location."""
    return _LOCATION_SUFFIX.sub("", location)


def timeline_keep_mask(table: pa.Table, retraction: Retraction) -> pa.Array:
    """True for the timeline rows a rebase keeps."""
    keep = pa.array([True] * table.num_rows, pa.bool_())
    if retraction.files and "input_file" in table.column_names:
        files = pa.array(sorted(retraction.files), pa.string())
        keep = pc.and_(keep, pc.invert(pc.fill_null(pc.is_in(table["input_file"], files), False)))
    if retraction.customers:
        customers = pa.array(sorted(retraction.customers), pa.string())
        keep = pc.and_(keep, pc.invert(pc.is_in(table["customer_id"], customers)))
    return keep


def quarantine_keep_mask(table: pa.Table, retraction: Retraction) -> pa.Array:
    """True for the quarantine rows a rebase keeps."""
    files = [location_file(loc) in retraction.files for loc in table["location"].to_pylist()]
    needles = [v for v in retraction.values if len(v) >= _MIN_SEARCH_CHARS]
    texts = zip(table["raw"].to_pylist(), table["reason"].to_pylist(), strict=True)
    person = [any(n in raw or n in reason for n in needles) for raw, reason in texts]
    return pa.array([not (f or p) for f, p in zip(files, person, strict=True)], pa.bool_())


def kept_events(path: str, retraction: Retraction, shards: int) -> Iterator[tuple[int, pa.Table]]:
    """A previous timeline file → its kept rows as accepted events, keyed by event-id shard."""
    table = read_parquet(path)
    rows = table.filter(timeline_keep_mask(table, retraction))
    if rows.num_rows:
        events = as_events(rows)
        yield from split_by_shard(events, string_shards(events.column("event_id"), shards))


def kept_event_ids(
    element: tuple[int, pa.Table],
) -> tuple[int, pa.Table]:
    """The event ids of kept events (known to de-duplication: never accepted twice)."""
    shard, table = element
    return shard, table.select(["event_id"])


def copy_kept_quarantine(path: str, folder: str, retraction: Retraction) -> str | None:
    """A previous quarantine file → the same file name in ``folder`` without retracted rows
    (nothing when no row is kept: a re-run of the same window writes that name anew)."""
    table = read_parquet(path)
    kept = table.filter(quarantine_keep_mask(table, retraction))
    if not kept.num_rows:
        return None
    return write_parquet(kept, f"{folder}/{path.rsplit('/', 1)[-1]}")
