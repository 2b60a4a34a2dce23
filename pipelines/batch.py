"""The batch job as a Beam pipeline: sources → contract → de-dup → identity → timeline → lake.

``build_batch_pipeline`` returns the pipeline without running it, so the same
graph is run locally, dry-run for Dataflow, or inspected in tests. Every step
is a composite from ``transforms/``; this module only wires them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from journeyline.config import Config
from journeyline.schema import IDENTITY_MAP_SCHEMA, QUARANTINE_SCHEMA, TIMELINE_SCHEMA
from transforms.dedup import DUPLICATES, DropDuplicateEvents
from transforms.identity import ResolveIdentities
from transforms.read import QUARANTINE, STATS, InputFile, ReadSources
from transforms.run_stats import SummariseCounts, source_stats_table
from transforms.sinks import WriteSortedParts, WriteTimeline, write_json, write_parquet
from transforms.timeline import ACCEPTED, BuildTimeline

COUNTS_FILE = "_counts.json"


@dataclass(frozen=True)
class BatchRun:
    """What one batch run reads and where it writes."""

    run_id: str
    attempt_path: str
    files: tuple[InputFile, ...]


def _write_counts(summary: dict[str, Any], run: BatchRun, sources: list[str]) -> str:
    write_parquet(
        source_stats_table(summary, run.run_id, sources),
        f"{run.attempt_path}/source_stats/part-0000.parquet",
    )
    return write_json(summary, f"{run.attempt_path}/{COUNTS_FILE}")


def build_batch_pipeline(config: Config, run: BatchRun, options: PipelineOptions) -> beam.Pipeline:
    """The batch job's pipeline graph (not yet run)."""
    shards = config.pipeline.shards
    out = run.attempt_path
    parts = max(1, shards // 4)
    pipeline = beam.Pipeline(options=options)

    read = pipeline | "ReadSources" >> ReadSources(config, run.run_id, list(run.files))
    deduped = read.events | "DropDuplicates" >> DropDuplicateEvents(shards)
    identity = deduped.events | "ResolveIdentities" >> ResolveIdentities(
        shards, config.identity.max_rounds
    )
    timeline = identity["events"] | "BuildTimeline" >> BuildTimeline(config.stages, shards)

    _ = timeline.timeline | "WriteTimeline" >> WriteTimeline(f"{out}/timeline", TIMELINE_SCHEMA)
    _ = identity["identity"] | "WriteIdentityMap" >> WriteSortedParts(
        f"{out}/identity_map",
        IDENTITY_MAP_SCHEMA,
        shard_column="identifier_value",
        sort_columns=["identifier_type", "identifier_value"],
        parts=parts,
    )
    _ = read[QUARANTINE] | "WriteQuarantine" >> WriteSortedParts(
        f"{out}/quarantine",
        QUARANTINE_SCHEMA,
        shard_column="location",
        sort_columns=["source", "location"],
        parts=parts,
    )
    sources = [s.name for s in config.sources]
    _ = (
        (
            read[STATS],
            deduped[DUPLICATES],
            timeline[ACCEPTED],
            identity["unconverged"]
            | "UnconvergedFact" >> beam.Map(lambda n: {"unconverged_nodes": n}),
            identity["unassigned"]
            | "UnassignedFact" >> beam.Map(lambda n: {"unassigned_events": n}),
        )
        | "AllCounts" >> beam.Flatten()
        | "SummariseCounts" >> beam.CombineGlobally(SummariseCounts())
        | "WriteCounts" >> beam.Map(_write_counts, run, sources)
    )
    return pipeline
