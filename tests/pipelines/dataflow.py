"""Dataflow job graphs built offline: DataflowRunner with --dry_run builds the whole job
(packaging the code with setup.py) without submitting it; tests assert on its proto."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.portability.api import beam_runner_api_pb2

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "journeyline-test"
BUCKET = f"gs://{PROJECT}-dataflow"


def dataflow_options(*extra: str) -> PipelineOptions:
    """The options `journeyline run --runner DataflowRunner …` passes, plus --dry_run."""
    return PipelineOptions(
        [
            "--runner=DataflowRunner",
            f"--project={PROJECT}",
            "--region=europe-west1",
            f"--temp_location={BUCKET}/tmp",
            f"--staging_location={BUCKET}/staging",
            f"--setup_file={ROOT / 'setup.py'}",
            "--dry_run=True",
            # Nothing is submitted; never look for credentials (no metadata-server probe).
            "--no_auth",
            *extra,
        ]
    )


def dry_run(
    build: Callable[[PipelineOptions], beam.Pipeline], *extra: str
) -> beam_runner_api_pb2.Pipeline:
    """Build a pipeline for Dataflow and return the job's pipeline proto (nothing submitted)."""
    result = build(dataflow_options(*extra)).run()
    return result.job.proto_pipeline


def transform_names(proto: beam_runner_api_pb2.Pipeline) -> set[str]:
    """Every transform's full name (``Outer/Inner``) in the job graph."""
    return {t.unique_name for t in proto.components.transforms.values()}
