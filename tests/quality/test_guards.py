"""The join guards and per-source history checks (SPEC §8.2, §8.3) on a hand-made staging schema."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import pytest

from journeyline.config import Config
from journeyline.quality import CheckResult, run_gates
from tests.quality.dq_warehouse import STAGING, with_check

S = STAGING


def run(con: duckdb.DuckDBPyConnection, config: Config) -> dict[str, CheckResult]:
    return {r.check_name: r for r in run_gates(con, S, "run-1", config)}


def failing(results: dict[str, CheckResult]) -> set[str]:
    return {name for name, r in results.items() if r.status != "pass"}


def add_history(con: duckdb.DuckDBPyConnection, run_id: str, day: int, inputs: int) -> None:
    """One more published run in the run log, every source with ``inputs`` input rows."""
    con.execute(
        f"insert into {S}.stg_ops__pipeline_runs values "
        f"(?, timestamptz '2024-01-01 00:00:00+00' + to_days(?), 'published')",
        [run_id, day],
    )
    con.execute(
        f"insert into {S}.stg_ops__source_runs "
        f"select * replace (? as run_id, ?::bigint as input_count) "
        f"from {S}.stg_lake__source_stats",
        [run_id, inputs],
    )


def renumber(con: duckdb.DuckDBPyConnection) -> None:
    """event_seq 1..n again after events moved between customers."""
    con.execute(
        f"create or replace table {S}.customer_timeline as select * replace ("
        "row_number() over (partition by customer_id order by occurred_at, event_id) as event_seq"
        f") from {S}.customer_timeline"
    )


def test_a_90_percent_volume_drop_fails_source_volume_as_an_error(con, config):
    con.execute(f"update {S}.stg_lake__source_stats set input_count = 100 where source = 'sales'")
    # keep the other invariants true: the drop is in what arrived, not in the bookkeeping
    con.execute(f"update {S}.stg_lake__source_stats set accepted_count = 80 where source = 'sales'")

    results = run(con, config)

    r = results["source_volume"]
    assert failing(results) == {"source_volume", "quarantine_rate"}  # 10 of 100 now quarantined
    assert (r.status, r.severity, r.blocks_publish) == ("fail", "error", True)
    assert r.observed_value == pytest.approx(-0.9)
    assert r.threshold == ">= -0.5"
    assert r.samples[0]["source"] == "sales"
    assert r.samples[0]["baseline_input"] == 1000
    assert "1 of 3 source rows breach" in r.details and "sales -0.9" in r.details


def test_the_baseline_is_the_median_of_the_last_runs_published(con, config):
    # run-0 (1000) is the oldest; with runs: 3 the baseline is median(400, 500, 600) = 500.
    add_history(con, "run-a", 40, 400)
    add_history(con, "run-b", 41, 600)
    add_history(con, "run-c", 42, 500)
    con.execute(
        f"insert into {S}.stg_ops__pipeline_runs values "
        "('run-x', timestamptz '2024-02-20 00:00:00+00', 'blocked')"
    )
    cfg = with_check(config, "source_volume", runs=3)

    r = run(con, cfg)["source_volume"]

    assert r.status == "pass"  # 1000 now is +100%: only drops are bounded by default
    assert r.observed_value == pytest.approx(1.0)
    bounded = run(con, with_check(config, "source_volume", runs=3, max=0.5))["source_volume"]
    assert (bounded.status, bounded.threshold) == ("fail", "between -0.5 and 0.5")
    assert bounded.samples[0]["history_runs"] == 3
    # runs: 5 (default) takes all four published runs: median(400, 500, 600, 1000) = 550
    assert run(con, config)["source_volume"].observed_value == pytest.approx(1000 / 550 - 1)


def test_first_run_without_history_passes_with_a_note(con, config):
    con.execute(f"delete from {S}.stg_ops__pipeline_runs where run_id = 'run-0'")

    r = run(con, config)["source_volume"]

    assert (r.status, r.observed_value) == ("pass", None)
    assert "no published run with input to compare with" in r.details


def test_a_run_that_read_no_input_is_not_a_volume_drop(con, config):
    """An erasure re-stitch reads no files: nothing to judge, and no baseline later."""
    con.execute(f"update {S}.stg_lake__source_stats set input_count = 0")

    r = run(con, config)["source_volume"]

    assert (r.status, r.observed_value) == ("pass", None)
    assert "no input in this run" in r.details


def test_a_source_with_a_tiny_baseline_is_not_judged(con, config):
    """Four rows down to none is noise (a sparse source in a short window), not an outage."""
    con.execute(f"delete from {S}.stg_ops__source_runs where source = 'sales'")
    for i in range(3):
        con.execute(
            f"insert into {S}.stg_ops__source_runs select * replace (?::bigint as input_count) "
            f"from {S}.stg_ops__source_runs where source = 'marketing' and run_id = ?",
            [4, f"run-{i}"],
        )
        con.execute(
            f"update {S}.stg_ops__source_runs set source = 'sales' "
            f"where source = 'marketing' and run_id = ? and input_count = 4",
            [f"run-{i}"],
        )
    con.execute(f"update {S}.stg_lake__source_stats set input_count = 0 where source = 'sales'")

    results = run(con, config)
    assert "source_volume" not in failing(results)
    strict = run(con, with_check(config, "source_volume", min_rows=0))["source_volume"]
    assert strict.status == "fail" and "sales -1" in strict.details


def test_the_current_run_is_never_its_own_baseline(con, config):
    # A re-run of a published input: its own earlier result must not count as history.
    con.execute(f"update {S}.stg_ops__pipeline_runs set status = 'published'")
    con.execute(f"update {S}.stg_lake__source_stats set input_count = 100, accepted_count = 80")

    r = run(con, config)["source_volume"]

    assert r.status == "fail" and r.observed_value == pytest.approx(-0.9)


def test_a_stale_source_fails_source_freshness_as_a_warning(con, config):
    con.execute(
        f"update {S}.stg_lake__source_stats set max_received_at = max_received_at - "
        "interval 5 days where source = 'service'"
    )

    results = run(con, config)

    r = results["source_freshness"]
    assert failing(results) == {"source_freshness"}
    assert (r.status, r.severity, r.blocks_publish) == ("fail", "warn", False)
    assert r.observed_value == pytest.approx(120.0)
    assert r.threshold == "<= 96"
    assert r.samples[0]["source"] == "service"


def test_freshness_is_measured_from_the_input_not_the_clock(con, config):
    # Every source equally old (years ago): nothing lags the newest source.
    r = run(con, config)["source_freshness"]

    assert (r.status, r.observed_value) == ("pass", 0.0)


def test_rows_without_a_usable_identifier_fail_identifier_null_rate(con, config):
    con.execute(
        f"insert into {S}.stg_lake__quarantine select 'run-1', 'sales', 'no_valid_identifier', "
        "'no usable identifier', '{}', timestamptz '2024-03-01 00:00:00+00', 'f:' || range "
        "from range(80)"
    )

    r = run(con, config)["identifier_null_rate"]

    assert (r.status, r.severity) == ("fail", "warn")
    assert r.observed_value == pytest.approx(0.08)
    assert r.samples[0]["rows_without_identifier"] == 80


def test_a_stream_on_an_island_fails_match_rate(con, config):
    # Sales events of five customers move to customers of their own: they join nothing.
    con.execute(
        f"update {S}.customer_timeline set customer_id = 'island-' || customer_id "
        "where stream = 'sales' and customer_id in ('c-0', 'c-1', 'c-2', 'c-3', 'c-4')"
    )
    con.execute(
        f"insert into {S}.customers select * replace ('island-' || customer_id as customer_id) "
        f"from {S}.customers where customer_id in ('c-0', 'c-1', 'c-2', 'c-3', 'c-4')"
    )
    renumber(con)

    results = run(con, config)

    r = results["match_rate"]
    assert failing(results) == {"match_rate"}
    assert (r.status, r.severity, r.blocks_publish) == ("fail", "error", True)
    assert r.observed_value == pytest.approx(0.75)  # 30 of 40 sales events still matched
    assert r.threshold == ">= 0.8"
    assert [s["stream"] for s in r.samples] == ["sales"]


def test_match_rate_judges_only_the_targeted_streams(con, config):
    con.execute(
        f"update {S}.customer_timeline set customer_id = 'm-' || customer_id "
        "where stream = 'marketing'"
    )
    con.execute(
        f"insert into {S}.customers select * replace ('m-' || customer_id as customer_id) "
        f"from {S}.customers"
    )
    renumber(con)

    assert run(con, config)["match_rate"].status == "pass"  # targets: sales, service
    everything = with_check(config, "match_rate", targets=None)
    r = run(con, everything)["match_rate"]
    assert r.status == "fail" and r.samples[0]["stream"] == "marketing"


def test_a_super_node_fails_component_size_against_the_identity_limit(con, config):
    con.execute(
        f"insert into {S}.identity_map select 'anonymous_id', 'anon-' || range, 'c-7', "
        "timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-02 00:00:00+00' "
        "from range(150)"
    )
    small = replace(config, identity=replace(config.identity, max_component_size=100))

    results = run(con, small)

    r = results["component_size"]
    assert failing(results) == {"component_size"}
    assert (r.status, r.severity, r.blocks_publish) == ("fail", "error", True)
    assert (r.observed_value, r.threshold) == (151, "<= 100")
    assert r.samples[0]["customer_id"] == "c-7"
    assert "anonymous_id:anon-0" in r.samples[0]["some_identifiers"]
    assert run(con, config)["component_size"].status == "pass"  # default limit: 500


def test_more_identifiers_of_a_type_than_allowed_fails_identifier_limits(con, config):
    con.execute(
        f"insert into {S}.identity_map select 'user_id', 'u-' || range, 'c-3', "
        "timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-02 00:00:00+00' "
        "from range(2)"
    )

    r = run(con, config)["identifier_limits"]

    assert (r.status, r.severity, r.observed_value) == ("fail", "error", 1)
    assert r.samples == (
        {"customer_id": "c-3", "identifier_type": "user_id", "held": 2, "type_limit": 1},
    )
    assert "worst: c-3 holds 2 user_id, limit 1" in r.details


def test_a_refused_super_node_is_reported_as_a_warning_that_does_not_block(con, config):
    assert "super_nodes" not in failing(run(con, config))  # a shared identifier is not one
    con.execute(
        f"insert into {S}.identity_conflicts values ('super_node', 'email', 'info@acme.co', "
        "'c-9', null, null, null, 'linked to 612 identifiers; a customer may hold 500')"
    )
    results = run(con, config)
    assert failing(results) == {"super_nodes"}
    result = results["super_nodes"]
    assert (result.severity, result.observed_value, result.blocks_publish) == ("warn", 1, False)
    assert result.samples[0]["identifier_value"] == "info@acme.co"
    assert "info@acme.co" in result.message()
