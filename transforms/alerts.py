"""Close-the-loop alerts (SPEC §7) as plain functions over one customer's ordered events.

The stream calls ``customer_alerts`` whenever a customer's timeline changes and when the
watermark passes one of its deadlines; everything here is a pure function of the
customer's events and the event time ``until`` the stream has reached, so the same
input always gives the same alerts, and a test can compute them independently:

- ``lead_followup_breach``: an ``mql_reached`` with no sales touch in [mql, mql + SLA];
  raised at the deadline;
- ``detractor``: an NPS answer <= ``nps_max`` or a CSAT answer <= ``csat_max``, raised at
  the answer; escalated (a second alert) at answer + ``escalate_after_hours`` when no
  service touch followed in (answer, deadline];
- ``post_purchase_friction``: a ticket within ``within_days`` after the latest
  ``deal_won`` before it; raised at the ticket;
- ``repeat_contact``: a ticket that is the ``tickets``-th within the trailing
  ``within_days`` (count reaches the threshold); raised at that ticket.

An alert id hashes the rule, its level and the events that triggered it — never the
customer id, which a later merge may change; ``details.event_id`` names the event whose
customer the alert is about (the warehouse maps it to that event's current customer).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
import pyarrow as pa

from journeyline.config import AlertsConfig
from journeyline.schema import TIMESTAMP

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
ALERT_TYPES = ("lead_followup_breach", "detractor", "post_purchase_friction", "repeat_contact")
ALERT_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("alert_type", pa.string(), nullable=False),
        pa.field("customer_id", pa.string(), nullable=False),
        pa.field("raised_at", TIMESTAMP, nullable=False),
        pa.field("details", pa.string(), nullable=False),
    ]
)


class AlertEvent(NamedTuple):
    """What the rules look at in one timeline row."""

    event_id: str
    at: int  # occurred_at, µs since the epoch
    event_type: str
    survey_type: str | None = None
    score: float | None = None


@dataclass(frozen=True)
class Alert:
    """One alert: which rule, whose, when (event time) and why."""

    alert_id: str
    alert_type: str
    customer_id: str
    raised_at: int
    details: dict[str, Any]
    on_deadline: bool = False  # raised when a deadline passed, not by an event

    def row(self) -> dict[str, Any]:
        """The row of the `alerts` table (details as JSON text)."""
        return {
            "alert_id": self.alert_id,
            "alert_type": self.alert_type,
            "customer_id": self.customer_id,
            "raised_at": self.raised_at,
            "details": orjson.dumps(self.details, option=orjson.OPT_SORT_KEYS).decode(),
        }


def iso(micros: int) -> str:
    """An ISO-8601 UTC text for µs since the epoch."""
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat().replace("+00:00", "Z")


def alert_id(alert_type: str, level: str, event_ids: Iterable[str]) -> str:
    """A deterministic alert id: the rule, its level and the triggering events."""
    text = "\x1f".join([alert_type, level, *event_ids])
    return "alt_" + hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def relevant_types(rules: AlertsConfig) -> frozenset[str]:
    """Every event type some enabled rule looks at (the rest can be skipped)."""
    types: set[str] = set()
    if rules.lead_followup_breach.enabled:
        types |= {"mql_reached", *rules.lead_followup_breach.touch_event_types}
    if rules.detractor.enabled:
        types |= {"survey_answered", *rules.detractor.touch_event_types}
    if rules.post_purchase_friction.enabled:
        types |= {"deal_won", *rules.post_purchase_friction.ticket_event_types}
    if rules.repeat_contact.enabled:
        types |= set(rules.repeat_contact.ticket_event_types)
    return frozenset(types)


def _make(
    alert_type: str, level: str, customer: str, at: int, ids: list[str], **details: Any
) -> Alert:
    return Alert(
        alert_id(alert_type, level, ids),
        alert_type,
        customer,
        at,
        {"level": level, "event_id": ids[-1], "event_ids": ids, "raised_at": iso(at), **details},
        on_deadline="deadline" in details,
    )


def _followups(customer: str, events: Sequence[AlertEvent], rules: AlertsConfig) -> list[Alert]:
    rule = rules.lead_followup_breach
    sla = int(rule.sla_hours * HOUR_US)
    touches = [e.at for e in events if e.event_type in rule.touch_event_types]
    out = []
    for mql in (e for e in events if e.event_type == "mql_reached"):
        deadline = mql.at + sla
        if not any(mql.at <= t <= deadline for t in touches):
            out.append(
                _make(
                    "lead_followup_breach",
                    "breach",
                    customer,
                    deadline,
                    [mql.event_id],
                    what=f"MQL with no sales touch within {rule.sla_hours:g} h",
                    mql_at=iso(mql.at),
                    deadline=iso(deadline),
                )
            )
    return out


def is_detractor(event: AlertEvent, rules: AlertsConfig) -> bool:
    """An NPS or CSAT answer at or below its detractor threshold."""
    if event.event_type != "survey_answered" or event.score is None:
        return False
    limits = {"nps": rules.detractor.nps_max, "csat": rules.detractor.csat_max}
    limit = limits.get(event.survey_type or "")
    return limit is not None and event.score <= limit


def _detractors(customer: str, events: Sequence[AlertEvent], rules: AlertsConfig) -> list[Alert]:
    rule = rules.detractor
    wait = int(rule.escalate_after_hours * HOUR_US)
    touches = [e.at for e in events if e.event_type in rule.touch_event_types]
    out = []
    for answer in (e for e in events if is_detractor(e, rules)):
        survey = {"survey_type": answer.survey_type, "score": answer.score}
        out.append(
            _make(
                "detractor",
                "raised",
                customer,
                answer.at,
                [answer.event_id],
                what=f"{(answer.survey_type or '').upper()} {answer.score:g}: a detractor",
                **survey,
            )
        )
        deadline = answer.at + wait
        if not any(answer.at < t <= deadline for t in touches):
            out.append(
                _make(
                    "detractor",
                    "escalated",
                    customer,
                    deadline,
                    [answer.event_id],
                    what=f"no service touch within {rule.escalate_after_hours:g} h of a detractor",
                    deadline=iso(deadline),
                    **survey,
                )
            )
    return out


def _friction(customer: str, events: Sequence[AlertEvent], rules: AlertsConfig) -> list[Alert]:
    rule = rules.post_purchase_friction
    within = int(rule.within_days * DAY_US)
    out = []
    won: AlertEvent | None = None
    for event in events:
        if event.event_type == "deal_won":
            won = event
            continue
        if event.event_type not in rule.ticket_event_types or won is None:
            continue
        if event.at - won.at <= within:
            days = (event.at - won.at) / DAY_US
            out.append(
                _make(
                    "post_purchase_friction",
                    "raised",
                    customer,
                    event.at,
                    [won.event_id, event.event_id],
                    what=f"{event.event_type} {days:.1f} days after deal_won",
                    won_at=iso(won.at),
                )
            )
    return out


def _repeats(customer: str, events: Sequence[AlertEvent], rules: AlertsConfig) -> list[Alert]:
    rule = rules.repeat_contact
    within = int(rule.within_days * DAY_US)
    tickets = [e for e in events if e.event_type in rule.ticket_event_types]
    out = []
    start = 0
    for i, ticket in enumerate(tickets):
        while ticket.at - tickets[start].at >= within:
            start += 1
        if i - start + 1 == rule.tickets:
            burst = tickets[start : i + 1]
            out.append(
                _make(
                    "repeat_contact",
                    "raised",
                    customer,
                    ticket.at,
                    [t.event_id for t in burst],
                    what=f"{rule.tickets} tickets within {rule.within_days:g} days",
                    first_at=iso(burst[0].at),
                )
            )
    return out


def customer_alerts(
    customer: str,
    events: Sequence[AlertEvent],
    rules: AlertsConfig,
    until: int,
    deadlines_until: int | None = None,
) -> list[Alert]:
    """Every alert of one customer (events ordered by occurred_at, event_id) due by ``until``;
    alerts raised by a passing deadline only up to ``deadlines_until`` (default ``until``)."""
    last = until if deadlines_until is None else min(until, deadlines_until)
    out: list[Alert] = []
    if rules.lead_followup_breach.enabled:
        out += _followups(customer, events, rules)
    if rules.detractor.enabled:
        out += _detractors(customer, events, rules)
    if rules.post_purchase_friction.enabled:
        out += _friction(customer, events, rules)
    if rules.repeat_contact.enabled:
        out += _repeats(customer, events, rules)
    due = (a for a in out if a.raised_at <= (last if a.on_deadline else until))
    return sorted(due, key=lambda a: (a.raised_at, a.alert_id))


def next_deadline(events: Sequence[AlertEvent], rules: AlertsConfig, after: int) -> int | None:
    """The earliest deadline after ``after`` at which an alert of these events may fall due."""
    times: list[int] = []
    if rules.lead_followup_breach.enabled:
        sla = int(rules.lead_followup_breach.sla_hours * HOUR_US)
        times += [e.at + sla for e in events if e.event_type == "mql_reached"]
    if rules.detractor.enabled:
        wait = int(rules.detractor.escalate_after_hours * HOUR_US)
        times += [e.at + wait for e in events if is_detractor(e, rules)]
    later = [t for t in times if t > after]
    return min(later) if later else None


def alerts_table(alerts: Iterable[Alert]) -> pa.Table:
    """Alerts as a table of the `alerts` contract (SPEC §6)."""
    return pa.Table.from_pylist([a.row() for a in alerts], schema=ALERT_SCHEMA)
