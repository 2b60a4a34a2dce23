"""Join guards and per-source batch expectations (SPEC §8.2, §8.3) as gate specs.

§8.2, per source, against the run's own input and the run history:

* ``source_volume``: input rows against the median of the last ``runs``
  published runs (relative change; -0.9 is a 90% drop). The history is the run
  log (``stg_ops__pipeline_runs`` / ``stg_ops__source_runs``, read from the
  lake's ``_ops``); the current run is never its own baseline, so a re-run of
  the same input judges the same way. No published history yet: pass, noted.
* ``source_freshness``: hours between a source's newest ``received_at`` and the
  newest across all sources of the run. The reference comes from the input,
  not the clock, so the same input always gives the same answer.
* ``identifier_null_rate``: share of a source's input rows quarantined because
  no identifier was usable (null-like, blocked or malformed values).

§8.3, on the identity graph the run built:

* ``match_rate``: per stream, the share of its events whose customer also has
  events in another stream: a join that stops working (an identifier renamed,
  hashed differently) leaves a stream's events on islands of their own.
* ``component_size``: identifiers per customer against
  ``identity.max_component_size`` (the super-node guard).
* ``identifier_limits``: identifiers of one type per customer against
  ``identity.limits``.
"""

from __future__ import annotations

import pandas as pd

from journeyline.config import CheckConfig, Config
from journeyline.quality.checks import IDENTITY_MAP, SOURCE_STATS, TIMELINE, CheckSpec, plural

QUARANTINE = "stg_lake__quarantine"
CONFLICTS = "identity_conflicts"
RUN_HISTORY = "stg_ops__pipeline_runs"
SOURCE_HISTORY = "stg_ops__source_runs"
DEFAULT_HISTORY_RUNS = 5
DEFAULT_MIN_ROWS = 50
COMPONENT_SAMPLES = 20  # the largest customers only: the rest cannot be larger


def _volume_params(_config: Config, cfg: CheckConfig) -> list[object]:
    runs = int(cfg.runs or DEFAULT_HISTORY_RUNS)
    return [runs, int(DEFAULT_MIN_ROWS if cfg.min_rows is None else cfg.min_rows)]


def _component_limit(config: Config, _cfg: CheckConfig) -> tuple[float | None, float | None]:
    return None, float(config.identity.max_component_size)


def _type_limits(config: Config, _cfg: CheckConfig) -> list[object]:
    limits = sorted(config.identity.limits.items())
    return [[t for t, _ in limits], [int(n) for _, n in limits]]


