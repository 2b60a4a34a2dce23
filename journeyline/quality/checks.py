"""The catalogue of quality gates (SPEC §8): what each check measures, on which table.

Each check is a small SQL query that DuckDB aggregates down to a handful of rows
(the offending entities, or one row per source), plus the Great Expectations
suite in ``expectations/`` that judges that frame against the configured
threshold. The heavy lifting stays in the warehouse; pandas and GX only ever see
the small result, never the full timeline.

Two kinds of check:

* ``count``: the frame holds one row per offending entity (a duplicated
  ``event_id``, a customer with a gap in ``event_seq``, ...). Its suite expects
  the row count to be at most ``$PARAMETER <check>_max`` (config ``max``, 0 when
  unset), so the observed value is the number of offenders.
* ``rate``: the frame holds one row per source (or stream, or customer: the
  ``rate_key``) with a measured column. Its suite expects every value between
  ``<check>_min`` and ``<check>_max`` (config, or ``bounds`` from other config
  such as ``identity.max_component_size``); the observed value is the worst
  row's. A row whose value is null could not be judged (e.g. no history yet):
  it passes, and the details say why (``unchecked``).

The join guards and the history checks live in ``guards.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import pandas as pd

from journeyline.config import CheckConfig, Config

TIMELINE = "customer_timeline"
CUSTOMERS = "customers"
IDENTITY_MAP = "identity_map"
FUNNEL = "fct_journey_funnel"
SOURCE_STATS = "stg_lake__source_stats"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 customer', '3 customers' (numbers with thousands separators)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def _no_params(_config: Config, _cfg: CheckConfig) -> list[object]:
    return []


@dataclass(frozen=True)
class CheckSpec:
    """One gate: the SQL that builds its frame and how to word what it found.

    SQL texts use ``{schema}`` for the (already quoted) schema name; everything
    else is fixed text or a bound parameter, never pasted input. Frames hold
    scalar columns only: GX hashes every frame, and a list column makes it fall
    back to pickling (seconds instead of milliseconds on 100k rows).
    """

    name: str
    target: str
    suite: str
    kind: Literal["count", "rate"]
    requires: dict[str, tuple[str, ...]]
    frame_sql: str
    population_sql: str | None = None
    describe: Callable[[int, int, pd.DataFrame], str] | None = None
    rate_column: str | None = None
    rate_label: str = ""
    rate_key: str = "source"
    unchecked: str = ""
    params: Callable[[Config, CheckConfig], list[object]] = _no_params
    bounds: Callable[[Config, CheckConfig], tuple[float | None, float | None]] | None = None

    def effective(self, config: Config, cfg: CheckConfig) -> CheckConfig:
        """The check's config with its min/max taken from ``bounds`` when it has them."""
        if self.bounds is None:
            return cfg
        low, high = self.bounds(config, cfg)
        return replace(cfg, min=low, max=high)


