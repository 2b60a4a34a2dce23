"""`journeyline evaluate`: identity resolution against a ground truth of who was behind each event.

Pairwise scores count pairs of events: a pair is predicted together when both
events went to one customer, truly together when one person was behind both.
Over-merged people share a customer with someone else; split people are spread
over several customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeyline.errors import InputError
from journeyline.warehouse.publish import quote


@dataclass(frozen=True)
class Scores:
    """Pairwise precision/recall/F1 and people-level errors of one resolution."""

    events: int
    people: int
    customers: int
    precision: float
    recall: float
    over_merged_people: int
    split_people: int

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def format(self) -> str:
        return "\n".join(
            [
                f"events compared:    {self.events:,}",
                f"true people:        {self.people:,}",
                f"resolved customers: {self.customers:,}",
                f"pairwise precision: {self.precision:.4f}",
                f"pairwise recall:    {self.recall:.4f}",
                f"pairwise F1:        {self.f1:.4f}",
                f"over-merged people: {self.over_merged_people:,} (share a customer with someone)",
                f"split people:       {self.split_people:,} (spread over several customers)",
            ]
        )


_SCORES_SQL = """
with pairs as (
    select t.person_id, w.customer_id
    from read_parquet(?) as t
    inner join {timeline} as w using (event_id)
),
cells as (select person_id, customer_id, count(*) as n from pairs group by all),
per_customer as (select customer_id, sum(n) as n, count(*) as people from cells group by all),
per_person as (select person_id, sum(n) as n, count(*) as customers from cells group by all)
select
    (select count(*) from pairs),
    (select count(*) from per_person),
    (select count(*) from per_customer),
    (select sum(n * (n - 1) / 2) from cells),
    (select sum(n * (n - 1) / 2) from per_customer),
    (select sum(n * (n - 1) / 2) from per_person),
    (select count(distinct c.person_id) from cells as c
        inner join per_customer as pc using (customer_id) where pc.people > 1),
    (select count(*) from per_person where customers > 1)
"""


def evaluate(warehouse: str | Path, truth: str | Path, schema: str = "main") -> Scores:
    """Score the published customer_timeline against a truth file (event_id → person_id)."""
    truth = Path(truth)
    if truth.is_dir():
        truth = truth / "events.parquet"
    if not truth.is_file():
        raise InputError(
            f"the truth file {truth} does not exist",
            "pass the _truth folder or events.parquet written by `journeyline generate`",
        )
    if not Path(warehouse).is_file():
        raise InputError(f"the warehouse {warehouse} does not exist", "run `journeyline run` first")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        row = con.execute(
            _SCORES_SQL.format(timeline=f"{quote(schema)}.customer_timeline"), [str(truth)]
        ).fetchone()
    except duckdb.Error as exc:
        raise InputError(f"cannot compare {truth} with {warehouse}: {exc}") from None
    finally:
        con.close()
    events, people, customers, together, predicted, actual, over, split = (int(v or 0) for v in row)
    return Scores(
        events=events,
        people=people,
        customers=customers,
        precision=together / predicted if predicted else 1.0,
        recall=together / actual if actual else 1.0,
        over_merged_people=over,
        split_people=split,
    )
