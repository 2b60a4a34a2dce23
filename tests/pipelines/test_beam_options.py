"""The local runner is the default, and a user's own runner options are not overridden."""

from __future__ import annotations

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from journeyline.run import beam_options


def test_the_default_is_the_in_memory_direct_runner() -> None:
    options = beam_options([])
    assert options.view_as(StandardOptions).runner == "DirectRunner"
    direct = options.view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("in_memory", 1)


def test_the_users_direct_runner_options_win() -> None:
    options = beam_options(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    direct = options.view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_processing", 2)
    assert options.view_as(StandardOptions).runner == "DirectRunner"
