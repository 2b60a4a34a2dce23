"""The batch job as a Beam pipeline: sources → contract → de-dup → identity → timeline → lake.

``build_batch_pipeline`` returns the pipeline without running it, so the same
graph is run locally, dry-run for Dataflow, or inspected in tests. Every step
is a composite from ``transforms/``; this module only wires them together.

With a previous lake state the run is incremental: only the new files are read;
their events are de-duplicated against every event already accepted; the
identity graph is the stored graph plus the new identifiers and links; the
earlier rows of customers whose identity changed, and those at or after a
customer's first new event, are re-stitched (pulled and re-sequenced); a
customer's new rows are numbered and staged on from its earlier rows that stay
(transforms/append.py); every other timeline partition is carried over as is.

With a rebase (a window re-run, an erasure) the previous timeline minus the
retracted rows re-enters as already-accepted events and identity is resolved
afresh (transforms/retract.py). Quarantined inputs leave the pipeline redacted
(journeyline/privacy.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from journeyline.config import Config
from journeyline.schema import (
    IDENTITY_CONFLICTS_SCHEMA,
    IDENTITY_EDGES_SCHEMA,
    IDENTITY_MAP_SCHEMA,
    QUARANTINE_SCHEMA,
    TIMELINE_SCHEMA,
)
from pipelines.local_runner import batch_runner
from transforms.batches import KeyedTable, int_shards, split_by_shard
from transforms.dedup import DUPLICATES, DropDuplicateEvents
from transforms.earlier import CARRIED, EARLIER, UNMOVED, CarryUnmoved, SplitEarlierFiles
from transforms.earlier import OUTPUT_TYPES as EARLIER_OUTPUT_TYPES
from transforms.identity import (
    STATS_SCHEMA,
    UNASSIGNED,
    AssignCustomers,
    ExtractGraph,
    ResolveIdentities,
)
from transforms.read import QUARANTINE, STATS, InputFile, ReadSources, file_parts
from transforms.restitch import (
    AffectedCustomers,
    file_groups,
    first_events,
    timeline_event_ids,
)
from transforms.retract import Retraction, copy_kept_quarantine, kept_event_ids, kept_events
from transforms.run_stats import SummariseCounts, source_stats_table
from transforms.sinks import (
    WriteSortedParts,
    WriteTimeline,
    copy_into,
    read_parquet,
    write_json,
    write_parquet,
)
from transforms.timeline import ACCEPTED, BuildTimeline

COUNTS_FILE = "_counts.json"
# Earlier timeline day files per element of the steps that read them: a side input's ids
# are looked up once per group (Arrow builds its hash table per call), and the outputs
# are a group's, not a day's (a 1M lake: 365 files, 23 groups).
EARLIER_FILES_PER_GROUP = 16


@dataclass(frozen=True)
class PreviousState:
    """The published lake state an incremental run starts from (file lists of its tables)."""

    timeline: tuple[str, ...] = ()
    identity_map: tuple[str, ...] = ()
    identity_edges: tuple[str, ...] = ()
    quarantine: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchRun:
    """What one batch run reads and where it writes."""

    run_id: str
    attempt_path: str
    files: tuple[InputFile, ...]
    previous: PreviousState = PreviousState()
    rebase: Retraction | None = None


def _read_keyed(path: str, column: str, shards: int) -> Iterator[tuple[int, pa.Table]]:
    """A stored Parquet file, split by the shard of an int64 column."""
    table = read_parquet(path)
    yield from split_by_shard(table, int_shards(table.column(column), shards))


def _stats_of(element: tuple[int, pa.Table]) -> tuple[int, pa.Table]:
    shard, table = element
    return shard, table.select(STATS_SCHEMA.names).cast(STATS_SCHEMA)


def _days(table: pa.Table) -> list[int]:
    return sorted(set(table.column("event_date").cast(pa.int32()).to_pylist()))


def _write_conflicts(rows: list[dict[str, Any]], path: str) -> str:
    table = pa.Table.from_pylist(
        sorted(
            rows,
            key=lambda r: (
                r["rule"],
                r["identifier_type"],
                r["identifier_value"],
                r["other_identifier_value"] or "",
            ),
        ),
        schema=IDENTITY_CONFLICTS_SCHEMA,
    )
    return write_parquet(table, path)


def _write_counts(summary: dict[str, Any], run: BatchRun, sources: list[str]) -> str:
    write_parquet(
        source_stats_table(summary, run.run_id, sources),
        f"{run.attempt_path}/source_stats/part-0000.parquet",
    )
    return write_json(summary, f"{run.attempt_path}/{COUNTS_FILE}")


def parse_processes(config: Config, run: BatchRun, runner: str | None) -> int:
    """How many processes parse the run's files (never more than there are files, or parts
    of files, to parse: one large file is parsed in parts, ``file_parts``)."""
    parsers = config.pipeline.parsers(runner, sum(f.size for f in run.files))
    return min(parsers, sum(file_parts(config, item, parsers) for item in run.files))


def build_batch_pipeline(config: Config, run: BatchRun, options: PipelineOptions) -> beam.Pipeline:
    """The batch job's pipeline graph (not yet run)."""
    shards = config.pipeline.shards
    out = run.attempt_path
    parts = max(1, shards // 4)
    runner = options.view_as(StandardOptions).runner
    broadcast = config.pipeline.broadcast_joins(runner)
    priority = config.identity.priority
    # A rebase starts from nothing but the kept rows: no incremental state to extend.
    previous = run.previous if run.rebase is None else PreviousState()
    p = beam.Pipeline(runner=batch_runner(options), options=options)

    read = p | "ReadSources" >> ReadSources(
        config, run.run_id, list(run.files), processes=parse_processes(config, run, runner)
    )
    kept = None
    if run.rebase is not None:
        kept = (
            p
            | "RebaseTimeline" >> beam.Create(list(run.previous.timeline))
            | "KeepUnretracted" >> beam.FlatMap(kept_events, run.rebase, shards)
        )

    # Each use of the previous timeline gets its own source: fused into one stage, the reads
    # that wait for side inputs would wait for their own upstream (a runner deadlock).
    def old_timeline(use: str) -> beam.PCollection:
        groups = file_groups(previous.timeline, EARLIER_FILES_PER_GROUP)
        return p | f"PreviousTimelineFor{use}" >> beam.Create(groups)

    # Without a previous timeline (a full refresh, a rebase) the branches that read it could
    # only be empty, so they are not built: on the local runner every multi-input Flatten
    # (a CoGroupByKey's too) is materialised, one more copy of every event.
    incremental = bool(previous.timeline)
    known_parts = []
    if incremental:
        known_parts.append(
            old_timeline("Dedup") | "KnownEventIds" >> beam.FlatMap(timeline_event_ids, shards)
        )
    if kept is not None:
        known_parts.append(kept | "KeptEventIds" >> beam.Map(kept_event_ids))
    dedup_inputs = {"events": read.events}
    if len(known_parts) == 1:
        dedup_inputs["known"] = known_parts[0]
    elif known_parts:
        dedup_inputs["known"] = tuple(known_parts) | "AllKnownIds" >> beam.Flatten()
    deduped = dedup_inputs | "DropDuplicates" >> DropDuplicateEvents(shards, broadcast)
    events = deduped.events
    if kept is not None:
        events = (events, kept) | "WithKeptEvents" >> beam.Flatten()

    old_identity = (
        p
        | "PreviousIdentity" >> beam.Create(list(previous.identity_map))
        | "ReadIdentity" >> beam.FlatMap(_read_keyed, "node", shards).with_output_types(KeyedTable)
    )
    old_edges = (
        p
        | "PreviousEdges" >> beam.Create(list(previous.identity_edges))
        | "ReadEdges" >> beam.FlatMap(_read_keyed, "u", shards).with_output_types(KeyedTable)
    )
    identity = {
        "events": events,
        "previous_stats": old_identity
        | "PreviousStats" >> beam.Map(_stats_of).with_output_types(KeyedTable),
        "previous_edges": old_edges,
    } | "ResolveIdentities" >> ResolveIdentities(shards, config.identity, gather=broadcast)

    assigned = {
        "events": events,
        "occurrences": identity["occurrences"],
        "resolved": identity["resolved"],
    } | "AssignNewEvents" >> AssignCustomers(shards, broadcast, priority)
    unassigned = [assigned[UNASSIGNED]]
    if incremental:
        affected = beam.pvalue.AsList(
            {"previous": old_identity, "resolved": identity["resolved"]}
            | "AffectedCustomers" >> AffectedCustomers()
        )
        firsts = beam.pvalue.AsList(
            assigned.events | "FirstNewEvents" >> beam.Map(lambda t: first_events([t]))
        )
        # Each earlier file read once: its moving rows (re-stitched), the rows that stay of
        # customers with new events (narrow, their timelines go on from them), and the rows
        # that stay of a file with a moving row (its day is rewritten).
        split = old_timeline("Split") | "SplitEarlierRows" >> beam.ParDo(
            SplitEarlierFiles(shards), affected, firsts
        ).with_output_types(KeyedTable, **EARLIER_OUTPUT_TYPES).with_outputs(
            EARLIER, CARRIED, UNMOVED, main="pulled"
        )
        pulled, continued = split.pulled, split[EARLIER]
        earlier = {"events": pulled, "resolved": identity["resolved"]}
        if not broadcast:
            earlier["occurrences"] = pulled | "PulledOccurrences" >> ExtractGraph.step(
                shards, priority, occurrences_only=True
            )
        restitched = earlier | "AssignEarlierEvents" >> AssignCustomers(shards, broadcast, priority)
        unassigned.append(restitched[UNASSIGNED])
        all_events = (assigned.events, restitched.events) | "AllEvents" >> beam.Flatten()
        timeline_inputs: Any = {"events": all_events, "earlier": continued}
    else:
        timeline_inputs = assigned.events

    timeline = timeline_inputs | "BuildTimeline" >> BuildTimeline(config.stages, shards)
    timeline_parts = {"tables": timeline.timeline}
    if incremental:
        rebuilt_days = beam.pvalue.AsList(
            timeline.timeline
            | "RebuiltDays" >> beam.FlatMap(_days)
            | "DistinctDays" >> beam.Distinct()
        )
        # The files without a moving row wait for the new timeline's days: a shuffle first,
        # so that this step is not fused into the one its side input comes after.
        unmoved = (
            split[UNMOVED]
            | "SpreadUnmoved" >> beam.Reshuffle()
            | "CarryUnmoved"
            >> beam.ParDo(CarryUnmoved(f"{out}/timeline"), rebuilt_days).with_output_types(
                KeyedTable
            )
        )
        timeline_parts["carried"] = (split[CARRIED], unmoved)
    _ = timeline_parts | "WriteTimeline" >> WriteTimeline(f"{out}/timeline", TIMELINE_SCHEMA)

    _ = (
        identity["resolved"]
        | "IdentityRows" >> beam.Values().with_output_types(pa.Table)
        | "WriteIdentityMap"
        >> WriteSortedParts(
            f"{out}/identity_map",
            IDENTITY_MAP_SCHEMA,
            shard_column="node",
            sort_columns=["identifier_type", "identifier_value"],
            parts=parts,
        )
    )
    _ = identity["edges"] | "WriteIdentityEdges" >> WriteSortedParts(
        f"{out}/identity_edges",
        IDENTITY_EDGES_SCHEMA,
        shard_column="u",
        sort_columns=["u", "v"],
        parts=parts,
    )
    _ = (
        identity["conflicts"]
        | "AllConflicts" >> beam.combiners.ToList()
        | "WriteConflicts"
        >> beam.Map(_write_conflicts, f"{out}/identity_conflicts/part-0000.parquet")
    )
    _ = (
        read[QUARANTINE]  # redacted by the reader
        | "WriteQuarantine"
        >> WriteSortedParts(
            f"{out}/quarantine",
            QUARANTINE_SCHEMA,
            shard_column="location",
            sort_columns=["source", "location"],
            parts=parts,
            prefix=f"part-{run.run_id}",
        )
    )
    if run.rebase is None:
        _ = (
            p
            | "PreviousQuarantine" >> beam.Create(list(previous.quarantine))
            | "CarryQuarantine" >> beam.Map(copy_into, f"{out}/quarantine")
        )
    else:
        _ = (
            p
            | "RebaseQuarantine" >> beam.Create(list(run.previous.quarantine))
            | "KeepQuarantine" >> beam.Map(copy_kept_quarantine, f"{out}/quarantine", run.rebase)
        )
    sources = [s.name for s in config.sources]
    _ = (
        (
            read[STATS],
            deduped[DUPLICATES],
            timeline[ACCEPTED],
            identity["unconverged"]
            | "UnconvergedFact" >> beam.Map(lambda n: {"unconverged_nodes": n}),
            tuple(unassigned)
            | "AllUnassigned" >> beam.Flatten()
            | "UnassignedFact" >> beam.Map(lambda n: {"unassigned_events": n}),
        )
        | "AllCounts" >> beam.Flatten()
        | "SummariseCounts" >> beam.CombineGlobally(SummariseCounts())
        | "WriteCounts" >> beam.Map(_write_counts, run, sources)
    )
    return p
