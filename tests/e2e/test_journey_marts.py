"""generate → run → journey marts, checked against an independent pandas computation
from the generator's raw events and ground truth (one customer per true person on the
default profile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from journeyline.cli import main
from journeyline.warehouse.docs import DOCS_FILE, remote_resources
from tests.e2e.conftest import Run

STAGES = ["visitor", "lead", "mql", "sal", "sql", "customer", "advocate"]
SALES_TOUCHES = {"sales_contacted", "meeting_held"}


@pytest.fixture(scope="module")
def truth(first_run: Run) -> pd.DataFrame:
    """The true events with the warehouse customer of each true person."""
    events = pd.read_parquet(first_run.truth / "events.parquet")
    timeline = first_run.df("select event_id, customer_id from main.customer_timeline")
    joined = events.merge(timeline, on="event_id", how="inner")
    owners = joined.groupby("person_id")["customer_id"].nunique()
    assert (owners == 1).all(), "a true person is split over customers"
    assert joined.groupby("customer_id")["person_id"].nunique().max() == 1
    return joined


@pytest.fixture(scope="module")
def people(first_run: Run) -> pd.DataFrame:
    return pd.read_parquet(first_run.truth / "people.parquet")


def test_funnel_counts_and_conversion_rates_by_cohort_equal_the_truth(
    first_run: Run, people: pd.DataFrame
) -> None:
    people = people[people.first_touch_at.notna()].copy()
    people["cohort_month"] = people.first_touch_at.dt.tz_convert("UTC").dt.tz_localize(None)
    people["cohort_month"] = people.cohort_month.dt.to_period("M").dt.start_time.dt.date
    rows = []
    for cohort, group in people.groupby("cohort_month"):
        reached = [
            int(group[[f"{s}_at" for s in STAGES[i:]]].notna().any(axis=1).sum())
            for i in range(len(STAGES))
        ]
        for i, stage in enumerate(STAGES):
            previous = reached[i - 1] if i else None
            rows.append(
                (
                    cohort,
                    stage,
                    reached[i],
                    None if not previous else reached[i] / previous,
                    reached[i] / reached[0],
                )
            )
    expected = pd.DataFrame(rows, columns=["cohort", "stage", "reached", "cfp", "cft"])
    got = first_run.df(
        "select cohort_month as cohort, stage, customers_reached as reached, "
        "conversion_from_previous as cfp, conversion_from_top as cft "
        "from main.fct_journey_funnel where dimension = 'all'"
    )
    got["cohort"] = pd.to_datetime(got.cohort).dt.date
    merged = expected.merge(got, on=["cohort", "stage"], suffixes=("", "_wh"), how="outer")
    assert len(merged) == len(expected) == len(got)
    assert (merged.reached == merged.reached_wh).all()
    assert np.allclose(merged.cft, merged.cft_wh)
    both = merged.cfp.notna()
    assert np.allclose(merged.cfp[both].astype(float), merged.cfp_wh[both])
    assert (merged.cfp.isna() == merged.cfp_wh.isna()).all()


def test_speed_to_lead_equals_the_truth(first_run: Run, truth: pd.DataFrame) -> None:
    mql = truth[truth.event_type == "mql_reached"].groupby("customer_id").occurred_at.min()
    touches = truth[truth.event_type.isin(SALES_TOUCHES)].merge(
        mql.rename("mql_at"), left_on="customer_id", right_index=True
    )
    touches = touches[touches.occurred_at >= touches.mql_at]
    first_touch = touches.groupby("customer_id").agg(
        mql_at=("mql_at", "first"), touch_at=("occurred_at", "min")
    )
    hours = (first_touch.touch_at - first_touch.mql_at).dt.total_seconds() / 3600
    assert len(hours) > 20

    got = first_run.df(
        "select customer_id, speed_to_lead_hours from main.fct_journey_consistency "
        "where speed_to_lead_hours is not null"
    ).set_index("customer_id")["speed_to_lead_hours"]
    assert set(got.index) == set(hours.index)
    assert np.allclose(got.loc[hours.index], hours)
    overall = first_run.sql("select median(speed_to_lead_hours) from main.fct_journey_consistency")
    assert overall[0][0] == pytest.approx(hours.median())
    breached = first_run.sql(
        "select count(*) from main.fct_journey_consistency where is_speed_to_lead_breached"
    )
    assert breached == [(int((hours > 24).sum()),)]


def test_nps_by_stage_and_stream_equals_the_truth(first_run: Run, truth: pd.DataFrame) -> None:
    answers = truth[(truth.survey_type == "nps") & truth.score.notna()].copy()
    answers["stage"] = answers.outcome.fillna(answers.lifecycle_stage)
    grouped = answers.groupby(["stage", "stream"]).score
    expected = (
        100 * (grouped.apply(lambda s: (s >= 9).mean()) - grouped.apply(lambda s: (s <= 6).mean()))
    ).rename("nps")
    counts = grouped.size().rename("responses")
    got = first_run.df(
        "select lifecycle_stage as stage, stream, nps, responses_count as responses "
        "from main.fct_cx_scores_by_stage where survey_type = 'nps'"
    ).set_index(["stage", "stream"])
    assert len(expected) >= 2
    assert set(got.index) == set(expected.index)
    assert np.allclose(got.loc[expected.index, "nps"], expected)
    assert (got.loc[counts.index, "responses"] == counts).all()


def test_theme_consistency_equals_the_truth(first_run: Run, truth: pd.DataFrame) -> None:
    themed = truth[truth.message_theme.notna()]
    counts = themed.groupby(["customer_id", "message_theme"]).size()
    expected = counts.groupby(level=0).max() / counts.groupby(level=0).sum()
    got = first_run.df(
        "select customer_id, theme_consistency from main.fct_journey_consistency "
        "where theme_consistency is not null"
    ).set_index("customer_id")["theme_consistency"]
    assert set(got.index) == set(expected.index)
    assert np.allclose(got.loc[expected.index], expected)
    # Consistent storytellers (truth) tell one story; the others mostly do not.
    people = pd.read_parquet(first_run.truth / "people.parquet")
    by_person = themed.groupby("customer_id").person_id.first()
    consistent = set(people.person_id[people.consistent_story])
    story = got.groupby(got.index.map(lambda c: by_person[c] in consistent)).mean()
    assert story[True] == pytest.approx(1.0)
    assert story[False] < 0.9


def test_every_new_mart_is_published_and_non_empty(first_run: Run) -> None:
    for table in (
        "fct_journey_fallout",
        "fct_journey_paths",
        "fct_journey_consistency",
        "agg_journey_consistency",
        "fct_survey_answers",
        "fct_cx_scores_by_stage",
        "fct_attribution",
    ):
        assert first_run.sql(f"select count(*) from main.{table}")[0][0] > 0, table
    customers = first_run.sql("select count(*) from main.customers")[0][0]
    assert first_run.sql("select count(*) from main.fct_journey_consistency") == [(customers,)]
    assert first_run.sql("select sum(customers_count) from main.fct_journey_paths") == [
        (customers,)
    ]


def test_docs_are_one_offline_html_page_of_the_published_warehouse(
    first_run: Run, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    paths = ["--warehouse", str(first_run.warehouse), "--lake", str(first_run.lake)]
    code = main(["docs", *paths, "--out", str(out)])
    assert code == 0
    assert [p.name for p in out.iterdir()] == [DOCS_FILE]
    html = (out / DOCS_FILE).read_text(encoding="utf-8")
    assert remote_resources(html) == []
    for name in ("fct_journey_consistency", "fct_attribution", "theme_consistency"):
        assert name in html
    # dbt started from the parse the run cached, not a parse of its own
    log = (first_run.lake / "_dbt_docs" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Starting full parse" not in log


def test_remote_resources_are_found() -> None:
    page = (
        '<a href="https://docs.getdbt.com">docs</a><script src="https://cdn.x/a.js"></script>'
        "<style>@font-face { src: url('//fonts.example/f.woff') }</style>"
    )
    assert len(remote_resources(page)) == 2
