"""The batch job's table steps are typed, so their tables cross steps as Arrow IPC.

An untyped step gets Beam's pickling coder: its tables are pickled whenever Beam samples
output sizes (nearly every table, they are few and large), and a pickled zero-copy slice
would carry its parent's whole buffers (``slice_by_shard`` relies on the types below).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.pipeline import PipelineVisitor

from journeyline.config import default_config
from journeyline.run import beam_options
from pipelines.batch import BatchRun, PreviousState, build_batch_pipeline
from transforms.read import InputFile

FILES = (InputFile("marketing", "/landing/marketing/m.jsonl", 1000, 0.0),)
PREVIOUS = PreviousState(
    timeline=("/lake/runs/a/timeline/event_date=2025-01-02/part-0.parquet",),
    identity_map=("/lake/runs/a/identity_map/part-0000.parquet",),
    identity_edges=("/lake/runs/a/identity_edges/part-0000.parquet",),
)
# Steps whose outputs are tables (the tagged count outputs are dicts and stay untyped).
TABLE_STEPS = (
    "ReadSources/ParseFiles",
    "DropDuplicates/NoneKnown",
    "BuildTimeline/OrderAndStage",
    "WriteTimeline/SplitByDate",
    "WriteTimeline/AllDays",
    "CarryUnchanged",
)


def _coders(previous: PreviousState) -> dict[str, list[str]]:
    """Step label → the coders of its output PCollections, for the local batch graph."""
    run = BatchRun("run_x", "/lake/runs/run_x.1", FILES, previous)
    pipeline = build_batch_pipeline(default_config(), run, beam_options([]))
    found: dict[str, list[str]] = {}

    class Visitor(PipelineVisitor):
        def visit_value(self, value: object, producer: object) -> None:
            if isinstance(value, beam.PCollection):
                coder = beam.coders.registry.get_coder(value.element_type)
                label = producer.full_label
                found.setdefault(label.rsplit("/ParDo(", 1)[0], []).append(str(coder))

    pipeline.visit(Visitor())
    return found


def test_table_steps_use_the_arrow_coder_in_full_and_incremental_runs() -> None:
    for previous, steps in (
        (PreviousState(), [s for s in TABLE_STEPS if "AllDays" not in s and "Carry" not in s]),
        (PREVIOUS, [s for s in TABLE_STEPS if "NoneKnown" not in s]),
    ):
        coders = _coders(previous)
        for step in steps:
            assert step in coders, step
            tables = [c for c in coders[step] if not c.startswith("MapCoder")]  # not counts
            assert tables and all("ArrowTableCoder" in c for c in tables), (step, coders[step])
