"""The batch and streaming job graphs build for Dataflow offline (DataflowRunner, --dry_run)."""

from __future__ import annotations

import os
from dataclasses import replace

from journeyline.config import default_config
from pipelines import streaming
from pipelines.batch import BatchRun, PreviousState, build_batch_pipeline
from tests.conftest import TEST_HASH_KEY
from tests.pipelines.dataflow import BUCKET, PROJECT, dry_run, transform_names
from transforms.read import InputFile
from transforms.retract import Retraction

LAKE = f"{BUCKET}/lake"
PREVIOUS = PreviousState(
    timeline=(f"{LAKE}/runs/a/timeline/event_date=2025-01-02/part-0.parquet",),
    identity_map=(f"{LAKE}/runs/a/identity_map/part-0000.parquet",),
    identity_edges=(f"{LAKE}/runs/a/identity_edges/part-0000.parquet",),
    quarantine=(f"{LAKE}/runs/a/quarantine/part-run_a-0000.parquet",),
)
FILES = tuple(
    InputFile(stream, f"{BUCKET}/landing/{stream}/dt=2025-02-01/{stream}.jsonl", 1000, 0.0)
    for stream in ("marketing", "sales", "service")
)
BATCH_STEPS = {
    "ReadSources",
    "DropDuplicates",
    "ResolveIdentities",
    "AssignNewEvents",
    "AffectedCustomers",
    "SplitEarlierRows",
    "BuildTimeline",
    "CarryUnmoved",
    "WriteTimeline",
    "WriteIdentityMap",
    "WriteQuarantine",
    "CarryQuarantine",
    "SummariseCounts",
}


def _batch(run: BatchRun) -> set[str]:
    config = default_config()
    proto = dry_run(lambda options: build_batch_pipeline(config, run, options))
    blob = proto.SerializeToString()
    # The hash key stays in the launcher's environment: never in the job graph.
    assert os.environ["JOURNEYLINE_HASH_KEY"] == TEST_HASH_KEY
    assert TEST_HASH_KEY.encode() not in blob
    return transform_names(proto)


def test_the_incremental_batch_graph_builds_for_dataflow() -> None:
    names = _batch(BatchRun("run_x", f"{LAKE}/runs/run_x.1", FILES, PREVIOUS))
    top = {name.split("/")[0] for name in names}
    assert top >= BATCH_STEPS
    assert "KeepUnretracted" not in top


def test_a_window_rerun_graph_retracts_and_rebuilds_for_dataflow() -> None:
    retract = Retraction(files=frozenset(f.path for f in FILES))
    names = _batch(BatchRun("run_x", f"{LAKE}/runs/run_x.2", FILES, PREVIOUS, retract))
    top = {name.split("/")[0] for name in names}
    assert {"KeepUnretracted", "KeptEventIds", "WithKeptEvents", "KeepQuarantine"} <= top
    assert "CarryQuarantine" not in top


def test_the_streaming_graph_builds_for_dataflow_without_the_hash_key() -> None:
    """The streaming graph hashes identifiers too, and the key never enters the job graph."""
    config = default_config()
    config = replace(
        config,
        streaming=replace(
            config.streaming,
            input="pubsub",
            pubsub_subscriptions={
                s.name: f"projects/{PROJECT}/subscriptions/{s.name}" for s in config.sources
            },
            bigquery_dataset=f"{PROJECT}.journeyline_lake",
        ),
    )
    run = streaming.StreamRun(run_id="stream_x", output=f"{LAKE}/stream")
    proto = dry_run(
        lambda options: streaming.build_stream_pipeline(config, run, options), "--streaming"
    )
    names = transform_names(proto)
    assert any(name.startswith("StreamJourneys") for name in names)
    assert TEST_HASH_KEY.encode() not in proto.SerializeToString()
