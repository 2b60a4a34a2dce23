"""Ground truth in ``OUT/_truth/`` (Parquet): events, people, identifiers, noise, accounts.

The pipeline never reads these; tests compare the warehouse with them. Per person the
truth also says how many connected identity fragments the person's identifiers form
(1 means perfectly resolvable) and which identifier values are shared with others.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from journeyline.generate.clock import DAY
from journeyline.generate.events import Event
from journeyline.generate.identifiers import normalise
from journeyline.generate.noise import NoiseLine
from journeyline.generate.population import Population
from journeyline.generate.stages import StageHistory, default_stages, stage_history
from journeyline.generate.writer import Layout
from journeyline.schema import AMOUNT, ANONYMOUS_IDENTIFIER_TYPES, STAGES, TIMESTAMP

_MS = pa.timestamp("ms", tz="UTC")
Key = tuple[str, str]


@dataclass
class PersonFacts:
    """What the truth tables need to know about one person beyond their events."""

    events: list[Event]
    normalised: list[list[Key]]  # per event, in the same order
    history: StageHistory
    identifiers: list[Key]
    fragments: int
    shared: list[Key]


def normalised_ids(event: Event) -> list[Key]:
    """The event's identifiers as the pipeline should match them (blocked extras dropped)."""
    return [(t, normalise(t, v)) for t, v in event.identifiers.items() if t != event.blocked_type]


def _fragments(normalised: list[list[Key]]) -> tuple[list[Key], int]:
    """The person's distinct identifiers and the number of connected components they form."""
    parent: dict[Key, Key] = {}

    def find(key: Key) -> Key:
        """The root of ``key``, compressing the path on the way."""
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    order: list[Key] = []
    for keys in normalised:
        for key in keys:
            if key not in parent:
                parent[key] = key
                order.append(key)
        for other in keys[1:]:
            a, b = find(keys[0]), find(other)
            if a != b:
                parent[b] = a
    roots = {find(key) for key in order}
    return order, len(roots)


def person_facts(population: Population, events: list[Event]) -> dict[str, PersonFacts]:
    """Events grouped per person in timeline order (occurred_at, event_id), plus facts."""
    rules = default_stages()
    grouped: dict[str, list[Event]] = {p.person_id: [] for p in population.people}
    for event in events:
        grouped[event.person_id].append(event)
    owners: dict[Key, list[str]] = {}
    facts: dict[str, PersonFacts] = {}
    for person_id, own in grouped.items():
        own.sort(key=lambda e: (e.occurred, e.event_id))
        normalised = [normalised_ids(e) for e in own]
        keys, fragments = _fragments(normalised)
        for key in keys:
            owners.setdefault(key, []).append(person_id)
        facts[person_id] = PersonFacts(
            own, normalised, stage_history(own, rules), keys, fragments, []
        )
    for fact in facts.values():
        fact.shared = [key for key in fact.identifiers if len(owners[key]) > 1]
    return facts


def check_resolvable(facts: dict[str, PersonFacts]) -> None:
    """Fail loudly if a ``default`` data set broke its promise of perfect resolvability."""
    for person_id, fact in facts.items():
        if fact.fragments > 1 or fact.shared:
            raise RuntimeError(
                f"generator bug: {person_id} has {fact.fragments} identity fragments and "
                f"shares {fact.shared}"
            )


def _write(table: pa.Table, path: Path) -> Path:
    """Write ``table`` as zstd Parquet (deterministic bytes)."""
    pq.write_table(table, path, compression="zstd")
    return path


def _ts(values: list[int | None]) -> pa.Array:
    """Millisecond instants as the canonical UTC microsecond timestamp type."""
    return pa.array(values, type=_MS).cast(TIMESTAMP)


