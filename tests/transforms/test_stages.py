"""Stage rules as data: the stage after each event, outcomes beside the stages."""

from __future__ import annotations

from journeyline.config import default_config
from transforms.stages import EventFacts, StageMachine


def machine() -> StageMachine:
    return StageMachine(default_config().stages)


def run(*events: EventFacts) -> list[tuple[str, bool]]:
    return machine().run(list(events))


def e(event_type: str, known: bool = True, **kw: object) -> EventFacts:
    return EventFacts(event_type, has_known_identifier=known, **kw)  # type: ignore[arg-type]


def test_every_customer_starts_as_visitor_and_climbs() -> None:
    stages = run(
        e("page_viewed", known=False), e("form_submitted"), e("mql_reached"), e("sal_accepted")
    )
    assert stages == [("visitor", True), ("lead", True), ("mql", True), ("sal", True)]


def test_lead_needs_a_known_identifier() -> None:
    assert run(e("form_submitted", known=False))[0][0] == "visitor"


def test_skipping_stages_jumps_straight_up() -> None:
    assert run(e("opportunity_created"), e("deal_won")) == [("sql", True), ("customer", True)]


def test_the_stage_never_goes_down() -> None:
    stages = run(e("deal_won"), e("form_submitted"), e("ticket_opened"))
    assert [s for s, _ in stages] == ["customer", "customer", "customer"]
    assert [c for _, c in stages] == [True, False, False]


def test_advocate_only_after_customer() -> None:
    promoter = e("survey_answered", survey_type="nps", score=10.0)
    assert run(promoter)[0][0] == "visitor"
    assert run(e("deal_won"), promoter)[1][0] == "advocate"
    assert (
        run(e("deal_won"), e("survey_answered", survey_type="nps", score=8.0))[1][0] == "customer"
    )
    assert run(e("deal_won"), e("review_posted", score=4.0))[1][0] == "advocate"
    assert run(e("deal_won"), e("review_posted", score=3.0))[1][0] == "customer"
    assert run(e("deal_won"), e("referral_made"))[1][0] == "advocate"


def test_lost_is_set_beside_the_stage_and_cleared_by_a_new_opportunity() -> None:
    stages = run(
        e("opportunity_created"),
        e("deal_lost"),
        e("email_opened"),
        e("opportunity_created"),
        e("deal_won"),
    )
    assert [s for s, _ in stages] == ["sql", "lost", "lost", "sql", "customer"]


def test_a_lost_deal_after_customer_is_not_lost_and_churn_is_won_back() -> None:
    stages = run(e("deal_won"), e("deal_lost"), e("churned"), e("ticket_opened"), e("deal_won"))
    assert [s for s, _ in stages] == ["customer", "customer", "churned", "churned", "customer"]
