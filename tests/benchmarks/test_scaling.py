"""Scaling: a time made of a fixed part and a cost per event is told apart from one
whose cost per event grows, whatever the time per event of the sizes says."""

from __future__ import annotations

import math

import pytest

from benchmarks.scaling import fit, format_scaling, scaling

SIZES = (("100k", 100_000), ("1M", 1_000_000), ("3M", 3_000_000))


def rows(seconds) -> list[dict]:
    """Bench rows whose every series takes ``seconds(events)`` (the reference half of it)."""
    return [
        {
            "size": size,
            "input_lines": n,
            "journeyline": {"phases_s": {"beam": seconds(n), "dbt": 5.0}, "whole_s": seconds(n)},
            "reference": {"seconds": seconds(n) / 2},
        }
        for size, n in reversed(SIZES)  # any order
    ]


def test_fit_recovers_a_line() -> None:
    fixed, marginal = fit([(100, 7.0), (300, 11.0), (1_000, 25.0)])
    assert fixed == pytest.approx(5.0) and marginal == pytest.approx(0.02)
    with pytest.raises(ValueError):
        fit([(100, 1.0), (100, 2.0)])


def test_a_fixed_cost_lowers_time_per_event_but_the_work_is_linear() -> None:
    beam, dbt, _, reference = scaling(rows(lambda n: 3.0 + 13e-6 * n))
    assert beam["series"] == "Beam batch job" and reference["series"] == "reference"
    assert beam["fixed_s"] == pytest.approx(3.0) and beam["marginal_us_per_event"] == 13.0
    assert [(s["from"], s["to"], s["us_per_event"]) for s in beam["steps"]] == [
        ("100k", "1M", 13.0),
        ("1M", "3M", 13.0),
    ]
    assert beam["last_step_over_first"] == 1.0 and beam["steps_linear"] is True
    # the target's own measure misses: 3 s fixed dominate the 100k run
    assert beam["per_event_largest_over_smallest"] == pytest.approx(
        (3 / 3e6 + 13e-6) / (3 / 1e5 + 13e-6), abs=0.01
    )
    assert beam["per_event_largest_over_smallest"] < 0.7
    assert reference["fixed_s"] == pytest.approx(1.5)
    assert dbt["marginal_us_per_event"] == 0.0 and dbt["last_step_over_first"] is None


def test_a_cost_per_event_that_grows_is_outside() -> None:
    (beam, *_) = scaling(rows(lambda n: 1e-6 * n * math.log2(n) / 4))
    assert beam["last_step_over_first"] > 1.0
    (beam, *_) = scaling(rows(lambda n: 1e-12 * n * n))
    assert beam["steps_linear"] is False and beam["last_step_over_first"] == pytest.approx(3.64)


def test_one_size_has_no_scaling_and_the_table_shows_the_steps() -> None:
    assert scaling(rows(lambda n: 1.0)[:1]) == []
    assert format_scaling([]) == []
    table = format_scaling(scaling(rows(lambda n: 3.0 + 13e-6 * n)))
    assert table[0].count("|") == table[1].count("|") == table[2].count("|")
    assert "100k→1M µs/event" in table[0] and "1M→3M µs/event" in table[0]
    assert "| Beam batch job | 3.0 | 13.0 | 13.0 | 13.0 | 1.00× (within ±30%) |" in table[2]
