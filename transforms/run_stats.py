"""Per-source counts of one run, merged from the count records every step emits.

Reading emits input and quarantine counts per file, de-duplication emits
duplicate counts, the timeline emits accepted counts; this combiner adds them up
per source so that ``input = accepted + quarantined + duplicates`` can be
checked from data written by the steps themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import apache_beam as beam
import pyarrow as pa

from journeyline.schema import SOURCE_STATS_SCHEMA

COUNTS = (
    "input_count",
    "accepted_count",
    "quarantined_count",
    "duplicate_count",
    "identifiers_dropped",
    "source_rows",
    "skipped_rows",
)
LATEST = ("max_occurred_at", "max_received_at")
PIPELINE_FACTS = ("unconverged_nodes", "unassigned_events", "continued_customers")


def empty_summary() -> dict[str, Any]:
    return {"sources": {}, **{fact: 0 for fact in PIPELINE_FACTS}}


def add_record(summary: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Fold one count record (per-source or pipeline-wide) into the summary."""
    for fact in PIPELINE_FACTS:
        summary[fact] += int(record.get(fact, 0))
    source = record.get("source")
    if source is None:
        return summary
    row = summary["sources"].setdefault(
        source, {**{c: 0 for c in COUNTS}, **{t: None for t in LATEST}}
    )
    for count in COUNTS:
        row[count] += int(record.get(count, 0))
    for latest in LATEST:
        value = record.get(latest)
        if value is not None and (row[latest] is None or value > row[latest]):
            row[latest] = value
    return summary


def merge(summaries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    out = empty_summary()
    for summary in summaries:
        for fact in PIPELINE_FACTS:
            out[fact] += summary[fact]
        for source, row in summary["sources"].items():
            add_record(out, {"source": source, **row})
    return out


class SummariseCounts(beam.CombineFn):
    """CombineFn: count records → one summary (sources → counts, plus pipeline facts)."""

    def create_accumulator(self) -> dict[str, Any]:
        return empty_summary()

    def add_input(self, acc: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        return add_record(acc, record)

    def merge_accumulators(self, accs: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return merge(accs)

    def extract_output(self, acc: dict[str, Any]) -> dict[str, Any]:
        return acc


def source_stats_table(summary: dict[str, Any], run_id: str, sources: list[str]) -> pa.Table:
    """One row per configured source (zeros for a source that had no input)."""
    rows = []
    for source in sorted(set(sources) | set(summary["sources"])):
        counts = summary["sources"].get(source, {})
        rows.append(
            {
                "run_id": run_id,
                "source": source,
                **{c: int(counts.get(c, 0)) for c in COUNTS},
                **{t: counts.get(t) for t in LATEST},
            }
        )
    return pa.Table.from_pylist(rows, schema=SOURCE_STATS_SCHEMA)
