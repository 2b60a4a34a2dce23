"""Build a small, consistent staging schema in DuckDB with plain SQL (tests and the benchmark).

Every invariant the gates check holds in what this builds; tests then break one
thing at a time with an UPDATE/INSERT and expect exactly that check to fail.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb

from journeyline.config import Config

STAGING = "journeyline_staging"
SOURCES = ("marketing", "sales", "service")


def build_warehouse(
    con: duckdb.DuckDBPyConnection,
    schema: str = STAGING,
    *,
    customers: int = 20,
    events_per_customer: int = 5,
) -> None:
    """Create the tables the gates read, clean: ``customers × events_per_customer`` events."""
    s = schema
    con.execute(f"create schema if not exists {s}")
    con.execute(
        f"""
        create or replace table {s}.customer_timeline as
        select
            'e-' || c.range || '-' || e.range as event_id,
            'c-' || c.range as customer_id,
            (e.range + 1)::bigint as event_seq,
            timestamptz '2024-01-01 00:00:00+00' + to_hours(c.range) + to_days(e.range)
                as occurred_at,
            ['marketing', 'sales', 'service'][1 + (e.range % 3)::int] as stream,
            ['hubspot', 'salesforce', 'zendesk'][1 + (e.range % 3)::int] as source,
            'page_viewed' as event_type,
            'visitor' as lifecycle_stage,
            e.range = 0 as stage_changed
        from range({customers}) as c, range({events_per_customer}) as e
        """
    )
    con.execute(
        f"""
        create or replace table {s}.customers as
        select 'c-' || range as customer_id,
               timestamptz '2024-01-01 00:00:00+00' + to_hours(range) as first_seen_at,
               'visitor' as current_stage,
               timestamptz '2024-01-01 00:00:00+00' + to_hours(range) as visitor_at,
               null::timestamptz as lead_at, null::timestamptz as mql_at,
               null::timestamptz as sal_at, null::timestamptz as sql_at,
               null::timestamptz as customer_at, null::timestamptz as advocate_at,
               'web' as first_touch_channel, null::varchar as account_id
        from range({customers})
        """
    )
    con.execute(
        f"""
        create or replace table {s}.identity_map as
        select 'email' as identifier_type, 'h-' || range as identifier_value,
               'c-' || range as customer_id,
               timestamptz '2024-01-01 00:00:00+00' as first_seen_at,
               timestamptz '2024-02-01 00:00:00+00' as last_seen_at
        from range({customers})
        """
    )
    con.execute(
        f"""
        create or replace table {s}.identity_conflicts as
        select 'shared_identifier' as rule, 'email' as identifier_type,
               'team@acme.co' as identifier_value, 'c-0' as customer_id,
               null::varchar as other_identifier_type, null::varchar as other_identifier_value,
               null::varchar as other_customer_id,
               'the only link between identifiers of different people' as detail
        """
    )
    # Two cohorts × two channels; customers_reached halves at each stage.
    con.execute(
        f"""
        create or replace table {s}.fct_journey_funnel as
        with stages as (
            select unnest(['visitor', 'lead', 'mql', 'sal', 'sql', 'customer', 'advocate'])
                as stage,
                   unnest(range(7)) as position
        )
        select date '2024-01-01' + to_months(m.range) as cohort_month,
               'first_touch_channel' as dimension, ch.value as dimension_value,
               st.stage, (1000 // (2 ** st.position))::bigint as customers_reached,
               case when st.position = 0 then null else 0.5 end as conversion_from_previous,
               1.0 / (2 ** st.position) as conversion_from_top,
               case when st.position = 0 then null else 3.0 end as median_days_from_previous
        from range(2) as m, (select unnest(['web', 'email']) as value) as ch, stages as st
        """
    )
    con.execute(
        f"""
        create or replace table {s}.stg_lake__source_stats as
        select 'run-1' as run_id, src.source,
               1000::bigint as input_count, 980::bigint as accepted_count,
               10::bigint as quarantined_count, 10::bigint as duplicate_count,
               5::bigint as identifiers_dropped,
               timestamptz '2024-03-01 00:00:00+00' as max_occurred_at,
               timestamptz '2024-03-01 01:00:00+00' as max_received_at
        from (select unnest(['marketing', 'sales', 'service']) as source) as src
        """
    )
    con.execute(
        f"""
        create or replace table {s}.stg_lake__quarantine as
        select 'run-1' as run_id, src.source, 'malformed_json' as reason_code,
               'the input is not valid JSON' as reason, '{{' as raw,
               timestamptz '2024-03-01 01:00:00+00' as received_at,
               src.source || '.jsonl:' || q.range as location
        from (select unnest(['marketing', 'sales', 'service']) as source) as src, range(10) as q
        """
    )
    # The run log: one earlier published run with the same volume as this one.
    con.execute(
        f"""
        create or replace table {s}.stg_ops__pipeline_runs as
        select * from (values
            ('run-0', timestamptz '2024-02-01 00:00:00+00', 'published'),
            ('run-1', timestamptz '2024-03-01 02:00:00+00', 'running')
        ) as t(run_id, started_at, status)
        """
    )
    con.execute(
        f"""
        create or replace table {s}.stg_ops__source_runs as
        select * replace ('run-0' as run_id) from {s}.stg_lake__source_stats
        union all
        select * from {s}.stg_lake__source_stats
        """
    )


def with_check(config: Config, name: str, **changes: object) -> Config:
    """``config`` with one quality check's settings replaced (e.g. ``max=0.25``)."""
    return replace(config, quality={**config.quality, name: replace(config.check(name), **changes)})