def events_table(events: list[Event], facts: dict[str, PersonFacts], layout: Layout) -> pa.Table:
    """One row per distinct valid event, ordered by occurred_at then event_id.

    ``lifecycle_stage`` is the stage after the event under the default rules; ``outcome``
    (lost, churned or null) is the outcome status in force beside it.
    """
    index = {id(e): i for i, e in enumerate(events)}
    stage: dict[int, str] = {}
    outcome: dict[int, str | None] = {}
    for fact in facts.values():
        history = fact.history
        for event, after, status in zip(
            fact.events, history.after, history.outcome_after, strict=True
        ):
            stage[id(event)] = after
            outcome[id(event)] = status
    rows = sorted(events, key=lambda e: (e.occurred, e.event_id))
    locations = [layout.event_locations[index[id(e)]] for e in rows]
    amounts = [None if e.amount_cents is None else Decimal(e.amount_cents).scaleb(-2) for e in rows]
    columns: dict[str, Any] = {
        "event_id": pa.array([e.event_id for e in rows]),
        "person_id": pa.array([e.person_id for e in rows]),
        "account_id": pa.array([e.account_id for e in rows], pa.string()),
        "stream": pa.array([e.stream for e in rows]),
        "source": pa.array([e.source for e in rows]),
        "event_type": pa.array([e.event_type for e in rows]),
        "occurred_at": _ts([e.occurred for e in rows]),
        "received_at": _ts([e.received for e in rows]),
        "channel": pa.array([e.channel for e in rows], pa.string()),
        "campaign_id": pa.array([e.campaign_id for e in rows], pa.string()),
        "message_theme": pa.array([e.message_theme for e in rows], pa.string()),
        "survey_type": pa.array([e.survey_type for e in rows], pa.string()),
        "score": pa.array([e.score for e in rows], pa.float64()),
        "amount": pa.array(amounts, AMOUNT),
        "currency": pa.array([e.currency for e in rows], pa.string()),
        "identifiers": pa.array(
            [list(e.identifiers.items()) for e in rows], pa.map_(pa.string(), pa.string())
        ),
        "blocked_identifier_type": pa.array([e.blocked_type for e in rows], pa.string()),
        "is_late": pa.array([e.received - e.occurred >= DAY for e in rows]),
        "lifecycle_stage": pa.array([stage[id(e)] for e in rows]),
        "outcome": pa.array([outcome[id(e)] for e in rows], pa.string()),
        "file": pa.array([loc[0] for loc in locations]),
        "line_number": pa.array([loc[1] for loc in locations], pa.int64()),
    }
    return pa.table(columns)


def people_table(population: Population, facts: dict[str, PersonFacts]) -> pa.Table:
    """One row per person: account attributes, first touch, true stages and identity shape."""
    rows: dict[str, list[Any]] = {
        name: []
        for name in (
            "person_id",
            "account_id",
            "segment",
            "persona",
            "industry",
            "country",
            "journey_path",
            "primary_theme",
            "consistent_story",
            "first_touch_channel",
            "first_touch_at",
            "is_identified",
            "lifecycle_stage",
            "outcome",
            *(f"{s}_at" for s in STAGES),
            "lost_at",
            "churned_at",
            "event_count",
            "identifier_count",
            "identity_fragments",
            "shared_identifiers",
        )
    }
    for person in population.people:
        fact = facts[person.person_id]
        account = person.account
        first = fact.events[0] if fact.events else None
        history = fact.history
        values: dict[str, Any] = {
            "person_id": person.person_id,
            "account_id": account.account_id,
            "segment": account.segment,
            "persona": person.persona,
            "industry": account.industry,
            "country": account.country,
            "journey_path": person.path,
            "primary_theme": person.primary_theme,
            "consistent_story": person.consistent_story,
            "first_touch_channel": first.channel if first else None,
            "first_touch_at": first.occurred if first else None,
            "is_identified": any(t not in ANONYMOUS_IDENTIFIER_TYPES for t, _ in fact.identifiers),
            "lifecycle_stage": history.final,
            "outcome": history.outcome,
            **{f"{s}_at": history.entered.get(s) for s in STAGES},
            "lost_at": history.outcome_at.get("lost"),
            "churned_at": history.outcome_at.get("churned"),
            "event_count": len(fact.events),
            "identifier_count": len(fact.identifiers),
            "identity_fragments": fact.fragments,
            "shared_identifiers": [f"{t}:{v}" for t, v in fact.shared],
        }
        for name, value in values.items():
            rows[name].append(value)
    timestamps = {"first_touch_at", "lost_at", "churned_at", *(f"{s}_at" for s in STAGES)}
    columns = {
        name: _ts(values)
        if name in timestamps
        else pa.array(values, pa.list_(pa.string()))
        if name == "shared_identifiers"
        else pa.array(values, pa.int64())
        if name.endswith(("_count", "_fragments"))
        else pa.array(values)
        for name, values in rows.items()
    }
    columns["lifecycle_stage"] = pa.array(rows["lifecycle_stage"], pa.string())
    columns["outcome"] = pa.array(rows["outcome"], pa.string())
    columns["first_touch_channel"] = pa.array(rows["first_touch_channel"], pa.string())
    return pa.table(columns)


