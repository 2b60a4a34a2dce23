"""Alert rules (SPEC §7) as plain functions: when each fires, when it does not, and its id."""

from __future__ import annotations

from dataclasses import replace

from journeyline.config import default_config
from transforms.alerts import (
    DAY_US,
    HOUR_US,
    AlertEvent,
    alert_id,
    customer_alerts,
    next_deadline,
)

RULES = default_config().alerts
T = 1_735_689_600_000_000  # 2025-01-01T00:00Z
END = T + 400 * DAY_US


def ev(event_id: str, hours: float, event_type: str, **kw: object) -> AlertEvent:
    return AlertEvent(event_id, T + int(hours * HOUR_US), event_type, **kw)  # type: ignore[arg-type]


def kinds(events: list[AlertEvent], until: int = END, **kw: object) -> list[tuple[str, str, int]]:
    return [
        (a.alert_type, a.details["level"], a.raised_at)
        for a in customer_alerts("c", events, RULES, until, **kw)  # type: ignore[arg-type]
    ]


def test_an_mql_without_a_sales_touch_breaches_at_the_deadline() -> None:
    mql = ev("m", 0, "mql_reached")
    assert kinds([mql]) == [("lead_followup_breach", "breach", T + 24 * HOUR_US)]
    assert kinds([mql], until=T + 24 * HOUR_US - 1) == []  # not before the deadline


def test_a_sales_touch_within_the_sla_prevents_the_breach() -> None:
    assert kinds([ev("m", 0, "mql_reached"), ev("s", 23.9, "sales_contacted")]) == []
    assert kinds([ev("m", 0, "mql_reached"), ev("s", 24, "meeting_held")]) == []  # inclusive


def test_touches_before_the_mql_or_after_the_sla_or_of_other_kinds_do_not_count() -> None:
    for touch in (
        ev("s", -1, "sales_contacted"),
        ev("s", 24.1, "sales_contacted"),
        ev("s", 2, "lead_created"),
    ):
        assert kinds(sorted([ev("m", 0, "mql_reached"), touch], key=lambda e: e.at)) == [
            ("lead_followup_breach", "breach", T + 24 * HOUR_US)
        ]


def test_a_detractor_is_raised_at_once_and_escalated_without_a_service_touch() -> None:
    nps = ev("n", 0, "survey_answered", survey_type="nps", score=6.0)
    assert kinds([nps]) == [
        ("detractor", "raised", T),
        ("detractor", "escalated", T + 48 * HOUR_US),
    ]
    assert kinds([nps, ev("r", 10, "ticket_replied")]) == [("detractor", "raised", T)]
    assert kinds([ev("n", 0, "survey_answered", survey_type="nps", score=7.0)]) == []
    assert kinds([ev("c", 0, "survey_answered", survey_type="csat", score=2.0)])[0] == (
        "detractor",
        "raised",
        T,
    )
    assert kinds([ev("c", 0, "survey_answered", survey_type="csat", score=3.0)]) == []
    assert kinds([ev("c", 0, "survey_answered", survey_type="ces", score=1.0)]) == []


def test_a_ticket_within_14_days_of_deal_won_is_post_purchase_friction() -> None:
    won = ev("w", 0, "deal_won")
    assert kinds([won, ev("t", 3 * 24, "ticket_opened")]) == [
        ("post_purchase_friction", "raised", T + 72 * HOUR_US)
    ]
    assert kinds([won, ev("t", 15 * 24, "ticket_opened")]) == []
    assert kinds([ev("t", -1, "ticket_opened"), won]) == []


def test_the_third_ticket_within_7_days_is_a_repeat_contact() -> None:
    tickets = [ev(f"t{i}", h, "ticket_opened") for i, h in enumerate((0, 48, 144, 150))]
    assert kinds(tickets) == [("repeat_contact", "raised", T + 144 * HOUR_US)]
    spread = [ev(f"t{i}", h, "ticket_opened") for i, h in enumerate((0, 96, 7 * 24))]
    assert kinds(spread) == []  # the first left the 7-day window when the third came


def test_deadline_alerts_stop_at_the_close_but_event_alerts_do_not() -> None:
    events = [
        ev("m", 0, "mql_reached"),
        ev("n", 30, "survey_answered", survey_type="nps", score=0.0),
    ]
    assert kinds(events, deadlines_until=T + 20 * HOUR_US) == [
        ("detractor", "raised", T + 30 * HOUR_US)
    ]


def test_alert_ids_are_deterministic_and_ignore_the_customer() -> None:
    a = customer_alerts("c1", [ev("m", 0, "mql_reached")], RULES, END)[0]
    b = customer_alerts("c2", [ev("m", 0, "mql_reached")], RULES, END)[0]
    assert a.alert_id == b.alert_id == alert_id("lead_followup_breach", "breach", ["m"])
    assert a.details["event_id"] == "m" and a.details["event_ids"] == ["m"]


def test_thresholds_come_from_the_configuration() -> None:
    strict = replace(RULES, lead_followup_breach=replace(RULES.lead_followup_breach, sla_hours=1))
    events = [ev("m", 0, "mql_reached"), ev("s", 2, "sales_contacted")]
    assert [a.raised_at for a in customer_alerts("c", events, strict, END)] == [T + HOUR_US]
    off = replace(RULES, detractor=replace(RULES.detractor, enabled=False))
    assert (
        customer_alerts(
            "c", [ev("n", 0, "survey_answered", survey_type="nps", score=0.0)], off, END
        )
        == []
    )


def test_next_deadline_is_the_earliest_open_one_after_a_time() -> None:
    events = [
        ev("m", 0, "mql_reached"),
        ev("n", 5, "survey_answered", survey_type="nps", score=1.0),
    ]
    assert next_deadline(events, RULES, T) == T + 24 * HOUR_US
    assert next_deadline(events, RULES, T + 24 * HOUR_US) == T + 53 * HOUR_US
    assert next_deadline(events, RULES, T + 53 * HOUR_US) is None
