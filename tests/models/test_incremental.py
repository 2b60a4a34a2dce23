"""Incremental marts equal a full refresh (Snowplow's proof, STYLE.md).

Generated journeys (the generator's ground truth, one customer per true person)
are delivered in three batches cut by ``received_at``, so events that occurred
before a cut but arrived after it come late; between batches one customer is
merged into another. The incremental model is built batch by batch into one
warehouse; a full refresh over the last batch goes into another; the tables
must be identical, row for row, column for column. The same holds when a
metric parameter (an SLA) changes between runs.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from journeyline.generate import generate
from journeyline.lake import Lake
from journeyline.schema import TIMELINE_SCHEMA
from journeyline.warehouse import run_dbt
from tests.models.conftest import ATTEMPT, build_lake, write_table

MODEL = "fct_journey_consistency"
SCHEMA = "journeyline_test"
SELECT = ["--select", f"+{MODEL}", "--exclude", "tag:ops"]


def landing_properties(landing: Path) -> dict[str, str]:
    """event_id → properties (JSON text) of every parseable landing line."""
    found: dict[str, str] = {}
    for path in sorted(landing.glob("*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    continue  # valid JSON, but no event (noise)
                properties = json.dumps(record.get("properties") or {})
                found.setdefault(str(record["event_id"]), properties)
            except (ValueError, KeyError, TypeError):
                continue  # malformed noise lines
    return found


def timeline_of(events: pd.DataFrame) -> pa.Table:
    """The events as the Beam job would lay out the timeline: sequenced per customer."""
    frame = events.sort_values(["customer_id", "occurred_at", "event_id"]).copy()
    frame["event_seq"] = frame.groupby("customer_id").cumcount() + 1
    previous = frame.groupby("customer_id")["lifecycle_stage"].shift()
    frame["stage_changed"] = previous.isna() | (previous != frame["lifecycle_stage"])
    frame["event_date"] = frame["occurred_at"].dt.date
    frame["input_file"] = frame["stream"] + "/events.jsonl"
    columns = frame[TIMELINE_SCHEMA.names]
    return pa.Table.from_pandas(columns, schema=TIMELINE_SCHEMA, preserve_index=False)


@pytest.fixture(scope="module")
def truth_events(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A few hundred generated people's valid events, with properties from the landing files."""
    landing = tmp_path_factory.mktemp("incremental") / "landing"
    generate(landing, people=250, seed=3, start=date(2025, 1, 1), days=300, profile="default")
    events = pd.read_parquet(landing / "_truth" / "events.parquet")
    properties = landing_properties(landing)
    events["customer_id"] = events["person_id"]
    events["lifecycle_stage"] = events["outcome"].fillna(events["lifecycle_stage"])
    events["properties"] = events["event_id"].map(properties).fillna("{}")
    events["identifiers"] = events["identifiers"].map(list)
    return events


def write_batch(root: Path, events: pd.DataFrame) -> Lake:
    """A lake whose run attempt holds exactly these events' timeline."""
    lake = build_lake(root, {})
    timeline = timeline_of(events).to_pylist()
    for day in sorted({row["event_date"] for row in timeline}):
        rows = [row for row in timeline if row["event_date"] == day]
        write_table(lake.attempt(ATTEMPT) / "timeline" / f"event_date={day}", TIMELINE_SCHEMA, rows)
    return lake


def build(lake: Lake, db: Path, work: Path, *extra: str, **dbt_vars: object) -> None:
    outcome = run_dbt(
        ["run", *SELECT, *extra],
        vars={"lake_run_path": lake.attempt(ATTEMPT), "ops_path": lake.ops, **dbt_vars},
        env={"JOURNEYLINE_DUCKDB_PATH": str(db), "JOURNEYLINE_DBT_SCHEMA": SCHEMA},
        work_dir=work,
    )
    assert outcome.success, outcome.summary()


def table(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute(f"select * from {SCHEMA}.{MODEL}").df()
    return frame.sort_values("customer_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def batches(truth_events: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> list[Lake]:
    """Three cumulative deliveries cut by received_at; before the last one the
    events of one customer are re-attributed to another (an identity merge)."""
    received = truth_events["received_at"]
    cuts = [received.quantile(0.4), received.quantile(0.75)]
    merged_away, survivor = sorted(truth_events["customer_id"].unique())[:2]
    final = truth_events.copy()
    final.loc[final.customer_id == merged_away, "customer_id"] = survivor
    root = tmp_path_factory.mktemp("batches")
    deliveries = [truth_events[received < cut] for cut in cuts] + [final]
    return [write_batch(root / f"batch{i}", events) for i, events in enumerate(deliveries)]


def test_the_batches_hold_late_events_and_a_merge(
    truth_events: pd.DataFrame, batches: list[Lake]
) -> None:
    received, occurred = truth_events["received_at"], truth_events["occurred_at"]
    cut = received.quantile(0.4)
    late = truth_events[(occurred < cut) & (received >= cut)]
    assert len(late) > 0, "no event arrives after a cut it occurred before"
    assert late["customer_id"].nunique() > 0
    assert len(batches) == 3


def test_incremental_runs_equal_a_full_refresh(batches: list[Lake], tmp_path: Path) -> None:
    incremental_db = tmp_path / "incremental.duckdb"
    for lake in batches:
        build(lake, incremental_db, tmp_path / "incremental")
    full_db = tmp_path / "full.duckdb"
    build(batches[-1], full_db, tmp_path / "full", "--full-refresh")

    incremental, full = table(incremental_db), table(full_db)
    assert len(full) > 100
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)

    # The first batch's table is not already the answer: the later batches changed rows.
    first_db = tmp_path / "first.duckdb"
    build(batches[0], first_db, tmp_path / "first")
    first = table(first_db)
    common = first.merge(full, on="customer_id", suffixes=("_first", "_full"))
    assert (common.events_count_first != common.events_count_full).any()
    assert set(first.customer_id) - set(full.customer_id), "the merged-away customer is gone"


def test_a_changed_sla_rebuilds_every_row(batches: list[Lake], tmp_path: Path) -> None:
    db = tmp_path / "incremental.duckdb"
    sla = {"speed_to_lead_hours": 24, "onboarding_start_days": 14, "first_reply_hours": 2}
    strict = {"sla": sla}
    build(batches[-1], db, tmp_path / "incremental")
    build(batches[-1], db, tmp_path / "incremental", **strict)
    full_db = tmp_path / "full.duckdb"
    build(batches[-1], full_db, tmp_path / "full", "--full-refresh", **strict)

    incremental, full = table(db), table(full_db)
    pd.testing.assert_frame_equal(incremental, full, check_exact=False, rtol=1e-12)
    assert incremental["first_reply_breaches_count"].sum() > 0