def identifiers_table(population: Population, facts: dict[str, PersonFacts]) -> pa.Table:
    """One row per (identifier, person) seen on valid events, normalised, with its role."""
    stats: dict[tuple[str, str, str], list[int]] = {}  # (type, value, person) -> [n, first, last]
    owners: dict[Key, int] = {}
    for person_id, fact in facts.items():
        for event, normalised in zip(fact.events, fact.normalised, strict=True):
            for key in normalised:
                entry = stats.get((*key, person_id))
                if entry is None:
                    stats[(*key, person_id)] = [1, event.occurred, event.occurred]
                    owners[key] = owners.get(key, 0) + 1
                else:
                    entry[0] += 1
                    entry[2] = event.occurred
    accounts = {p.person_id: p.account.account_id for p in population.people}
    keys = sorted(stats)
    return pa.table(
        {
            "identifier_type": pa.array([k[0] for k in keys]),
            "identifier_value": pa.array([k[1] for k in keys]),
            "person_id": pa.array([k[2] for k in keys]),
            "account_id": pa.array([accounts[k[2]] for k in keys]),
            "role": pa.array([population.roles.get((k[0], k[1]), "unknown") for k in keys]),
            "shared_by": pa.array([owners[(k[0], k[1])] for k in keys], pa.int64()),
            "event_count": pa.array([stats[k][0] for k in keys], pa.int64()),
            "first_seen_at": _ts([stats[k][1] for k in keys]),
            "last_seen_at": _ts([stats[k][2] for k in keys]),
        }
    )


def noise_table(noise: list[NoiseLine], layout: Layout) -> pa.Table:
    """One row per injected noise line, pointing at its file and 1-based line number."""
    rows = sorted(zip(layout.noise_locations, noise, strict=True), key=lambda r: r[0])
    return pa.table(
        {
            "stream": pa.array([n.stream for _, n in rows], pa.string()),
            "file": pa.array([loc[0] for loc, _ in rows], pa.string()),
            "line_number": pa.array([loc[1] for loc, _ in rows], pa.int64()),
            "kind": pa.array([n.kind for _, n in rows], pa.string()),
            "event_id": pa.array([n.event_id for _, n in rows], pa.string()),
            "expected_outcome": pa.array([n.expected_outcome for _, n in rows], pa.string()),
            "expected_reason_code": pa.array(
                [n.expected_reason_code for _, n in rows], pa.string()
            ),
        }
    )


def accounts_table(population: Population) -> pa.Table:
    """One row per account with its B2B attributes and, in messy data, shared identifiers."""
    accounts = population.accounts
    return pa.table(
        {
            "account_id": pa.array([a.account_id for a in accounts]),
            "name": pa.array([a.name for a in accounts]),
            "domain": pa.array([a.domain for a in accounts]),
            "segment": pa.array([a.segment for a in accounts]),
            "industry": pa.array([a.industry for a in accounts]),
            "country": pa.array([a.country for a in accounts]),
            "currency": pa.array([a.currency for a in accounts]),
            "employees": pa.array([a.employees for a in accounts], pa.int64()),
            "marketing_platform": pa.array([a.marketing_platform for a in accounts]),
            "people": pa.array(_people_per_account(population), pa.int64()),
            "support_inbox": pa.array([a.support_inbox for a in accounts], pa.string()),
            "switchboard_phone": pa.array(
                [None if a.switchboard is None else "+1" + a.switchboard for a in accounts],
                pa.string(),
            ),
        }
    )


def _people_per_account(population: Population) -> list[int]:
    """How many people each account has, in account order."""
    counts: dict[str, int] = {}
    for person in population.people:
        counts[person.account.account_id] = counts.get(person.account.account_id, 0) + 1
    return [counts[a.account_id] for a in population.accounts]


def campaigns_table(population: Population) -> pa.Table:
    """One row per campaign: its channel and the story (message theme) it tells."""
    campaigns = population.campaigns
    return pa.table(
        {
            "campaign_id": pa.array([c.campaign_id for c in campaigns]),
            "name": pa.array([c.name for c in campaigns]),
            "channel": pa.array([c.channel for c in campaigns]),
            "message_theme": pa.array([c.message_theme for c in campaigns]),
        }
    )


def write_truth(
    folder: Path,
    population: Population,
    events: list[Event],
    facts: dict[str, PersonFacts],
    noise: list[NoiseLine],
    layout: Layout,
) -> dict[str, Path]:
    """Write every truth table into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "events": events_table(events, facts, layout),
        "people": people_table(population, facts),
        "identifiers": identifiers_table(population, facts),
        "noise": noise_table(noise, layout),
        "accounts": accounts_table(population),
        "campaigns": campaigns_table(population),
    }
    return {name: _write(table, folder / f"{name}.parquet") for name, table in tables.items()}
