"""The reference: journeyline's unification as plain DuckDB SQL in one process.

The benchmark reports journeyline's figures as ratios against this, measured in the
same run on the same input, so a busy or slow machine moves both alike. It does what
the batch job does, in the same order, with the same configuration:

1. canonical events: every ``*.jsonl`` line of the landing folder read with
   ``read_json``; the row contract's main rules (known stream and event type, parsable
   zoned timestamps, occurred_at at most ``future_tolerance_hours`` after received_at and
   not before ``earliest_occurred_at``, survey scores in range, at least one usable
   identifier);
2. de-duplication on ``event_id``: the earliest received copy survives (ties broken by
   source and line hash), as in transforms/dedup.py;
3. identifiers: the configured types; e-mail trimmed and lower-cased, phone reduced to
   its digits, other ids trimmed; the configured blocked values and patterns dropped;
4. identity: connected components of events over shared identifiers, by iterative
   min-label propagation with pointer jumping (plain SQL statements in a loop);
5. timeline: ``event_seq`` per customer by (occurred_at, event_id), and the stage.

Simplifications, documented so the sanity check is read correctly: the stage is the
highest stage any rule matched so far (``after`` rules need the bound reached on an
earlier or the same event); outcomes (lost, churned) are not applied; phone numbers
are not checked against a numbering plan; the identity guards (shared identifiers,
per-type limits, the super-node guard) are not applied, so the reference may merge a
few customers journeyline keeps apart. Hashing e-mail and phone does not change which
events connect, so the reference matches on the normalised values.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from journeyline.config import Config, StageRule
from journeyline.schema import ANONYMOUS_IDENTIFIER_TYPES, EVENT_TYPES, STREAMS, SURVEY_RANGES

MAX_ROUNDS = 64


@dataclass
class ReferenceResult:
    """What the reference produced: counts to compare, and how long each part took."""

    input_lines: int
    accepted_events: int
    duplicate_events: int
    customers: int
    timeline_rows: int
    rounds: int
    seconds: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _sql_list(values: object) -> str:
    """A SQL list literal of strings (values come from the configuration, not the input)."""
    items = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)  # type: ignore[attr-defined]
    return f"[{items}]"


def _rule_condition(rule: StageRule, has_known: str) -> str:
    """The SQL condition under which one stage rule matches an event (``after`` aside)."""
    if rule.any_event:
        return "true"
    parts = [f"list_contains({_sql_list(sorted(rule.event_types))}, event_type)"]
    if rule.requires_known_identifier:
        parts.append(has_known)
    if rule.survey_type is not None:
        parts.append(f"survey_type = '{rule.survey_type}'")
    if rule.min_score is not None:
        parts.append(f"coalesce(score >= {rule.min_score}, false)")
    if rule.max_score is not None:
        parts.append(f"coalesce(score <= {rule.max_score}, false)")
    return " and ".join(parts)


def _rank_expression(config: Config, with_after: bool, has_known: str) -> str:
    """Highest stage rank an event matches by itself: rules without ``after`` (or with)."""
    rank = {stage: i for i, stage in enumerate(config.stages.order)}
    cases = [
        f"when {_rule_condition(rule, has_known)} then {rank[rule.stage]}"
        for rule in sorted(config.stages.rules, key=lambda r: -rank[r.stage])
        if (rule.after is not None) == with_after
    ]
    if with_after:
        # an `after` rule counts once the running stage has reached its bound
        bounded = [
            (rule, rank[rule.after])
            for rule in sorted(config.stages.rules, key=lambda r: -rank[r.stage])
            if rule.after is not None
        ]
        cases = [
            f"when base_reached >= {bound} and {_rule_condition(rule, has_known)} "
            f"then {rank[rule.stage]}"
            for rule, bound in bounded
        ]
    return f"case {' '.join(cases)} else -1 end" if cases else "-1"


def _contract_sql(config: Config) -> str:
    """Canonical rows that pass the contract's main rules (not yet de-duplicated)."""
    vocab = [(s, t) for s in STREAMS for t in EVENT_TYPES[s]]
    for stream, types in config.contract.custom_event_types.items():
        vocab += [(stream, t) for t in types]
    vocab_sql = ", ".join(f"('{s}', '{t}')" for s, t in vocab)
    ranges = " ".join(
        f"when '{name}' then score between {low} and {high}"
        for name, (low, high) in SURVEY_RANGES.items()
    )
    tolerance = config.contract.future_tolerance_hours
    earliest = config.contract.earliest_occurred_at.isoformat()
    return f"""
        with parsed as (
            select line_no, source_folder, event_id, event_type, identifiers,
                   coalesce(stream, source_folder) as stream,
                   try_cast(occurred_at as timestamptz) as occurred,
                   coalesce(try_cast(received_at as timestamptz), now()) as received,
                   try_cast(score as double) as score,
                   lower(survey_type) as survey_type,
                   occurred_at, line_hash
            from raw
        ), vocab(stream, event_type) as (values {vocab_sql})
        select p.* exclude (occurred_at)
        from parsed as p
        semi join vocab using (stream, event_type)
        where p.event_id is not null
          and p.occurred is not null
          and regexp_full_match(p.occurred_at, '\\d{{4}}-\\d\\d-\\d\\dT.*(Z|[+-]\\d\\d:\\d\\d)')
          and p.occurred <= p.received + interval '{tolerance} hours'
          and p.occurred >= '{earliest}'::timestamptz
          and json_type(p.identifiers) = 'OBJECT'
          and (p.survey_type is null or coalesce(case p.survey_type {ranges} end, false))
    """


