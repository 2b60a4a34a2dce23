"""Journeys respect the stage rules: advocacy only after a single won deal, service after sale."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from journeyline.generate import GenerateSummary
from journeyline.schema import STAGES
from tests.generate.generate_helpers import truth


def _timelines(run: GenerateSummary) -> dict[str, list[dict[str, Any]]]:
    """Per person, truth events in timeline order (occurred_at, event_id)."""
    timelines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in truth(run.out, "events"):
        timelines[row["person_id"]].append(row)
    for events in timelines.values():
        events.sort(key=lambda r: (r["occurred_at"], r["event_id"]))
    return timelines


def _advocate_rule(row: dict[str, Any]) -> bool:
    """True for events the default rules count as advocacy."""
    if row["event_type"] == "referral_made":
        return True
    if row["event_type"] == "survey_answered" and row["survey_type"] == "nps":
        return row["score"] >= 9
    return row["event_type"] == "review_posted" and row["score"] >= 4


def test_advocacy_and_service_only_after_one_won_deal(any_run: GenerateSummary) -> None:
    """At most one deal_won; advocacy and all service events strictly after it."""
    customers = 0
    for person, events in _timelines(any_run).items():
        won = [r for r in events if r["event_type"] == "deal_won"]
        assert len(won) <= 1, person
        won_at = won[0]["occurred_at"] if won else None
        customers += bool(won)
        for row in events:
            if _advocate_rule(row) or row["stream"] == "service":
                assert won_at is not None and row["occurred_at"] > won_at, (person, row)
            if row["event_type"] == "deal_lost":
                assert won_at is None
    assert customers


def test_stage_truth_never_goes_backwards(any_run: GenerateSummary) -> None:
    """Truth stages only rise, and people's summary columns agree with the timeline."""
    rank = {s: i for i, s in enumerate(STAGES)}
    people = {p["person_id"]: p for p in truth(any_run.out, "people")}
    for person, events in _timelines(any_run).items():
        levels = [rank[r["lifecycle_stage"]] for r in events]
        assert levels == sorted(levels), person
        status = None
        for row in events:
            if row["event_type"] == "deal_lost":
                status = "lost"
            elif row["event_type"] == "churned":
                status = "churned"
            assert row["outcome"] == status, (person, row)
        assert people[person]["lifecycle_stage"] == events[-1]["lifecycle_stage"]
        assert people[person]["visitor_at"] == events[0]["occurred_at"]
        assert people[person]["first_touch_channel"] == events[0]["channel"]


def test_funnel_shape_is_plausible(default_run: GenerateSummary) -> None:
    """Each funnel stage is reached by fewer people than the one before."""
    people = truth(default_run.out, "people")
    reached = {s: sum(p[f"{s}_at"] is not None for p in people) for s in STAGES}
    assert reached["visitor"] == len(people)
    assert reached["lead"] > reached["mql"] > reached["customer"] > 0
    assert reached["sql"] > reached["customer"] >= reached["advocate"]


def test_lead_events_carry_a_known_identifier(any_run: GenerateSummary) -> None:
    """Lead-stage events always carry a known identifier, as the lead rule requires."""
    lead_types = {"form_submitted", "lead_created", "webinar_registered", "content_downloaded"}
    for row in truth(any_run.out, "events"):
        if row["event_type"] in lead_types:
            known = {t for t, _ in row["identifiers"]} - {"anonymous_id"}
            known.discard(row["blocked_identifier_type"])
            assert known, row
