"""pipeline: knobs — which join and how many parse processes each runner gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from apache_beam.runners.runner import create_runner

from journeyline.config import ConfigError, load_config
from journeyline.config.model import PARALLEL_PARSE_BYTES, is_local_runner
from journeyline.dataflow import check_runners, remote_runner
from journeyline.errors import InputError

# Spellings of runner names that Beam accepts: any case, "Runner" left out, a module path.
RUNNER_NAMES = [
    "DirectRunner",
    "direct",
    "Direct",
    "DIRECTRUNNER",
    "SwitchingDirect",
    "apache_beam.runners.direct.direct_runner.DirectRunner",
    "FnApiRunner",
    "fnapi",
    "apache_beam.runners.portability.fn_api_runner.FnApiRunner",
    "DataflowRunner",
    "dataflow",
    "Dataflow",
    "TestDataflowRunner",
    "apache_beam.runners.dataflow.dataflow_runner.DataflowRunner",
    "FlinkRunner",
    "flink",
    "PortableRunner",
    "PrismRunner",
    "prism",
]


def load(tmp_path: Path, text: str):
    path = tmp_path / "journeyline.yml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_auto_broadcasts_and_parses_in_parallel_only_on_the_local_runner(tmp_path: Path) -> None:
    pipeline = load(tmp_path, "pipeline:\n  shards: 4\n").pipeline
    assert pipeline.broadcast_joins(None) and pipeline.broadcast_joins("DirectRunner")
    assert not pipeline.broadcast_joins("DataflowRunner")
    big = PARALLEL_PARSE_BYTES
    assert pipeline.parsers("DirectRunner", big) == max(1, os.cpu_count() or 1)
    assert pipeline.parsers("Direct", big) == pipeline.parsers("DirectRunner", big)
    assert pipeline.parsers("DirectRunner", big - 1) == 1  # starting workers would cost more
    assert pipeline.parsers("DataflowRunner", 100 * big) == 1


@pytest.mark.parametrize("name", RUNNER_NAMES)
def test_a_runner_is_known_however_beam_lets_it_be_named(name: str) -> None:
    """Local (in this process) and remote (Dataflow) as the runner Beam itself creates for
    the name: `--runner Direct` gets the local runner's knobs, `--runner dataflow` the
    Dataflow lake paths and setup.py."""
    runs = type(create_runner(name)).__name__
    assert is_local_runner(name) == (runs in ("SwitchingDirectRunner", "FnApiRunner"))
    assert remote_runner(["--runner", name]) == (runs in ("DataflowRunner", "TestDataflowRunner"))
    assert remote_runner([f"--runner={name}"]) == remote_runner(["--runner", name])
    check_runners(["--runner", name])  # a name Beam accepts is accepted


@pytest.mark.parametrize("name", ["Nonsense", "direkt", "DataflowRunnr"])
def test_a_runner_beam_does_not_know_is_an_input_error_before_the_run(name: str) -> None:
    with pytest.raises(ValueError, match="Unexpected pipeline runner"):
        create_runner(name)  # what Beam says, once the job's pipeline is built
    with pytest.raises(InputError, match=f"--runner {name}: Apache Beam has no runner") as err:
        check_runners(["--project=p", f"--runner={name}"])
    assert "DataflowRunner" in err.value.hint and "DirectRunner" in err.value.hint


def test_explicit_settings_win_on_every_runner(tmp_path: Path) -> None:
    text = "pipeline:\n  joins: shuffle\n  parse_processes: 3\n"
    pipeline = load(tmp_path, text).pipeline
    assert not pipeline.broadcast_joins("DirectRunner")
    assert pipeline.parsers("DataflowRunner", 0) == 3
    assert load(tmp_path, "pipeline:\n  joins: broadcast\n").pipeline.broadcast_joins(
        "DataflowRunner"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("pipeline:\n  joins: broadcats\n", "'broadcast'"),
        ("pipeline:\n  parse_processes: -1\n", "parse_processes"),
    ],
)
def test_a_bad_pipeline_knob_names_the_line(tmp_path: Path, body: str, words: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, body)
    assert error.value.line == 2, str(error.value)
    assert words in str(error.value)