def _identifiers_sql(config: Config) -> str:
    """(row, type, normalised value) of every usable identifier of the contract's rows."""
    identity = config.identity
    everywhere = identity.blocked_values.get("*", frozenset())
    blocked_rows = [
        (t, v.strip().lower())
        for t in identity.identifier_types
        for v in everywhere | identity.blocked_values.get(t, frozenset())
    ]
    blocked_sql = (
        ", ".join("('{}', '{}')".format(t, v.replace("'", "''")) for t, v in blocked_rows)
        or "(null, null)"
    )
    patterns = {
        t: (*identity.blocked_patterns.get("*", ()), *identity.blocked_patterns.get(t, ()))
        for t in identity.identifier_types
    }
    pattern_cases = " ".join(
        f"when '{t}' then " + " or ".join(f"regexp_matches(value, '{p}')" for p in ps)
        for t, ps in patterns.items()
        if ps
    )
    blocked_by_pattern = f"coalesce(case id_type {pattern_cases} end, false)"
    return f"""
        with pairs as (
            select c.line_no, k.id_type,
                   json_extract(c.identifiers, '$."' || k.id_type || '"') as raw_value
            from contract as c, unnest(json_keys(c.identifiers)) as k(id_type)
        ), typed as (
            select line_no, id_type, trim(raw_value ->> '$') as text
            from pairs
            where list_contains({_sql_list(identity.identifier_types)}, id_type)
              and json_type(raw_value) in ('VARCHAR', 'BIGINT', 'UBIGINT')
        ), normalised as (
            select line_no, id_type,
                   case id_type
                       when 'email' then case when regexp_full_match(
                           lower(text), '[^@\\s]+@[^@\\s]+\\.[^@\\s.]{{2,}}') then lower(text) end
                       when 'phone' then nullif(regexp_replace(text, '[^0-9]', '', 'g'), '')
                       else text
                   end as value
            from typed
            where length(text) between 1 and 320
        ), blocked(id_type, value) as (values {blocked_sql})
        select n.line_no, n.id_type, n.value
        from normalised as n
        anti join blocked as b on b.id_type = n.id_type and b.value = lower(n.value)
        where n.value is not null and not {blocked_by_pattern}
    """


def run_reference(config: Config, input_dir: Path, out_dir: Path) -> ReferenceResult:
    """Unify the landing folder ``input_dir`` in DuckDB; write the timeline to ``out_dir``."""
    seconds: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p) for s in STREAMS for p in (input_dir / s).glob("*.jsonl"))
    con = duckdb.connect()
    try:
        start = time.perf_counter()
        con.execute(
            """
            create table raw as
            select row_number() over () as line_no,
                   regexp_extract(filename, '([a-z]+)/[^/]+$', 1) as source_folder,
                   hash(event_id, occurred_at, received_at, identifiers::varchar) as line_hash,
                   * exclude (filename)
            from read_json(?, format = 'newline_delimited', ignore_errors = true,
                           filename = true, maximum_object_size = 1048576,
                           columns = {event_id: 'VARCHAR', stream: 'VARCHAR',
                                      event_type: 'VARCHAR', occurred_at: 'VARCHAR',
                                      received_at: 'VARCHAR', identifiers: 'JSON',
                                      survey_type: 'VARCHAR', score: 'VARCHAR'})
            """,
            [files],
        )
        input_lines = sum(_count_lines(Path(f)) for f in files)
        seconds["read"] = time.perf_counter() - start

        start = time.perf_counter()
        con.execute(f"create table contract as {_contract_sql(config)}")
        con.execute(f"create table ids as {_identifiers_sql(config)}")
        con.execute(
            """
            create table events as
            select * from (
                select c.*, row_number() over (
                    partition by event_id order by received, source_folder, line_hash
                ) as copy_no
                from contract as c semi join ids using (line_no)
            )
            where copy_no = 1
            """
        )
        duplicates = (
            con.execute("select count(*) from contract semi join ids using (line_no)").fetchone()[0]
            - con.execute("select count(*) from events").fetchone()[0]
        )
        seconds["contract_dedup"] = time.perf_counter() - start

        start = time.perf_counter()
        rounds = _components(con)
        seconds["identity"] = time.perf_counter() - start

        start = time.perf_counter()
        _timeline(con, config, out_dir / "timeline.parquet")
        seconds["timeline"] = time.perf_counter() - start

        accepted = con.execute("select count(*) from events").fetchone()[0]
        customers = con.execute("select count(distinct customer) from assigned").fetchone()[0]
        rows = con.execute("select count(*) from timeline").fetchone()[0]
    finally:
        con.close()
    return ReferenceResult(
        input_lines=input_lines,
        accepted_events=int(accepted),
        duplicate_events=int(duplicates),
        customers=int(customers),
        timeline_rows=int(rows),
        rounds=rounds,
        seconds={k: round(v, 3) for k, v in seconds.items()},
    )


