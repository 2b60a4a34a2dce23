"""Built-in connector mappings on the Fivetran fixtures: every row → events, quarantine or a
configured skip, with counts that reconcile, and sampled events checked field by field."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from journeyline.config import Config, default_config
from tests.transforms.adapters.adapter_helpers import (
    FIXTURES,
    connector,
    run_file,
    source_config,
    with_source,
)
from transforms.contract import to_micros

# (connector, table, fixture file) → what its rows become: event types, quarantine codes
# and skipped rows (rows a mapping's conditions filter out: deleted, other statuses …).
EXPECTED = [
    ("salesforce", "lead", "sf_lead_data.csv", {"lead_created": 1, "sal_accepted": 1}),
    ("salesforce", "contact", "sf_contact_data.csv", {"lead_created": 4}),
    ("salesforce", "opportunity", "sf_opportunity_data.csv", {"skipped_rows": 10}),
    ("salesforce", "opportunity_history", "sf_opportunity_history_data.csv", {"skipped_rows": 10}),
    ("salesforce", "event", "sf_event_data.csv", {"meeting_held": 10}),
    ("salesforce", "task", "sf_task_data.csv", {"sales_contacted": 10}),
    ("hubspot", "contact", "contact_data.csv", {"lead_created": 22}),
    (
        "hubspot",
        "contact_property_history",
        "contact_property_history_data.csv",
        {"skipped_rows": 100},
    ),
    (
        "hubspot",
        "email_event",
        "email_event_data.csv",
        {"quarantined:no_valid_identifier": 94, "skipped_rows": 6},
    ),
    (
        "hubspot",
        "contact_form_submission",
        "contact_form_submission_data.csv",
        {"form_submitted": 5},
    ),
    ("hubspot", "deal", "deal_data.csv", {"quarantined:no_valid_identifier": 44}),
    ("hubspot", "deal_stage", "deal_stage_data.csv", {"quarantined:no_valid_identifier": 14}),
    (
        "hubspot",
        "engagement_meeting",
        "engagement_meeting_data.csv",
        {"quarantined:no_valid_identifier": 93, "quarantined:ancient_timestamp": 7},
    ),
    (
        "hubspot",
        "engagement_call",
        "engagement_call_data.csv",
        {"quarantined:no_valid_identifier": 1},
    ),
    ("hubspot", "ticket", "ticket_data.csv", {"quarantined:no_valid_identifier": 48}),
    ("zendesk", "ticket", "ticket_data.csv", {"ticket_opened": 7, "skipped_rows": 3}),
    (
        "zendesk",
        "ticket_comment",
        "ticket_comment_data.csv",
        {"quarantined:no_valid_identifier": 20},
    ),
    (
        "zendesk",
        "ticket_field_history",
        "ticket_field_history_data.csv",
        {"quarantined:no_valid_identifier": 20},
    ),
    ("marketo", "lead", "marketo_lead_data.csv", {"lead_created": 100}),
    (
        "marketo",
        "activity_send_email",
        "marketo_activity_send_email_data.csv",
        {"email_sent": 98, "skipped_rows": 2},
    ),
    (
        "marketo",
        "activity_open_email",
        "marketo_activity_open_email_data.csv",
        {"email_opened": 100},
    ),
    (
        "marketo",
        "activity_click_email",
        "marketo_activity_click_email_data.csv",
        {"email_clicked": 100},
    ),
]


def data_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return sum(1 for _ in csv.DictReader(handle))


@pytest.mark.parametrize(("fmt", "table", "file", "expected"), EXPECTED)
def test_every_fixture_row_is_mapped_quarantined_or_skipped(
    fmt: str, table: str, file: str, expected: dict[str, int]
) -> None:
    out = connector(fmt, table, file)
    assert out.counts() == expected
    # Reconciles: every source row was read, and each one gave at least one record or was
    # skipped by a configured condition.
    assert out.rows == data_rows(FIXTURES / "fivetran" / fmt / file)
    assert out.rows - out.skipped <= out.records
    assert all(reason for _, reason, _ in out.rejected)


def props(row: dict) -> dict:
    return orjson.loads(row["properties"])


def ts(text: str) -> int:
    return to_micros(datetime.fromisoformat(text))


def opted_in(*types: str) -> Config:
    """The defaults with object identifier types listed in identity.extra_identifier_types."""
    config = default_config()
    known = (*config.identity.identifier_types, *types)
    return replace(config, identity=replace(config.identity, identifier_types=known))


def test_salesforce_lead_gives_created_and_converted_linking_lead_and_contact() -> None:
    created, converted = connector("salesforce", "lead", "sf_lead_data.csv").accepted
    assert created["event_id"] == "sf-lead-00Q1G00000nDnM5UAK-created"
    assert created["event_type"] == "lead_created"
    assert created["stream"] == "sales"
    assert created["source"] == "salesforce"
    assert created["occurred_at"] == ts("2019-11-11T17:23:34+00:00")
    assert created["identifiers"] == [("email", "h@gmail.com"), ("lead_id", "00Q1G00000nDnM5UAK")]
    assert created["account_id"] == "0011G00000tLWKnQAO"
    assert props(created)["source_table"] == "lead"
    assert props(created)["industry"] == "Internet Software & Services"  # unmapped column kept
    assert "email" not in props(created)  # mapped columns are not repeated
    assert converted["event_type"] == "sal_accepted"
    assert ("contact_id", "0031G00001QtDPlQAN") in converted["identifiers"]
    assert ("lead_id", "00Q1G00000nDnM5UAK") in converted["identifiers"]


def test_salesforce_meetings_belong_to_the_contact_they_were_with() -> None:
    first = connector("salesforce", "event", "sf_event_data.csv").accepted[0]
    assert first["event_id"] == "sf-event-00U1G00000DEaypUAD"
    assert first["event_type"] == "meeting_held"
    assert first["identifiers"] == [("contact_id", "0031G00001Pji7ZQAR")]
    assert first["channel"] == "meeting"
    assert first["account_id"] == "0011G00000eLwuWQAS"


def test_a_live_salesforce_opportunity_gives_created_and_outcome_events(tmp_path: Path) -> None:
    source = FIXTURES / "fivetran" / "salesforce" / "sf_opportunity_data.csv"
    text = source.read_text(encoding="utf-8").replace(",true,true,,true,", ",true,false,,true,")
    live = tmp_path / "opportunity.csv"
    live.write_text(text, encoding="utf-8")
    src = source_config("salesforce", tmp_path, tables={"opportunity": "opportunity.csv"})
    out = run_file(with_source(src, opted_in("opportunity_id")), src, live, "opportunity")
    won = [r for r in out.accepted if r["event_type"] == "deal_won"]
    assert out.counts()["opportunity_created"] == len(won) + out.counts().get("deal_lost", 0)
    first = next(r for r in won if r["event_id"] == "sf-opp-006q000000HddohAAB-won")
    assert first["occurred_at"] == ts("2018-12-19T00:00:00+00:00")
    assert str(first["amount"]) == "24120000.00"
    assert first["identifiers"] == [("opportunity_id", "006q000000HddohAAB")]
    assert props(first)["stage"] == "GavUFuuf4DrnQAoiRGlWpQ=="


def test_hubspot_ids_are_namespaced_and_hashed_emails_dropped() -> None:
    form = connector("hubspot", "contact_form_submission", "contact_form_submission_data.csv")
    first = form.accepted[0]
    assert first["event_id"] == "hubspot-form-001-101"
    assert first["event_type"] == "form_submitted"
    assert first["stream"] == "marketing"
    assert first["identifiers"] == [("contact_id", "hubspot:001")]
    assert first["occurred_at"] == ts("2023-11-01T10:20:00+00:00")
    assert props(first)["page_url"] == "https://example.com/newsletter"
    contact = connector("hubspot", "contact", "contact_data.csv").accepted[0]
    # The fixture's e-mails are hashes, not addresses: dropped, the contact id stays.
    assert contact["identifiers"] == [("contact_id", "hubspot:78971951")]


def test_zendesk_ticket_opened_for_its_requester() -> None:
    first = connector("zendesk", "ticket", "ticket_data.csv").accepted[0]
    assert first["event_id"] == "zendesk-ticket-16988-opened"
    assert first["event_type"] == "ticket_opened"
    assert first["stream"] == "service"
    assert first["identifiers"] == [("ticket_requester_id", "zendesk:1500656884401")]
    assert first["channel"] == "email"
    assert first["account_id"] == "zendesk:370469077513"


def test_zendesk_status_history_resolves_tickets_once_ticket_ids_link() -> None:
    out = connector(
        "zendesk", "ticket_field_history", "ticket_field_history_data.csv", opted_in("ticket_id")
    )
    assert out.counts() == {"ticket_resolved": 20}
    assert out.accepted[0]["identifiers"] == [("ticket_id", "zendesk:6964")]
    assert out.accepted[0]["event_id"] == "zendesk-ticket-6964-solved-2020-06-01 21:11:59"


def test_marketo_activities_carry_the_lead_and_campaign() -> None:
    first = connector(
        "marketo", "activity_click_email", "marketo_activity_click_email_data.csv"
    ).accepted[0]
    assert first["event_id"] == "marketo-activity-58851192"
    assert first["event_type"] == "email_clicked"
    assert first["identifiers"] == [("lead_id", "marketo:1124755")]
    assert first["campaign_id"] == "2522"
    assert first["channel"] == "email"
    assert first["occurred_at"] == ts("2020-04-30T08:05:11+00:00")
    assert "link" in props(first)  # the BOM-prefixed header was read as activity_date
