"""The dbt project end to end: a hand-made lake → `dbt build` → the warehouse tables.

Expected values are computed by hand from the journeys in conftest.py.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import sqlglot

from journeyline.schema import PROVENANCE_FIELD, SOURCE_STATS_SCHEMA, STAGES, TIMELINE_SCHEMA
from journeyline.warehouse import PROFILES_DIR, PROJECT_DIR, DbtOutcome, run_dbt

SCHEMA = "journeyline_test"


def warehouse_env(db: Path) -> dict[str, str]:
    return {"JOURNEYLINE_DUCKDB_PATH": str(db), "JOURNEYLINE_DBT_SCHEMA": SCHEMA}


def query(db: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql).fetchall()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Built:
    db: Path
    outcome: DbtOutcome
    events_count: int


@pytest.fixture(scope="module")
def built(lake_factory, tmp_path_factory) -> Built:
    lake = lake_factory("good")
    work = tmp_path_factory.mktemp("dbt_good")
    db = work / "warehouse.duckdb"
    outcome = run_dbt(
        ["build"],
        project_dir=PROJECT_DIR,
        profiles_dir=PROFILES_DIR,
        target="duckdb",
        vars=lake.dbt_vars(),
        env=warehouse_env(db),
        work_dir=work,
    )
    return Built(db, outcome, sum(len(steps) for steps in lake.journeys.values()))


def test_build_succeeds_with_every_test_and_unit_test_passing(built: Built) -> None:
    outcome = built.outcome
    assert outcome.success, outcome.summary()
    assert outcome.exception is None
    assert outcome.failed_nodes() == []
    kinds = {node.resource_type for node in outcome.nodes}
    assert {"model", "test", "unit_test"} <= kinds
    unit_tests = [node for node in outcome.nodes if node.resource_type == "unit_test"]
    assert {node.name.split("::")[-1] for node in unit_tests} >= {
        "customers_pivot_stages_and_keep_outcome_as_current_stage",
        "stage_transitions_link_each_entry_to_the_previous_one",
        "funnel_counts_skipped_stages_as_passed_by_cohort_and_dimension",
        # one per journey metric definition (SPEC §7)
        "theme_consistency_and_changes_at_department_hand_offs",
        "hand_offs_and_hard_restarts_against_the_previous_department_run",
        "tickets_first_reply_sla_and_first_contact_resolution",
        "speed_to_lead_and_onboarding_start_against_their_slas",
        "experience_spread_buyer_customer_gap_and_post_purchase_friction",
        "attribution_credits_first_last_linear_and_position_based",
        "survey_answers_normalise_scores_and_classify_answers",
        "cx_scores_nps_csat_ces_by_stage_and_stream",
        "consistency_combines_the_metrics_per_customer",
        "consistency_aggregates_pool_rates_over_the_slice",
        "attribution_sums_credits_by_channel_and_campaign",
        "journey_paths_count_ordered_stage_paths",
        "fallout_counts_where_customers_stop",
    }
    assert all(node.status == "pass" for node in unit_tests)
    named_checks = {
        "unique_event_id",
        "contiguous_event_seq",
        "timeline_customers_exist",
        "funnel_monotonic",
        "identifier_single_customer",
    }
    assert {node.name for node in outcome.nodes if node.is_test} >= named_checks


def test_contract_tables_and_columns(built: Built) -> None:
    columns: dict[str, list[str]] = {}
    for table, column in query(
        built.db,
        f"select table_name, column_name from information_schema.columns "
        f"where table_schema = '{SCHEMA}' order by table_name, ordinal_position",
    ):
        columns.setdefault(table, []).append(column)

    # Every timeline column but the lake's provenance (the input file, for window re-runs).
    lake_only = {PROVENANCE_FIELD.name}
    assert set(TIMELINE_SCHEMA.names) - lake_only <= set(columns["customer_timeline"])
    assert columns["stg_lake__source_stats"] == SOURCE_STATS_SCHEMA.names
    assert columns["customers"][:13] == [
        "customer_id",
        "first_seen_at",
        "current_stage",
        *(f"{stage}_at" for stage in STAGES),
        "first_touch_channel",
        "account_id",
        "segment",
    ]
    assert columns["fct_stage_transitions"][:6] == [
        "customer_id",
        "from_stage",
        "to_stage",
        "transitioned_at",
        "days_in_previous_stage",
        "event_id",
    ]
    assert {
        "cohort_month",
        "dimension",
        "dimension_value",
        "stage",
        "customers_reached",
        "conversion_from_previous",
        "conversion_from_top",
        "median_days_from_previous",
        "p90_days_from_previous",
    } <= set(columns["fct_journey_funnel"])
    for table in (
        "identity_map",
        "identity_merges",
        "quarantine",
        "pipeline_runs",
        "dq_results",
        "source_runs",
    ):
        assert table in columns
    assert query(built.db, f"select count(*) from {SCHEMA}.customer_timeline") == [
        (built.events_count,)
    ]
    assert query(built.db, f"select count(*) from {SCHEMA}.identity_merges") == [(0,)]
    assert query(built.db, f"select count(*) from {SCHEMA}.dq_results") == [(0,)]
    assert query(
        built.db, f"select run_id, input_count, is_reconciled from {SCHEMA}.pipeline_runs"
    ) == [("run-001", 19, True)]


def test_customers(built: Built) -> None:
    rows = query(
        built.db,
        f"select customer_id, first_seen_at, current_stage, "
        f"{', '.join(f'{stage}_at' for stage in STAGES)}, "
        f"first_touch_channel, account_id, segment, events_count "
        f"from {SCHEMA}.customers order by customer_id",
    )
    a = [
        utc(f"2024-01-{day}")
        for day in ("05 09:00", "07 09:00", "09 09:00", "10 21:00", "12 21:00", "20 21:00")
    ]
    assert rows == [
        (
            "cust-a",
            a[0],
            "advocate",
            *a,
            utc("2024-02-01 21:00"),
            "email",
            "acc-1",
            "enterprise",
            8,
        ),
        (
            "cust-b",
            utc("2024-01-15 12:00"),
            "lost",
            utc("2024-01-15 12:00"),
            utc("2024-01-16 12:00"),
            None,
            None,
            utc("2024-01-18 12:00"),
            None,
            None,
            "paid_search",
            "acc-2",
            None,
            4,
        ),
        (
            "cust-c",
            utc("2024-02-03 00:00"),
            "churned",
            utc("2024-02-03 00:00"),
            None,
            None,
            None,
            None,
            utc("2024-02-05 00:00"),
            None,
            None,
            None,
            "smb",
            3,
        ),
        (
            "cust-d",
            utc("2024-02-10 08:00"),
            "visitor",
            utc("2024-02-10 08:00"),
            None,
            None,
            None,
            None,
            None,
            None,
            "email",
            None,
            "smb",
            1,
        ),
    ]


def test_stage_transitions(built: Built) -> None:
    rows = query(
        built.db,
        f"select customer_id, from_stage, to_stage, days_in_previous_stage "
        f"from {SCHEMA}.fct_stage_transitions order by customer_id, transitioned_at",
    )
    assert rows == [
        ("cust-a", None, "visitor", None),
        ("cust-a", "visitor", "lead", 2.0),
        ("cust-a", "lead", "mql", 2.0),
        ("cust-a", "mql", "sal", 1.5),
        ("cust-a", "sal", "sql", 2.0),
        ("cust-a", "sql", "customer", 8.0),
        ("cust-a", "customer", "advocate", 12.0),
        ("cust-b", None, "visitor", None),
        ("cust-b", "visitor", "lead", 1.0),
        ("cust-b", "lead", "sql", 2.0),
        ("cust-b", "sql", "lost", 7.0),
        ("cust-c", None, "visitor", None),
        ("cust-c", "visitor", "customer", 2.0),
        ("cust-c", "customer", "churned", 29.0),  # 2024 is a leap year
        ("cust-d", None, "visitor", None),
    ]


def test_funnel_all_customers(built: Built) -> None:
    rows = query(
        built.db,
        f"select cohort_month, stage, customers_reached, conversion_from_previous, "
        f"conversion_from_top, median_days_from_previous "
        f"from {SCHEMA}.fct_journey_funnel where dimension = 'all' "
        f"order by cohort_month, stage_rank",
    )
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    # cust-b reaches mql and sal at its sql time (skipped stages count as passed).
    assert rows == [
        (jan, "visitor", 2, None, 1.0, None),
        (jan, "lead", 2, 1.0, 1.0, 1.5),
        (jan, "mql", 2, 1.0, 1.0, 2.0),
        (jan, "sal", 2, 1.0, 1.0, 0.75),
        (jan, "sql", 2, 1.0, 1.0, 1.0),
        (jan, "customer", 1, 0.5, 0.5, 8.0),
        (jan, "advocate", 1, 1.0, 0.5, 12.0),
        (feb, "visitor", 2, None, 1.0, None),
        (feb, "lead", 1, 0.5, 0.5, 2.0),
        (feb, "mql", 1, 1.0, 0.5, 0.0),
        (feb, "sal", 1, 1.0, 0.5, 0.0),
        (feb, "sql", 1, 1.0, 0.5, 0.0),
        (feb, "customer", 1, 1.0, 0.5, 0.0),
        (feb, "advocate", 0, 0.0, 0.0, None),
    ]


def test_funnel_dimensions(built: Built) -> None:
    rows = query(
        built.db,
        f"select cohort_month, dimension, dimension_value, customers_reached "
        f"from {SCHEMA}.fct_journey_funnel where stage = 'lead' and dimension != 'all' "
        f"order by 1, 2, 3",
    )
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    by_account = [row for row in rows if row[1] == "account"]
    assert by_account == [
        (jan, "account", "acc-1", 1),
        (jan, "account", "acc-2", 1),
        (feb, "account", "unknown", 1),  # cust-c passed lead on its way to customer
    ]
    by_campaign = [row for row in rows if row[1] == "first_touch_campaign"]
    assert by_campaign == [
        (jan, "first_touch_campaign", "unknown", 2),
        (feb, "first_touch_campaign", "unknown", 1),
    ]
    rows = [row for row in rows if row[1] in ("first_touch_channel", "segment")]
    jan, feb = date(2024, 1, 1), date(2024, 2, 1)
    assert rows == [
        (jan, "first_touch_channel", "email", 1),
        (jan, "first_touch_channel", "paid_search", 1),
        (jan, "segment", "enterprise", 1),
        (jan, "segment", "unknown", 1),
        (feb, "first_touch_channel", "email", 0),
        (feb, "first_touch_channel", "unknown", 1),
        (feb, "segment", "smb", 1),
    ]


def test_database_file_is_released_after_the_run(built: Built) -> None:
    with duckdb.connect(str(built.db)) as con:  # read-write: nobody else holds it
        assert con.execute(f"select count(*) from {SCHEMA}.customers").fetchone() == (4,)


def test_failing_data_test_is_a_failed_node_not_an_exception(lake_factory, tmp_path) -> None:
    lake = lake_factory("gap")
    # Lose cust-b's lead_created (event_seq 2, the only event of 2024-01-16):
    # its sequence becomes 1, 3, 4 and that day's file holds zero rows.
    day_file = lake.run_path / "timeline" / "event_date=2024-01-16" / "part-0.parquet"
    table = pq.read_table(day_file)
    pq.write_table(table.filter(pc.field("event_id") != "cust-b-e2"), day_file)

    db = tmp_path / "warehouse.duckdb"
    outcome = run_dbt(["build"], vars=lake.dbt_vars(), env=warehouse_env(db), work_dir=tmp_path)

    assert not outcome.success
    assert outcome.exception is None
    failed = {node.name: node for node in outcome.failed_tests()}
    assert set(failed) == {"contiguous_event_seq"}, outcome.summary()
    assert failed["contiguous_event_seq"].failures == 1
    assert failed["contiguous_event_seq"].severity == "error"
    assert failed["contiguous_event_seq"].attached_to == "model.journeyline.customer_timeline"
    assert "contiguous_event_seq" in outcome.summary()

    # The same check as a warning (quality config severity: warn) does not fail the run.
    relaxed = run_dbt(
        ["test", "--select", "contiguous_event_seq"],
        vars=lake.dbt_vars(dq_severity={"contiguous_event_seq": "warn"}),
        env=warehouse_env(db),
        work_dir=tmp_path,
    )
    assert relaxed.success, relaxed.summary()
    assert [node.name for node in relaxed.warned_tests()] == ["contiguous_event_seq"]


def test_ops_models_pick_up_results_written_after_the_build(lake_factory, tmp_path) -> None:
    lake = lake_factory("ops")
    db = tmp_path / "warehouse.duckdb"
    first = run_dbt(
        ["build", "--select", "+tag:ops"],
        vars=lake.dbt_vars(),
        env=warehouse_env(db),
        work_dir=tmp_path,
    )
    assert first.success, first.summary()
    assert {"pipeline_runs", "dq_results", "source_runs"} <= {node.name for node in first.nodes}
    assert query(db, f"select count(*) from {SCHEMA}.dq_results") == [(0,)]

    # The quality gates append their results to the run history, then the
    # orchestrator refreshes the ops tables only.
    lake.append_dq_results(
        [
            {
                "run_id": "run-001",
                "check_name": "quarantine_rate",
                "target": "quarantine",
                "severity": "warn",
                "status": "pass",
                "observed_value": 0.0625,
                "threshold": "0.05",
                "details": "1 of 16",
                "samples": None,
                "checked_at": utc("2024-03-06 00:06"),
            }
        ]
    )
    again = run_dbt(
        ["build", "--select", "tag:ops"],
        vars=lake.dbt_vars(),
        env=warehouse_env(db),
        work_dir=tmp_path,
    )
    assert again.success, again.summary()
    assert query(db, f"select check_name, severity, observed_value from {SCHEMA}.dq_results") == [
        ("quarantine_rate", "warn", 0.0625)
    ]


def test_missing_lake_var_is_a_message_not_a_traceback(tmp_path) -> None:
    outcome = run_dbt(
        ["build"], vars={}, env=warehouse_env(tmp_path / "w.duckdb"), work_dir=tmp_path
    )
    assert not outcome.success
    assert "lake_run_path" in (outcome.exception or "")
    assert "Traceback" not in outcome.summary()


def test_bigquery_target_parses_and_compiles_offline(monkeypatch, tmp_path) -> None:
    for name in ("JOURNEYLINE_DUCKDB_PATH", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    env = {"JOURNEYLINE_DBT_SCHEMA": "journeyline_staging"}
    parsed = run_dbt(["parse"], target="bigquery", env=env, work_dir=tmp_path)
    assert parsed.success, parsed.summary()

    compiled = run_dbt(
        ["compile", "--no-introspect", "--no-populate-cache", "--select", "resource_type:model"],
        target="bigquery",
        env=env,
        work_dir=tmp_path,
    )
    assert compiled.success, compiled.summary()
    sql_dir = tmp_path / "target" / "compiled" / "journeyline" / "models"
    files = sorted(sql_dir.rglob("*.sql"))
    assert len(files) >= 20
    timeline_sql = (sql_dir / "staging" / "stg_lake__timeline.sql").read_text(encoding="utf-8")
    assert "`journeyline_lake`.`timeline`" in timeline_sql  # loaded tables, not the marts
    duckdb_only = ("read_parquet", "try_cast", "epoch_us", "quantile_cont", "json_extract")
    for path in files:
        sql = path.read_text(encoding="utf-8")
        sqlglot.parse(sql, read="bigquery")  # raises on a syntax error
        assert not [word for word in duckdb_only if word in sql], path.name


JOURNEY_MARTS = (
    "fct_journey_funnel",
    "fct_journey_fallout",
    "fct_journey_paths",
    "fct_journey_consistency",
    "agg_journey_consistency",
    "fct_survey_answers",
    "fct_cx_scores_by_stage",
    "fct_attribution",
)


def test_bigquery_compiles_the_journey_marts_incremental_sql_and_semantic_layer(
    monkeypatch, tmp_path
) -> None:
    """Offline against the BigQuery profile: the incremental branch of
    fct_journey_consistency parses as BigQuery SQL, the large tables carry
    partition / cluster configs, and the semantic layer validates by name."""
    for name in ("JOURNEYLINE_DUCKDB_PATH", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    env = {"JOURNEYLINE_DBT_SCHEMA": "journeyline_staging"}
    compiled = run_dbt(
        ["compile", "--no-introspect", "--no-populate-cache", "--select", *JOURNEY_MARTS],
        target="bigquery",
        vars={"compile_incremental_sql": True},
        env=env,
        work_dir=tmp_path,
    )
    assert compiled.success, compiled.summary()
    marts = tmp_path / "target" / "compiled" / "journeyline" / "models" / "marts"
    consistency = (marts / "fct_journey_consistency.sql").read_text(encoding="utf-8")
    assert "`journeyline_staging`.`fct_journey_consistency` as built" in consistency
    assert "timestamp_diff" in consistency  # the look-back window, in BigQuery's spelling
    for model in JOURNEY_MARTS:
        sqlglot.parse((marts / f"{model}.sql").read_text(encoding="utf-8"), read="bigquery")

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text(encoding="utf-8"))
    configs = {
        node["name"]: node["config"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert configs["fct_journey_consistency"]["incremental_strategy"] == "merge"
    assert configs["fct_journey_consistency"]["cluster_by"] == ["customer_id"]
    assert configs["fct_survey_answers"]["partition_by"]["field"] == "answered_at"
    assert configs["customer_timeline"]["partition_by"]["field"] == "event_date"

    semantic = json.loads(
        (tmp_path / "target" / "semantic_manifest.json").read_text(encoding="utf-8")
    )
    metrics = {metric["name"] for metric in semantic["metrics"]}
    assert {
        "stage_conversion_rate",
        "stage_conversion_from_top",
        "nps",
        "speed_to_lead_median_hours",
        "theme_consistency",
    } <= metrics
    assert semantic["project_configuration"]["time_spines"][0]["node_relation"]["alias"] == (
        "metricflow_time_spine"
    )
