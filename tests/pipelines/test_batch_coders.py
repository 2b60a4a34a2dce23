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
# Steps whose outputs are tables: the main output, and the tagged outputs named here (the
# other tagged outputs are counts, dicts or rows, and stay untyped).
TABLE_STEPS: dict[str, tuple[str | None, ...]] = {
    "ReadSources/ParseFiles": (None,),
    "DropDuplicates/NoneKnown": (None,),
    "ReadIdentity": (None,),
    "ReadEdges": (None,),
    "PreviousStats": (None,),
    "ResolveIdentities/ExtractGraph": (None, "stats", "edges"),
    "ResolveIdentities/AllStats": (None,),
    "ResolveIdentities/GroupStats": (None,),
    "ResolveIdentities/MergeStats": (None,),
    "ResolveIdentities/AllEdges": (None,),
    "ResolveIdentities/MergeEdges": (None,),
    "ResolveIdentities/EdgeEnds": (None,),
    "ResolveIdentities/Degrees": (None,),
    "ResolveIdentities/KeepEdges": (None,),
    "ResolveIdentities/Components/Resolve": (None,),
    "ResolveIdentities/KeyByRoot": (None,),
    "ResolveIdentities/KeyEdges": (None,),
    "ResolveIdentities/KeyEdgesByRoot": (None,),
    "ResolveIdentities/GroupComponents": (None,),
    "ResolveIdentities/GuardAndMint": (None,),
    "AssignNewEvents/ResolvedTables/Values": (None,),
    "AssignNewEvents/PickCustomer": (None,),
    "BuildTimeline/OrderAndStage": (None,),
    "WriteTimeline/SplitByDate": (None,),
    "WriteTimeline/AllDays": (None,),
    "SplitEarlierRows": (None, "earlier", "carried"),
    "CarryUnmoved": (None,),
    "IdentityRows/Values": (None,),
    "WriteIdentityMap/SplitParts": (None,),
    "WriteQuarantine/SplitParts": (None,),
}


def _coders(previous: PreviousState) -> dict[str, dict[str | None, str]]:
    """Step label → its output PCollections' coders by output tag, for the local batch graph."""
    run = BatchRun("run_x", "/lake/runs/run_x.1", FILES, previous)
    pipeline = build_batch_pipeline(default_config(), run, beam_options([]))
    found: dict[str, dict[str | None, str]] = {}

    class Visitor(PipelineVisitor):
        def visit_value(self, value: object, producer: object) -> None:
            if isinstance(value, beam.PCollection):
                coder = beam.coders.registry.get_coder(value.element_type)
                label = producer.full_label.rsplit("/ParDo(", 1)[0]
                for composite in ("/CoGroupByKeyImpl/", "/FlatMap(", "/Map("):
                    label = label.split(composite, 1)[0]
                found.setdefault(label, {})[value.tag] = str(coder)

    pipeline.visit(Visitor())
    return found


def test_table_steps_use_the_arrow_coder_in_full_and_incremental_runs() -> None:
    for previous, skip in (
        (PreviousState(), ("AllDays", "Carry", "Earlier")),
        (PREVIOUS, ("NoneKnown",)),
    ):
        coders = _coders(previous)
        for step, tags in TABLE_STEPS.items():
            if any(word in step for word in skip):
                continue
            assert step in coders, step
            for tag in tags:
                assert "ArrowTableCoder" in coders[step].get(tag, ""), (step, tag, coders[step])
