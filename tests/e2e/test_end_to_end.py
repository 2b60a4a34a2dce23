"""generate → run → warehouse, checked against an independent computation from the ground truth."""

from __future__ import annotations

import json
from math import comb

import pandas as pd

from tests.e2e.conftest import Run

STAGES = ["visitor", "lead", "mql", "sal", "sql", "customer", "advocate"]


def test_the_run_publishes_and_prints_a_reconciled_summary(first_run: Run) -> None:
    assert first_run.exit_code == 0, first_run.stdout
    assert "PUBLISHED" in first_run.stdout
    assert "NO" not in first_run.stdout.split("customers:")[0]
    assert first_run.sql("select status from main.pipeline_runs") == [("published",)]


def test_counts_reconcile_exactly_with_the_truth(first_run: Run) -> None:
    summary = json.loads((first_run.truth / "summary.json").read_text())
    expected = {
        name: (s["lines"], s["valid_events"], s["malformed_total"], s["duplicates"])
        for name, s in summary["streams"].items()
    }
    got = {
        row[0]: tuple(row[1:])
        for row in first_run.sql(
            "select source, input_count, accepted_count, quarantined_count, duplicate_count "
            "from main.source_runs"
        )
    }
    assert got == expected
    for source, (inputs, accepted, quarantined, duplicates) in got.items():
        assert inputs == accepted + quarantined + duplicates, source


def test_every_malformed_line_is_quarantined_with_the_expected_reason(first_run: Run) -> None:
    noise = pd.read_parquet(first_run.truth / "noise.parquet")
    bad = noise[noise.expected_outcome == "quarantined"]
    expected = bad.groupby(["stream", "expected_reason_code"]).size().to_dict()
    got = {
        (s, r): n
        for s, r, n in first_run.sql(
            "select source, reason_code, count(*) from main.quarantine group by 1, 2"
        )
    }
    assert got == expected


def pairwise(truth: pd.Series, predicted: pd.Series) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering (pairs of events in the same cluster)."""
    both = pd.DataFrame({"t": truth.values, "p": predicted.values})
    together = sum(comb(int(n), 2) for n in both.groupby(["t", "p"]).size())
    predicted_pairs = sum(comb(int(n), 2) for n in both.groupby("p").size())
    true_pairs = sum(comb(int(n), 2) for n in both.groupby("t").size())
    return together / predicted_pairs, together / true_pairs


def test_identity_resolution_matches_the_true_people(first_run: Run) -> None:
    truth = pd.read_parquet(first_run.truth / "events.parquet", columns=["event_id", "person_id"])
    timeline = first_run.df("select event_id, customer_id from main.customer_timeline")
    assert set(timeline.event_id) == set(truth.event_id)
    joined = truth.merge(timeline, on="event_id")
    precision, recall = pairwise(joined.person_id, joined.customer_id)
    assert precision >= 0.995 and recall >= 0.98, (precision, recall)
    assert timeline.customer_id.nunique() == truth.person_id.nunique()


def test_customers_per_stage_equal_the_truth(first_run: Run) -> None:
    people = pd.read_parquet(first_run.truth / "people.parquet")
    truth_now = people.outcome.fillna(people.lifecycle_stage).value_counts().to_dict()
    got_now = dict(first_run.sql("select current_stage, count(*) from main.customers group by 1"))
    assert got_now == truth_now


def test_funnel_totals_equal_the_truth(first_run: Run) -> None:
    people = pd.read_parquet(first_run.truth / "people.parquet")
    reached = {}
    for i, stage in enumerate(STAGES):
        later = [f"{s}_at" for s in STAGES[i:]]
        reached[stage] = int(people[later].notna().any(axis=1).sum())
    got = dict(
        first_run.sql(
            "select stage, sum(customers_reached)::int from main.fct_journey_funnel "
            "where dimension = 'all' group by 1"
        )
    )
    assert got == reached
    by_channel = dict(
        first_run.sql(
            "select stage, sum(customers_reached)::int from main.fct_journey_funnel "
            "where dimension = 'first_touch_channel' group by 1"
        )
    )
    assert by_channel == reached


def test_every_published_contract_table_has_its_spec_columns(first_run: Run) -> None:
    spec = {
        "customer_timeline": """event_id customer_id event_seq occurred_at stream source
            event_type channel campaign_id message_theme account_id amount score survey_type
            identifiers lifecycle_stage stage_changed properties""",
        "identity_map": "identifier_type identifier_value customer_id first_seen_at last_seen_at",
        "identity_merges": "merged_customer_id into_customer_id merged_at run_id",
        "customers": """customer_id first_seen_at current_stage visitor_at lead_at mql_at sal_at
            sql_at customer_at advocate_at first_touch_channel account_id""",
        "quarantine": "run_id source reason_code reason raw received_at",
        "fct_stage_transitions": """customer_id from_stage to_stage transitioned_at
            days_in_previous_stage""",
        "fct_journey_funnel": """cohort_month dimension dimension_value stage customers_reached
            conversion_from_previous conversion_from_top median_days_from_previous""",
        "pipeline_runs": """run_id started_at finished_at status input_count accepted_count
            quarantined_count duplicate_count""",
        "dq_results": "run_id check_name target severity status observed_value threshold",
    }
    for table, columns in spec.items():
        got = {
            r[0]
            for r in first_run.sql(
                f"select column_name from information_schema.columns where table_schema = 'main' "
                f"and table_name = '{table}'"
            )
        }
        missing = set(columns.split()) - got
        assert not missing, (table, missing)


def test_dq_results_hold_every_gate_of_the_run(first_run: Run) -> None:
    checks = {r[0]: r[1] for r in first_run.sql("select check_name, status from main.dq_results")}
    for name in ("reconciliation", "unique_event_id", "contiguous_event_seq", "identity_converged"):
        assert checks[name] == "pass", name