def _reconciliation(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return (
            "every source reconciles: input = accepted + quarantined + duplicates "
            f"({plural(total, 'source row')})"
        )
    lost = int(frame["difference"].fillna(0).abs().sum())
    return (
        f"{bad:,} of {plural(total, 'source row')} do not reconcile: input_count != "
        f"accepted + quarantined + duplicates ({plural(lost, 'record')} unaccounted for)"
    )


def _unique_event_id(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return f"every event_id is unique ({plural(total, 'event')})"
    surplus = int((frame["occurrences"] - 1).sum())
    verb = "occurs" if bad == 1 else "occur"
    return (
        f"{plural(bad, 'event_id')} {verb} more than once "
        f"({plural(surplus, 'surplus row')} among {plural(total, 'event')})"
    )


def _contiguous(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return f"event_seq is exactly 1..n for every customer ({plural(total, 'customer')})"
    return f"{bad:,} of {plural(total, 'customer')} with gaps or duplicates in event_seq"


def _customers_exist(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return f"every timeline customer is in customers ({plural(total, 'customer')})"
    events = int(frame["events"].sum())
    return (
        f"{bad:,} of {plural(total, 'timeline customer')} missing from customers "
        f"({plural(events, 'event')})"
    )


def _funnel(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return f"customers_reached never increases down the stages ({plural(total, 'funnel row')})"
    groups = len(frame[["cohort_month", "dimension", "dimension_value"]].drop_duplicates())
    return (
        f"customers_reached increases at {plural(bad, 'stage step')} "
        f"in {plural(groups, 'cohort × dimension value')} ({plural(total, 'funnel row')})"
    )


def _single_customer(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return f"every identifier maps to exactly one customer ({plural(total, 'identifier')})"
    return f"{bad:,} of {plural(total, 'identifier')} do not map to exactly one customer"


def _stage_order(config: Config, _cfg: CheckConfig) -> list[object]:
    """The funnel's stage order comes from config, never from the table."""
    return [list(config.stages.order)]


CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="reconciliation",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="count",
        requires={
            SOURCE_STATS: (
                "run_id",
                "source",
                "input_count",
                "accepted_count",
                "quarantined_count",
                "duplicate_count",
            )
        },
        frame_sql=f"""
            select * from (
                select run_id, source, input_count, accepted_count, quarantined_count,
                       duplicate_count,
                       input_count - (accepted_count + quarantined_count + duplicate_count)
                           as difference
                from {{schema}}.{SOURCE_STATS}
            )
            where difference is distinct from 0
            order by run_id, source
        """,
        population_sql=f"select count(*) from {{schema}}.{SOURCE_STATS}",
        describe=_reconciliation,
    ),
    CheckSpec(
        name="unique_event_id",
        target=TIMELINE,
        suite="marts/customer_timeline.json",
        kind="count",
        requires={TIMELINE: ("event_id", "customer_id")},
        frame_sql=f"""
            select event_id, count(*) as occurrences,
                   count(distinct customer_id) as customers,
                   array_to_string(list_sort(list(distinct customer_id))[1:5], ', ') as customer_ids
            from {{schema}}.{TIMELINE}
            where event_id is not null
            group by event_id
            having count(*) > 1
            order by occurrences desc, event_id
        """,
        population_sql=f"select count(*) from {{schema}}.{TIMELINE}",
        describe=_unique_event_id,
    ),
    CheckSpec(
        name="contiguous_event_seq",
        target=TIMELINE,
        suite="marts/customer_timeline.json",
        kind="count",
        requires={TIMELINE: ("customer_id", "event_seq")},
        frame_sql=f"""
            select customer_id, count(*) as events,
                   min(event_seq) as min_seq, max(event_seq) as max_seq,
                   count(distinct event_seq) as distinct_seqs
            from {{schema}}.{TIMELINE}
            group by customer_id
            having min(event_seq) is distinct from 1
                or max(event_seq) is distinct from count(*)
                or count(distinct event_seq) <> count(*)
            order by customer_id
        """,
        population_sql=f"select count(distinct customer_id) from {{schema}}.{TIMELINE}",
        describe=_contiguous,
    ),
    CheckSpec(
        name="timeline_customers_exist",
        target=TIMELINE,
        suite="marts/customer_timeline.json",
        kind="count",
        requires={TIMELINE: ("customer_id",), CUSTOMERS: ("customer_id",)},
        frame_sql=f"""
            select t.customer_id, count(*) as events
            from {{schema}}.{TIMELINE} as t
            where not exists (
                select 1 from {{schema}}.{CUSTOMERS} as c where c.customer_id = t.customer_id
            )
            group by t.customer_id
            order by events desc, t.customer_id
        """,
        population_sql=f"select count(distinct customer_id) from {{schema}}.{TIMELINE}",
        describe=_customers_exist,
    ),
    CheckSpec(
        name="funnel_monotonic",
        target=FUNNEL,
        suite="marts/fct_journey_funnel.json",
        kind="count",
        requires={
            FUNNEL: ("cohort_month", "dimension", "dimension_value", "stage", "customers_reached")
        },
        # Stages outside the configured order (e.g. outcomes) are not part of the funnel.
        frame_sql=f"""
            with ranked as (
                select cohort_month, dimension, dimension_value, stage, customers_reached,
                       list_position(?::varchar[], stage) as stage_position
                from {{schema}}.{FUNNEL}
            ),
            stepped as (
                select *,
                       lag(stage) over w as previous_stage,
                       lag(customers_reached) over w as previous_reached
                from ranked
                where stage_position is not null
                window w as (partition by cohort_month, dimension, dimension_value
                             order by stage_position)
            )
            select cohort_month, dimension, dimension_value,
                   previous_stage, previous_reached, stage, customers_reached
            from stepped
            where customers_reached > previous_reached
            order by cohort_month, dimension, dimension_value, stage_position
        """,
        population_sql=f"select count(*) from {{schema}}.{FUNNEL}",
        describe=_funnel,
        params=_stage_order,
    ),
    CheckSpec(
        name="identifier_single_customer",
        target=IDENTITY_MAP,
        suite="marts/identity_map.json",
        kind="count",
        requires={IDENTITY_MAP: ("identifier_type", "identifier_value", "customer_id")},
        frame_sql=f"""
            select identifier_type, identifier_value,
                   count(distinct customer_id) as customers,
                   array_to_string(list_sort(list(distinct customer_id))[1:5], ', ') as customer_ids
            from {{schema}}.{IDENTITY_MAP}
            group by identifier_type, identifier_value
            having count(distinct customer_id) <> 1
            order by customers desc, identifier_type, identifier_value
        """,
        population_sql=f"""
            select count(*) from (
                select distinct identifier_type, identifier_value from {{schema}}.{IDENTITY_MAP}
            )
        """,
        describe=_single_customer,
    ),
    CheckSpec(
        name="quarantine_rate",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="rate",
        requires={SOURCE_STATS: ("run_id", "source", "input_count", "quarantined_count")},
        frame_sql=f"""
            select run_id, source, input_count, quarantined_count,
                   coalesce(quarantined_count / nullif(input_count, 0), 0)::double
                       as quarantine_rate
            from {{schema}}.{SOURCE_STATS}
            order by run_id, source
        """,
        rate_column="quarantine_rate",
        rate_label="quarantine rate",
    ),
    CheckSpec(
        name="identifier_drop_rate",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="rate",
        requires={SOURCE_STATS: ("run_id", "source", "input_count", "identifiers_dropped")},
        frame_sql=f"""
            select run_id, source, input_count, identifiers_dropped,
                   coalesce(identifiers_dropped / nullif(input_count, 0), 0)::double
                       as identifier_drop_rate
            from {{schema}}.{SOURCE_STATS}
            order by run_id, source
        """,
        rate_column="identifier_drop_rate",
        rate_label="identifier drop rate",
    ),
)

CHECKS_BY_NAME: dict[str, CheckSpec] = {spec.name: spec for spec in CHECKS}
