"""A small hand-made lake with known journeys, and helpers to run dbt on it.

Four customers, two cohorts (SPEC §5 stages, times UTC):

- ``cust-a`` (Jan): every stage in order, visitor → … → advocate; first event has no
  channel (first_touch_channel is the next one, ``email``); segment ``enterprise``.
- ``cust-b`` (Jan): visitor → lead → sql (skips mql and sal) → ``lost``.
- ``cust-c`` (Feb): visitor → customer (skips lead … sql) → ``churned``; no channel.
- ``cust-d`` (Feb): one email open, visitor only; segment ``smb``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeyline.lake import Lake
from journeyline.schema import (
    DQ_RESULTS_SCHEMA,
    IDENTITY_CONFLICTS_SCHEMA,
    IDENTITY_MAP_SCHEMA,
    IDENTITY_MERGES_SCHEMA,
    PIPELINE_RUNS_SCHEMA,
    QUARANTINE_SCHEMA,
    SOURCE_STATS_SCHEMA,
    TIMELINE_SCHEMA,
)

ATTEMPT = "run-001.a1"
RUN_ID = "run-001"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One timeline row of a customer: what happened and the stage after it."""

    at: str
    stream: str
    event_type: str
    stage: str
    changed: bool
    channel: str | None = None
    account_id: str | None = None
    segment: str | None = None
    amount: str | None = None


JOURNEYS: dict[str, list[Step]] = {
    "cust-a": [
        Step("2024-01-05 09:00", "marketing", "page_viewed", "visitor", True),
        Step(
            "2024-01-06 09:00",
            "marketing",
            "email_clicked",
            "visitor",
            False,
            "email",
            segment="enterprise",
        ),
        Step("2024-01-07 09:00", "marketing", "form_submitted", "lead", True, "web"),
        Step("2024-01-09 09:00", "marketing", "mql_reached", "mql", True),
        Step("2024-01-10 21:00", "sales", "sal_accepted", "sal", True, "phone"),
        Step("2024-01-12 21:00", "sales", "opportunity_created", "sql", True, account_id="acc-1"),
        Step(
            "2024-01-20 21:00",
            "sales",
            "deal_won",
            "customer",
            True,
            "meeting",
            account_id="acc-1",
            amount="1000.00",
        ),
        Step("2024-02-01 21:00", "service", "referral_made", "advocate", True, "email"),
    ],
    "cust-b": [
        Step("2024-01-15 12:00", "marketing", "ad_clicked", "visitor", True, "paid_search"),
        Step("2024-01-16 12:00", "sales", "lead_created", "lead", True, account_id="acc-2"),
        Step("2024-01-18 12:00", "sales", "opportunity_created", "sql", True),
        Step("2024-01-25 12:00", "sales", "deal_lost", "lost", True),
    ],
    "cust-c": [
        Step("2024-02-03 00:00", "marketing", "page_viewed", "visitor", True, segment="smb"),
        Step("2024-02-05 00:00", "sales", "deal_won", "customer", True),
        Step("2024-03-05 00:00", "service", "churned", "churned", True),
    ],
    "cust-d": [
        Step(
            "2024-02-10 08:00", "marketing", "email_opened", "visitor", True, "email", segment="smb"
        ),
    ],
}


def timeline_rows(journeys: dict[str, list[Step]]) -> list[dict]:
    rows = []
    for customer_id, steps in journeys.items():
        for seq, step in enumerate(steps, start=1):
            occurred = ts(step.at)
            rows.append(
                {
                    "event_id": f"{customer_id}-e{seq}",
                    "customer_id": customer_id,
                    "event_seq": seq,
                    "source": {"marketing": "hubspot", "sales": "salesforce"}.get(
                        step.stream, "zendesk"
                    ),
                    "stream": step.stream,
                    "event_type": step.event_type,
                    "occurred_at": occurred,
                    "received_at": occurred,
                    "identifiers": [("email", f"{customer_id}@example.org")],
                    "account_id": step.account_id,
                    "channel": step.channel,
                    "campaign_id": None,
                    "message_theme": None,
                    "amount": Decimal(step.amount) if step.amount else None,
                    "currency": "USD" if step.amount else None,
                    "score": None,
                    "survey_type": None,
                    "properties": json.dumps({"segment": step.segment} if step.segment else {}),
                    "lifecycle_stage": step.stage,
                    "stage_changed": step.changed,
                    "event_date": occurred.date(),
                }
            )
    return rows


def write_table(
    folder: Path, schema: pa.Schema, rows: Iterable[dict], name: str = "part-0"
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), folder / f"{name}.parquet")


