"""A batch pipeline on the direct runner goes straight to the FnApiRunner, without Prism."""

from __future__ import annotations

import logging

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.util import assert_that, equal_to

from journeyline.config import default_config
from journeyline.run import beam_options
from pipelines.batch import BatchRun, build_batch_pipeline
from pipelines.local_runner import batch_runner
from transforms.read import InputFile


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--runner=direct"],
        ["--runner=Direct"],
        ["--runner=SwitchingDirectRunner"],
        ["--runner=directrunner"],
        ["--runner=apache_beam.runners.direct.direct_runner.DirectRunner"],
    ],
)
def test_the_direct_runner_in_batch_is_the_fn_api_runner(args: list[str]) -> None:
    assert isinstance(batch_runner(beam_options(args)), FnApiRunner)


@pytest.mark.parametrize(
    "args",
    [
        ["--runner=DataflowRunner", "--project=p", "--region=r", "--temp_location=gs://b/t"],
        ["--runner=FlinkRunner"],
        ["--runner=PortableRunner"],
        ["--runner=FnApiRunner"],  # Beam makes it as asked: no Prism attempt to skip
        ["--runner=DirectRunner", "--streaming"],
    ],
)
def test_every_other_runner_and_streaming_are_left_to_beam(args: list[str]) -> None:
    assert batch_runner(PipelineOptions(args)) is None


def test_the_batch_job_is_built_for_the_fn_api_runner() -> None:
    run = BatchRun(
        run_id="run_1",
        attempt_path="/lake/runs/a",
        files=(InputFile("marketing", "/landing/marketing/m.jsonl", 1000, 0.0),),
    )
    pipeline = build_batch_pipeline(default_config(), run, beam_options([]))
    assert isinstance(pipeline.runner, FnApiRunner)


def _prism_lines(caplog: pytest.LogCaptureFixture, pipeline: beam.Pipeline) -> list[str]:
    """Run a small pipeline; the Beam log lines that mention Prism."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="apache_beam"), pipeline:
        doubled = pipeline | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2)
        assert_that(doubled, equal_to([2, 4, 6]))
    return [r.getMessage() for r in caplog.records if "prism" in r.getMessage().lower()]


def test_a_local_batch_run_makes_no_prism_attempt(caplog: pytest.LogCaptureFixture) -> None:
    """Beam's own DirectRunner first tries Prism (a download, offline a failure and a
    fallback); the runner chosen here runs the same pipeline without trying."""
    options = beam_options([])
    assert _prism_lines(caplog, beam.Pipeline(runner=batch_runner(options), options=options)) == []
    # What this module saves (if Beam ever stops trying Prism, the module can go).
    assert _prism_lines(caplog, beam.Pipeline(options=options))
