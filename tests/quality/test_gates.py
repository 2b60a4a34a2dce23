"""run_gates on a DuckDB staging schema: clean tables pass, each injected fault fails its check."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from journeyline.config import Config
from journeyline.quality import CheckResult, run_gates
from journeyline.quality import gates as gates_module
from tests.quality.dq_warehouse import STAGING, with_check

S = STAGING


def run(con: duckdb.DuckDBPyConnection, config: Config, **kwargs: object) -> dict[str, CheckResult]:
    results = run_gates(con, S, "run-1", config, **kwargs)  # type: ignore[arg-type]
    return {r.check_name: r for r in results}


def failing(results: dict[str, CheckResult]) -> set[str]:
    return {name for name, r in results.items() if r.status != "pass"}


def test_clean_warehouse_passes_every_configured_check(con, config):
    results = run_gates(con, S, "run-1", config)

    assert [r.check_name for r in results] == list(config.quality)
    assert all(r.status == "pass" for r in results), [r.message() for r in results]
    assert not any(r.blocks_publish for r in results)
    for r in results:
        assert r.severity == config.check(r.check_name).severity
        assert r.run_id == "run-1"
        assert r.samples == ()
    by_name = {r.check_name: r for r in results}
    assert by_name["unique_event_id"].observed_value == 0
    assert by_name["unique_event_id"].threshold == "= 0"
    assert by_name["quarantine_rate"].observed_value == pytest.approx(0.01)
    assert by_name["quarantine_rate"].threshold == "<= 0.05"


def test_reconciliation_flags_the_source_whose_counts_do_not_add_up(con, config):
    con.execute(
        f"update {S}.stg_lake__source_stats set accepted_count = 900 where source = 'sales'"
    )

    results = run(con, config)

    r = results["reconciliation"]
    assert failing(results) == {"reconciliation"}
    assert (r.status, r.severity, r.observed_value, r.target) == (
        "fail",
        "error",
        1,
        "stg_lake__source_stats",
    )
    assert r.blocks_publish
    assert r.samples == (
        {
            "run_id": "run-1",
            "source": "sales",
            "input_count": 1000,
            "accepted_count": 900,
            "quarantined_count": 10,
            "duplicate_count": 10,
            "difference": 80,
        },
    )
    assert "1 of 3 source rows do not reconcile" in r.details


def test_reconciliation_treats_a_null_count_as_not_reconciling(con, config):
    con.execute(
        f"update {S}.stg_lake__source_stats set duplicate_count = null where source = 'service'"
    )

    r = run(con, config)["reconciliation"]

    assert (r.status, r.observed_value) == ("fail", 1)
    assert r.samples[0]["source"] == "service"


def test_duplicate_event_id_fails_unique_event_id(con, config):
    # The duplicate sits at the end of another customer's timeline, so event_seq stays contiguous.
    con.execute(f"""insert into {S}.customer_timeline
                    select * replace ('c-0' as customer_id, 6::bigint as event_seq)
                    from {S}.customer_timeline where event_id = 'e-1-1'""")

    results = run(con, config)

    r = results["unique_event_id"]
    assert failing(results) == {"unique_event_id"}
    assert (r.status, r.severity, r.observed_value) == ("fail", "error", 1)
    assert r.samples == (
        {"event_id": "e-1-1", "occurrences": 2, "customers": 2, "customer_ids": "c-0, c-1"},
    )
    assert r.message() == (
        "✗ unique_event_id on customer_timeline: 1 event_id occurs more than once "
        "(1 surplus row among 101 events) (observed 1, threshold = 0) [error]"
    )


def test_gap_and_duplicate_in_event_seq_fail_contiguity(con, config):
    con.execute(f"update {S}.customer_timeline set event_seq = 7 where event_id = 'e-3-4'")
    con.execute(f"update {S}.customer_timeline set event_seq = 4 where event_id = 'e-9-4'")

    results = run(con, config)

    r = results["contiguous_event_seq"]
    assert failing(results) == {"contiguous_event_seq"}
    assert (r.status, r.observed_value, r.blocks_publish) == ("fail", 2, True)
    assert r.samples == (
        {"customer_id": "c-3", "events": 5, "min_seq": 1, "max_seq": 7, "distinct_seqs": 5},
        {"customer_id": "c-9", "events": 5, "min_seq": 1, "max_seq": 4, "distinct_seqs": 4},
    )
    assert r.message().startswith(
        "✗ contiguous_event_seq on customer_timeline: 2 of 20 customers with gaps or "
        "duplicates in event_seq (observed 2, threshold = 0) [error]"
    )


def test_sequence_not_starting_at_one_fails_contiguity(con, config):
    con.execute(
        f"update {S}.customer_timeline set event_seq = event_seq + 1 where customer_id = 'c-4'"
    )

    r = run(con, config)["contiguous_event_seq"]

    assert (r.status, r.observed_value) == ("fail", 1)
    assert r.samples[0]["min_seq"] == 2


def test_timeline_customer_missing_from_customers(con, config):
    con.execute(f"delete from {S}.customers where customer_id = 'c-5'")

    results = run(con, config)

    r = results["timeline_customers_exist"]
    assert failing(results) == {"timeline_customers_exist"}
    assert (r.status, r.observed_value) == ("fail", 1)
    assert r.samples == ({"customer_id": "c-5", "events": 5},)


def test_funnel_that_increases_down_the_stages_fails(con, config):
    con.execute(f"""update {S}.fct_journey_funnel set customers_reached = 600
                    where stage = 'mql' and dimension_value = 'web'
                      and cohort_month = date '2024-01-01'""")

    results = run(con, config)

    r = results["funnel_monotonic"]
    assert failing(results) == {"funnel_monotonic"}
    assert (r.status, r.observed_value, r.target) == ("fail", 1, "fct_journey_funnel")
    sample = r.samples[0]
    assert (sample["previous_stage"], sample["previous_reached"]) == ("lead", 500)
    assert (sample["stage"], sample["customers_reached"]) == ("mql", 600)
    assert sample["cohort_month"].startswith("2024-01-01")


def test_funnel_stage_order_comes_from_config(con, config):
    reversed_order = replace(
        config, stages=replace(config.stages, order=tuple(reversed(config.stages.order)))
    )

    r = run(con, reversed_order)["funnel_monotonic"]

    # 2 cohorts × 2 channels, each with 6 increasing steps once the order is reversed.
    assert (r.status, r.observed_value) == ("fail", 24)


def test_funnel_ignores_stages_outside_the_configured_order(con, config):
    con.execute(f"""insert into {S}.fct_journey_funnel
                    select * replace ('lost' as stage, 5000::bigint as customers_reached)
                    from {S}.fct_journey_funnel where stage = 'advocate'""")

    assert run(con, config)["funnel_monotonic"].status == "pass"


def test_identifier_on_two_customers_fails(con, config):
    con.execute(
        f"insert into {S}.identity_map values ('email', 'h-1', 'c-2', "
        "timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-02 00:00:00+00')"
    )

    results = run(con, config)

    r = results["identifier_single_customer"]
    assert failing(results) == {"identifier_single_customer"}
    assert (r.status, r.observed_value, r.target) == ("fail", 1, "identity_map")
    assert r.samples == (
        {
            "identifier_type": "email",
            "identifier_value": "h-1",
            "customers": 2,
            "customer_ids": "c-1, c-2",
        },
    )


def test_quarantine_rate_above_threshold_warns_without_blocking(con, config):
    con.execute(f"""update {S}.stg_lake__source_stats
                    set quarantined_count = 200, accepted_count = 790 where source = 'sales'""")

    results = run(con, config)

    r = results["quarantine_rate"]
    assert failing(results) == {"quarantine_rate"}
    assert (r.status, r.severity, r.threshold) == ("fail", "warn", "<= 0.05")
    assert r.observed_value == pytest.approx(0.2)
    assert not r.blocks_publish
    assert r.samples[0]["source"] == "sales"
    assert r.samples[0]["quarantine_rate"] == pytest.approx(0.2)
    assert r.message().startswith("✗ quarantine_rate on stg_lake__source_stats:")
    assert r.message().endswith("(observed 0.2, threshold <= 0.05) [warn]")


def test_quarantine_rate_threshold_and_severity_come_from_config(con, config):
    con.execute(f"""update {S}.stg_lake__source_stats
                    set quarantined_count = 200, accepted_count = 790 where source = 'sales'""")

    lenient = run(con, with_check(config, "quarantine_rate", max=0.25))["quarantine_rate"]
    strict = run(con, with_check(config, "quarantine_rate", severity="error"))["quarantine_rate"]
    floor = run(con, with_check(config, "quarantine_rate", min=0.05, max=None))["quarantine_rate"]

    assert (lenient.status, lenient.threshold) == ("pass", "<= 0.25")
    assert (strict.status, strict.blocks_publish) == ("fail", True)
    assert (floor.status, floor.threshold) == ("fail", ">= 0.05")
    assert floor.observed_value == pytest.approx(0.01)
    assert [s["source"] for s in floor.samples] == ["marketing", "service"]


def test_identifier_drop_rate_above_threshold_warns(con, config):
    con.execute(
        f"update {S}.stg_lake__source_stats set identifiers_dropped = 300 "
        "where source = 'marketing'"
    )

    results = run(con, config)

    r = results["identifier_drop_rate"]
    assert failing(results) == {"identifier_drop_rate"}
    assert (r.status, r.severity, r.blocks_publish) == ("fail", "warn", False)
    assert r.observed_value == pytest.approx(0.3)
    assert r.samples[0]["identifiers_dropped"] == 300


def test_rate_check_without_threshold_is_an_error(con, config):
    r = run(con, with_check(config, "identifier_drop_rate", max=None))["identifier_drop_rate"]

    assert (r.status, r.observed_value) == ("error", None)
    assert "quality.checks.identifier_drop_rate.max" in r.details


def test_count_threshold_from_config_tolerates_offenders(con, config):
    con.execute(
        f"insert into {S}.identity_map values ('email', 'h-1', 'c-2', "
        "timestamptz '2024-01-01 00:00:00+00', timestamptz '2024-01-02 00:00:00+00')"
    )

    r = run(con, with_check(config, "identifier_single_customer", max=1))[
        "identifier_single_customer"
    ]

    assert (r.status, r.observed_value, r.threshold) == ("pass", 1, "<= 1")


def test_disabled_check_is_skipped(con, config):
    con.execute(f"update {S}.customer_timeline set event_seq = 9 where event_id = 'e-3-4'")

    results = run(con, with_check(config, "contiguous_event_seq", enabled=False))

    assert "contiguous_event_seq" not in results
    assert len(results) == len(config.quality) - 1
    assert failing(results) == set()


def test_missing_table_is_an_error_for_its_checks_only(con, config):
    con.execute(f"drop table {S}.identity_map")

    results = run(con, config)

    r = results["identifier_single_customer"]
    assert failing(results) == {"identifier_single_customer", "component_size", "identifier_limits"}
    assert (r.status, r.observed_value, r.blocks_publish) == ("error", None, True)
    assert r.details == f"table {S}.identity_map does not exist (did the dbt build run?)"
    assert r.message().startswith("⚠ identifier_single_customer on identity_map:")


def test_missing_table_of_a_warn_check_does_not_block(con, config):
    con.execute(f"drop table {S}.stg_lake__source_stats")

    results = run(con, config)

    assert {n for n, r in results.items() if r.status == "error"} == {
        "reconciliation",
        "quarantine_rate",
        "identifier_drop_rate",
        "identifier_null_rate",
        "source_volume",
        "source_freshness",
    }
    assert results["reconciliation"].blocks_publish
    assert not results["quarantine_rate"].blocks_publish


def test_missing_column_is_an_error(con, config):
    con.execute(f"alter table {S}.customer_timeline drop column event_seq")

    r = run(con, config)["contiguous_event_seq"]

    assert r.status == "error"
    assert r.details == f"table {S}.customer_timeline lacks column(s) event_seq"


def test_missing_schema_makes_every_check_an_error(con, config):
    results = run_gates(con, "no_such_schema", "run-1", config)

    assert len(results) == len(config.quality)
    assert all(r.status == "error" for r in results)
    assert "schema no_such_schema does not exist" in results[0].details


def test_failing_query_is_an_error_not_an_exception(con, config):
    con.execute(f"alter table {S}.customer_timeline rename to timeline_raw")
    con.execute(f"""create view {S}.customer_timeline as
                    select * replace (case when event_id = 'e-0-0' then error('corrupt row')
                                           else event_seq end as event_seq)
                    from {S}.timeline_raw""")

    r = run(con, config)["contiguous_event_seq"]

    assert (r.status, r.blocks_publish) == ("error", True)
    assert r.details == "query failed: Invalid Input Error: corrupt row"


def test_views_are_checked_like_tables(con, config):
    con.execute(f"alter table {S}.stg_lake__source_stats rename to source_stats_raw")
    con.execute(f"create view {S}.stg_lake__source_stats as select * from {S}.source_stats_raw")

    assert run(con, config)["reconciliation"].status == "pass"


def test_unknown_configured_check_is_reported(con, config):
    results = run(con, with_check(config, "unique_event_ids", severity="warn"))

    r = results["unique_event_ids"]
    assert (r.status, r.severity) == ("error", "warn")
    assert "unknown check 'unique_event_ids'" in r.details


def test_missing_suite_is_an_error(con, config, tmp_path: Path):
    results = run(con, config, suites_dir=tmp_path / "nowhere")

    assert all(r.status == "error" for r in results.values())
    assert "expectation suite" in results["unique_event_id"].details


def test_suite_without_the_check_is_an_error(con, config, tmp_path: Path):
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "identity_map.json").write_text(
        json.dumps({"name": "marts.identity_map", "expectations": []}), encoding="utf-8"
    )

    r = run(con, config, suites_dir=tmp_path)["identifier_single_customer"]

    assert r.status == "error"
    assert "meta.check = 'identifier_single_customer'" in r.details


def test_gx_that_cannot_start_makes_every_check_an_error(con, config, monkeypatch):
    def broken() -> None:
        raise RuntimeError("no context")

    monkeypatch.setattr(gates_module, "_gx_batch_definition", broken)

    results = run(con, config)

    assert all(r.status == "error" for r in results.values())
    assert results["reconciliation"].details == "Great Expectations could not start: no context"


def test_validation_results_are_written_when_asked(con, config, tmp_path: Path):
    run(con, config, validations_dir=tmp_path / "uncommitted")

    written = sorted(p.name for p in (tmp_path / "uncommitted" / "run-1").iterdir())
    assert written == sorted(f"{name}.json" for name in config.quality)
    doc = json.loads((tmp_path / "uncommitted" / "run-1" / "quarantine_rate.json").read_text())
    assert doc["success"] is True


def test_samples_are_json_serialisable_and_capped(con, config):
    con.execute(f"update {S}.customer_timeline set event_seq = event_seq + 1")

    r = run(con, config)["contiguous_event_seq"]

    assert r.observed_value == 20
    assert len(r.samples) == 10
    json.dumps([r.samples for r in run(con, config).values()])


def test_invalid_severity_in_a_hand_built_config_is_an_error_not_an_exception(con, config):
    r = run(con, with_check(config, "unique_event_id", severity="critical"))["unique_event_id"]

    assert (r.status, r.severity, r.blocks_publish) == ("error", "error", True)
    assert "invalid severity 'critical'" in r.details