def _super_nodes(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        refusals = plural(total, "guard refusal")
        return f"no identifier was refused as a super-node ({refusals} in all)"
    worst = frame.iloc[0]
    return (
        f"{plural(bad, 'identifier')} refused as super-nodes and kept apart, e.g. "
        f"{worst['identifier_type']} {worst['identifier_value']}: {worst['detail']}"
    )


def _identifier_limits(bad: int, total: int, frame: pd.DataFrame) -> str:
    if not bad:
        return (
            "no customer holds more identifiers of one type than identity.limits allows "
            f"({plural(total, 'customer')})"
        )
    worst = frame.iloc[0]
    customers = int(frame["customer_id"].nunique())
    return (
        f"{customers:,} of {plural(total, 'customer')} hold more identifiers of a type than "
        f"identity.limits allows ({plural(bad, 'customer × type pair')}; worst: "
        f"{worst['customer_id']} holds {int(worst['held']):,} {worst['identifier_type']}, "
        f"limit {int(worst['type_limit']):,})"
    )


GUARDS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="identifier_null_rate",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="rate",
        requires={
            SOURCE_STATS: ("run_id", "source", "input_count"),
            QUARANTINE: ("source", "reason_code"),
        },
        frame_sql=f"""
            with without_identifier as (
                select source, count(*) as rows_without_identifier
                from {{schema}}.{QUARANTINE}
                where reason_code = 'no_valid_identifier'
                group by source
            )
            select s.run_id, s.source, s.input_count,
                   coalesce(w.rows_without_identifier, 0) as rows_without_identifier,
                   coalesce(w.rows_without_identifier / nullif(s.input_count, 0), 0)::double
                       as identifier_null_rate
            from {{schema}}.{SOURCE_STATS} as s
            left join without_identifier as w on s.source = w.source
            order by s.run_id, s.source
        """,
        rate_column="identifier_null_rate",
        rate_label="identifier null rate",
    ),
    CheckSpec(
        name="source_volume",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="rate",
        requires={
            SOURCE_STATS: ("run_id", "source", "input_count"),
            SOURCE_HISTORY: ("run_id", "source", "input_count"),
            RUN_HISTORY: ("run_id", "status", "started_at"),
        },
        frame_sql=f"""
            with published as (
                select run_id, max(started_at) as started_at
                from {{schema}}.{RUN_HISTORY}
                where status = 'published'
                  and run_id not in (select run_id from {{schema}}.{SOURCE_STATS})
                  and run_id in (
                      select run_id from {{schema}}.{SOURCE_HISTORY}
                      group by run_id having sum(input_count) > 0
                  )
                group by run_id
            ),
            recent as (
                select h.source, h.input_count,
                       row_number() over (
                           partition by h.source order by p.started_at desc, h.run_id desc
                       ) as recency
                from {{schema}}.{SOURCE_HISTORY} as h
                inner join published as p on h.run_id = p.run_id
            ),
            baseline as (
                select source, median(input_count)::double as baseline_input,
                       count(*) as history_runs
                from recent
                where recency <= ?
                group by source
            )
            select c.source, c.input_count, b.baseline_input,
                   coalesce(b.history_runs, 0) as history_runs,
                   case when sum(c.input_count) over () > 0 and b.baseline_input >= ?
                       then (c.input_count / nullif(b.baseline_input, 0) - 1)::double
                   end as volume_change
            from {{schema}}.{SOURCE_STATS} as c
            left join baseline as b on c.source = b.source
            order by c.source
        """,
        rate_column="volume_change",
        rate_label="volume change vs the median of recent published runs",
        # the first run, a new source, a tiny source, or a run that read no input (an erasure)
        unchecked=(
            "no published run with input to compare with, a baseline under min_rows, "
            "or no input in this run"
        ),
        params=_volume_params,
    ),
    CheckSpec(
        name="source_freshness",
        target=SOURCE_STATS,
        suite="lake/source_stats.json",
        kind="rate",
        requires={SOURCE_STATS: ("source", "max_occurred_at", "max_received_at")},
        frame_sql=f"""
            with newest as (
                select source, coalesce(max_received_at, max_occurred_at) as newest_at
                from {{schema}}.{SOURCE_STATS}
            ),
            reference as (
                select max(newest_at) as reference_at from newest
            )
            select n.source, n.newest_at, r.reference_at,
                   ((epoch(r.reference_at) - epoch(n.newest_at)) / 3600.0)::double
                       as hours_behind
            from newest as n
            cross join reference as r
            order by n.source
        """,
        rate_column="hours_behind",
        rate_label="hours behind the newest source",
        unchecked="no accepted event to date it",
    ),
    CheckSpec(
        name="component_size",
        target=IDENTITY_MAP,
        suite="marts/identity_map.json",
        kind="rate",
        requires={IDENTITY_MAP: ("identifier_type", "identifier_value", "customer_id")},
        frame_sql=f"""
            select customer_id, count(*)::double as component_size,
                   count(distinct identifier_type) as identifier_types,
                   array_to_string(
                       list_sort(list(identifier_type || ':' || identifier_value))[1:5], ', '
                   ) as some_identifiers
            from {{schema}}.{IDENTITY_MAP}
            group by customer_id
            order by component_size desc, customer_id
            limit {COMPONENT_SAMPLES}
        """,
        rate_column="component_size",
        rate_label="identifiers per customer",
        rate_key="customer_id",
        bounds=_component_limit,
    ),
    CheckSpec(
        name="identifier_limits",
        target=IDENTITY_MAP,
        suite="marts/identity_map.json",
        kind="count",
        requires={IDENTITY_MAP: ("identifier_type", "customer_id")},
        frame_sql=f"""
            with held as (
                select customer_id, identifier_type, count(*) as held
                from {{schema}}.{IDENTITY_MAP}
                group by customer_id, identifier_type
            ),
            limits as (
                select unnest(?::varchar[]) as identifier_type,
                       unnest(?::bigint[]) as type_limit
            )
            select h.customer_id, h.identifier_type, h.held, l.type_limit
            from held as h
            inner join limits as l on h.identifier_type = l.identifier_type
            where h.held > l.type_limit
            order by h.held - l.type_limit desc, h.customer_id, h.identifier_type
        """,
        population_sql=f"select count(distinct customer_id) from {{schema}}.{IDENTITY_MAP}",
        describe=_identifier_limits,
        params=_type_limits,
    ),
    CheckSpec(
        name="super_nodes",
        target=CONFLICTS,
        suite="marts/identity_conflicts.json",
        kind="count",
        requires={CONFLICTS: ("rule", "identifier_type", "identifier_value", "detail")},
        frame_sql=f"""
            select identifier_type, identifier_value, customer_id, detail
            from {{schema}}.{CONFLICTS}
            where rule = 'super_node'
            order by identifier_type, identifier_value
        """,
        population_sql=f"select count(*) from {{schema}}.{CONFLICTS}",
        describe=_super_nodes,
    ),
    CheckSpec(
        name="match_rate",
        target=TIMELINE,
        suite="marts/customer_timeline.json",
        kind="rate",
        requires={TIMELINE: ("customer_id", "stream")},
        frame_sql=f"""
            with customer_streams as (
                select customer_id, count(distinct stream) as streams
                from {{schema}}.{TIMELINE}
                group by customer_id
            )
            select t.stream, count(*) as events,
                   count(*) filter (where c.streams > 1) as matched_events,
                   (count(*) filter (where c.streams > 1) / count(*))::double as match_rate
            from {{schema}}.{TIMELINE} as t
            inner join customer_streams as c on t.customer_id = c.customer_id
            -- with one stream there is nothing to join across: the guard does not apply
            where (select count(distinct stream) from {{schema}}.{TIMELINE}) > 1
            group by t.stream
            order by t.stream
        """,
        rate_column="match_rate",
        rate_label="match rate (events whose customer has events in another stream)",
        rate_key="stream",
    ),
)
