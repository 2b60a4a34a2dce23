"""pipeline: knobs — which join and how many parse processes each runner gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from journeyline.config import ConfigError, load_config
from journeyline.config.model import PARALLEL_PARSE_BYTES


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
    assert pipeline.parsers("DirectRunner", big - 1) == 1  # starting workers would cost more
    assert pipeline.parsers("DataflowRunner", 100 * big) == 1


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