def build_lake(root: Path, journeys: dict[str, list[Step]] = JOURNEYS) -> Lake:
    """Write one run attempt and its ops history the way the Beam job lays them out."""
    lake = Lake.at(root)
    run = lake.attempt(ATTEMPT)
    rows = timeline_rows(journeys)
    for day in sorted({row["event_date"] for row in rows}):
        day_rows = [row for row in rows if row["event_date"] == day]
        write_table(run / "timeline" / f"event_date={day.isoformat()}", TIMELINE_SCHEMA, day_rows)

    first_seen = {row["customer_id"]: row["occurred_at"] for row in reversed(rows)}
    write_table(
        run / "identity_map",
        IDENTITY_MAP_SCHEMA,
        [
            {
                "identifier_type": "email",
                "identifier_value": f"{customer_id}@example.org",
                "customer_id": customer_id,
                "first_seen_at": seen,
                "last_seen_at": seen,
                "first_received_at": seen,
                "node": i,
                "customer_key": i,
                "degree": 0,
                "refused_rule": None,
            }
            for i, (customer_id, seen) in enumerate(first_seen.items())
        ],
    )
    write_table(run / "identity_merges", IDENTITY_MERGES_SCHEMA, [])  # zero rows, one file
    write_table(run / "identity_conflicts", IDENTITY_CONFLICTS_SCHEMA, [])
    write_table(
        run / "quarantine",
        QUARANTINE_SCHEMA,
        [
            {
                "run_id": RUN_ID,
                "source": "hubspot",
                "reason_code": "missing_occurred_at",
                "reason": "occurred_at is required",
                "raw": "{}",
                "received_at": ts("2024-03-06 00:00"),
                "location": "landing/marketing/part-0.jsonl:7",
            }
        ],
    )
    stats = [
        {
            "run_id": RUN_ID,
            "source": source,
            "input_count": count + 1,
            "accepted_count": count,
            "quarantined_count": 1 if source == "hubspot" else 0,
            "duplicate_count": 0 if source == "hubspot" else 1,
            "identifiers_dropped": 0,
            "source_rows": 0,
            "skipped_rows": 0,
            "max_occurred_at": ts("2024-03-05 00:00"),
            "max_received_at": ts("2024-03-05 00:00"),
        }
        for source, count in (("hubspot", 6), ("salesforce", 8), ("zendesk", 2))
    ]
    write_table(run / "source_stats", SOURCE_STATS_SCHEMA, stats)

    lake.ensure_ops()
    write_table(lake.ops_table("source_runs"), SOURCE_STATS_SCHEMA, stats, RUN_ID)
    write_table(
        lake.ops_table("pipeline_runs"),
        PIPELINE_RUNS_SCHEMA,
        [
            {
                "run_id": RUN_ID,
                "started_at": ts("2024-03-06 00:00"),
                "finished_at": ts("2024-03-06 00:05"),
                "status": "running",
                "window_start": ts("2024-01-01 00:00"),
                "window_end": ts("2024-03-06 00:00"),
                "input_count": 19,
                "accepted_count": 16,
                "quarantined_count": 1,
                "duplicate_count": 2,
                "customers_count": 4,
                "attempt": 1,
                "lake_attempt": ATTEMPT,
                "message": None,
            }
        ],
        RUN_ID,
    )
    write_table(lake.ops_table("dq_results"), DQ_RESULTS_SCHEMA, [], RUN_ID)  # gates not run yet
    return lake


@dataclass(frozen=True)
class LakeFixture:
    """A lake written by build_lake: its root, the run-attempt folder and the truth."""

    lake: Lake
    journeys: dict[str, list[Step]]

    @property
    def run_path(self) -> Path:
        return self.lake.attempt(ATTEMPT)

    def dbt_vars(self, **extra: object) -> dict[str, object]:
        """The vars run_dbt needs to read this lake."""
        return {"lake_run_path": self.run_path, "ops_path": self.lake.ops, **extra}

    def append_dq_results(self, rows: list[dict], run_id: str = f"{RUN_ID}-gates") -> None:
        """Write quality-gate results into the run history, as the gates do."""
        write_table(self.lake.ops_table("dq_results"), DQ_RESULTS_SCHEMA, rows, run_id)


@pytest.fixture(scope="session")
def lake_factory(tmp_path_factory: pytest.TempPathFactory):
    """Build a lake in a fresh folder: ``lake_factory(name, journeys=JOURNEYS)``."""

    def make(name: str, journeys: dict[str, list[Step]] | None = None) -> LakeFixture:
        journeys = dict(journeys or JOURNEYS)
        return LakeFixture(build_lake(tmp_path_factory.mktemp(name) / "lake", journeys), journeys)

    return make
