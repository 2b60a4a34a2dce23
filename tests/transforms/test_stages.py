"""Stage rules as data: the stage after each event, outcomes beside the stages."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyline.config import default_config
from transforms.stages import EventFacts, StageMachine, run_columns


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


# Every event type a rule names, one no rule knows, and the facts the rules look at.
_TYPES = sorted(
    {t for r in default_config().stages.rules for t in r.event_types}
    | {t for o in default_config().stages.outcomes for t in o.event_types}
    | {"email_opened"}
)
_FACTS = st.builds(
    EventFacts,
    st.sampled_from(_TYPES),
    st.sampled_from([None, "nps", "csat", "ces"]),
    st.one_of(st.none(), st.sampled_from([0.0, -0.0, 3.0, 4.0, 8.0, 9.0, 10.0, float("nan")])),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_FACTS, min_size=1, max_size=12), max_size=8), st.integers(0, 3))
def test_run_columns_is_the_machine_run_customer_by_customer(
    customers: list[list[EventFacts]], chunks: int
) -> None:
    """Many customers' rows in one call (columns chunked as a take may leave them) give
    what ``StageMachine.run`` gives each customer on their own."""
    m = machine()
    rows = [facts for events in customers for facts in events]
    starts = np.array([i == 0 for events in customers for i in range(len(events))], bool)

    def column(values: list[object], kind: pa.DataType) -> pa.ChunkedArray:
        cut = len(values) * chunks // 4
        return pa.chunked_array([values[:cut], values[cut:]], kind)

    stages, changed = run_columns(
        m,
        starts,
        column([f.event_type for f in rows], pa.string()),
        column([f.survey_type for f in rows], pa.string()),
        column([f.score for f in rows], pa.float64()),
        np.array([f.has_known_identifier for f in rows], bool),
    )
    expected = [step for events in customers for step in m.run(events)]
    assert list(zip(stages.to_pylist(), changed.tolist(), strict=True)) == expected
