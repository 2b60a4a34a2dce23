"""One view per options class: the values stay shared as Beam's views share them, and
building the batch pipeline no longer makes a parser per transform."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from apache_beam.options.pipeline_options import (
    DebugOptions,
    DirectOptions,
    GoogleCloudOptions,
    PipelineOptions,
    StandardOptions,
    TypeOptions,
)

from journeyline.config import default_config
from journeyline.run import beam_options
from pipelines.batch import BatchRun, PreviousState, build_batch_pipeline
from pipelines.options import SharedViewOptions
from transforms.read import InputFile

ARGS = ["--runner=DirectRunner", "--direct_num_workers=1", "--experiments=a", "--project=p"]
CLASSES = (StandardOptions, DirectOptions, DebugOptions, TypeOptions, GoogleCloudOptions)


def test_each_class_is_viewed_once_and_the_view_is_live() -> None:
    options = SharedViewOptions(ARGS)
    standard = options.view_as(StandardOptions)
    assert options.view_as(StandardOptions) is standard
    standard.streaming = True  # a write through one view is seen through every other
    assert options.view_as(StandardOptions).streaming is True
    assert options.get_all_options()["streaming"] is True


def test_the_values_are_those_of_beams_own_options() -> None:
    shared, plain = SharedViewOptions(ARGS), PipelineOptions(ARGS)
    for cls in CLASSES:
        shared.view_as(cls), plain.view_as(cls)
    shared.view_as(DebugOptions).add_experiment("b")
    plain.view_as(DebugOptions).add_experiment("b")
    assert shared.view_as(DebugOptions).experiments == ["a", "b"]
    assert shared.get_all_options() == plain.get_all_options()


def test_a_deep_copy_shares_its_own_values_not_the_originals() -> None:
    """``beam.Pipeline`` deep-copies its options: the copy's views read the copy."""
    options = SharedViewOptions(ARGS)
    options.view_as(StandardOptions)
    copied = copy.deepcopy(options)
    copied.view_as(StandardOptions).runner = "Other"
    assert copied.get_all_options()["runner"] == "Other"
    assert options.view_as(StandardOptions).runner == "DirectRunner"
    assert copied.view_as(StandardOptions) is not options.view_as(StandardOptions)


def test_building_the_batch_pipeline_makes_each_view_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beam's own options make about 950 views for this build (a parser each)."""
    made: Counter[tuple[int, type]] = Counter()
    original = PipelineOptions.view_as

    def counted(self: PipelineOptions, cls: type) -> PipelineOptions:
        if isinstance(self, SharedViewOptions):
            made[id(self), cls] += 1
        return original(self, cls)

    monkeypatch.setattr(PipelineOptions, "view_as", counted)
    files = (InputFile("marketing", "/landing/marketing/m.jsonl", 1000, 0.0),)
    previous = PreviousState(("/lake/t.parquet",), ("/lake/m.parquet",), ("/lake/e.parquet",))
    build_batch_pipeline(
        default_config(), BatchRun("run_x", "/lake/runs/run_x.1", files, previous), beam_options([])
    )
    assert made, "the build asked for no views: the options are not SharedViewOptions"
    assert max(made.values()) == 1