def _count_lines(path: Path) -> int:
    """Non-empty lines of one input file (what journeyline calls its input count)."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _components(con: duckdb.DuckDBPyConnection) -> int:
    """Connected components of the event–identifier graph; returns the rounds it took.

    Nodes are the distinct identifiers of surviving events. Each event links all of its
    identifiers to its smallest one; labels propagate the minimum over links, followed by
    a pointer jump, until no label changes.
    """
    con.execute(
        """
        create table nodes as
        select row_number() over (order by id_type, value) as node, id_type, value
        from (select distinct i.id_type, i.value from ids as i semi join events using (line_no))
        """
    )
    con.execute(
        """
        create table event_nodes as
        select i.line_no, n.node
        from ids as i
        semi join events using (line_no)
        join nodes as n using (id_type, value)
        """
    )
    con.execute(
        """
        create table links as
        with firsts as (select line_no, min(node) as first from event_nodes group by line_no)
        select distinct e.node as u, f.first as v
        from event_nodes as e join firsts as f using (line_no)
        where e.node <> f.first
        """
    )
    con.execute("create table edges as select u, v from links union all select v, u from links")
    con.execute("create table labels as select node, node as label from nodes")
    rounds = 0
    while rounds < MAX_ROUNDS:
        rounds += 1
        con.execute(
            """
            create or replace table step as
            select l.node, least(l.label, coalesce(m.label, l.label)) as label
            from labels as l
            left join (
                select e.u as node, min(l2.label) as label
                from edges as e join labels as l2 on l2.node = e.v
                group by e.u
            ) as m using (node)
            """
        )
        con.execute(
            """
            create or replace table step as
            select s.node, least(s.label, p.label) as label
            from step as s join step as p on p.node = s.label
            """
        )
        changed = con.execute(
            "select count(*) from step join labels using (node) where step.label <> labels.label"
        ).fetchone()[0]
        con.execute("drop table labels")
        con.execute("alter table step rename to labels")
        if not changed:
            break
    con.execute(
        """
        create table assigned as
        select e.line_no, min(l.label) as customer
        from event_nodes as e join labels as l using (node)
        group by e.line_no
        """
    )
    return rounds


def _timeline(con: duckdb.DuckDBPyConnection, config: Config, path: Path) -> None:
    """Order, number and stage every customer's events, and write them to Parquet."""
    anonymous = _sql_list(sorted(ANONYMOUS_IDENTIFIER_TYPES))
    has_known = "has_known"
    order = _sql_list(config.stages.order)
    con.execute(
        f"""
        create table timeline as
        with facts as (
            select e.event_id, e.event_type, e.stream, e.occurred, e.survey_type, e.score,
                   a.customer,
                   exists (
                       select 1 from ids as i
                       where i.line_no = e.line_no and not list_contains({anonymous}, i.id_type)
                   ) as has_known
            from events as e join assigned as a using (line_no)
        ), ranked as (
            select *,
                   row_number() over w as event_seq,
                   max({_rank_expression(config, False, has_known)}) over w as base_reached
            from facts
            window w as (partition by customer order by occurred, event_id
                         rows between unbounded preceding and current row)
        ), staged as (
            select *,
                   greatest(base_reached, max({_rank_expression(config, True, has_known)}) over (
                       partition by customer order by event_seq
                       rows between unbounded preceding and current row)) as reached
            from ranked
        )
        select customer as customer_id, event_seq, event_id, event_type, stream, occurred,
               {order}[greatest(reached, 0) + 1] as lifecycle_stage
        from staged
        """
    )
    con.execute("copy timeline to ? (format parquet, compression zstd)", [str(path)])


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.reference LANDING OUT_DIR RESULT_JSON`` (the runner's child)."""
    import json
    import sys

    from journeyline.config import load_config

    landing, out_dir, result_path = (Path(a) for a in (argv or sys.argv[1:]))
    config = load_config(None).with_input(landing)
    result = run_reference(config, landing, out_dir)
    result_path.write_text(json.dumps(result.to_dict(), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
