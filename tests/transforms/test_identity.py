"""Identity resolution end to end in Beam: hand-built graphs, stable ids, never by account."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterable
from dataclasses import replace

import apache_beam as beam
import numpy as np
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from journeyline.config import default_config
from journeyline.schema import IDENTITY_MAP_SCHEMA
from tests.transforms.beam_helpers import event, events_table, local_pipeline
from transforms.batches import SortedKeys, string_shards
from transforms.identifiers import customer_id_for, node_id
from transforms.identity import (
    _TABLE_NODES,
    MAX_CLIQUE,
    UNASSIGNED,
    AssignCustomers,
    ResolveIdentities,
    assign,
    assign_in_place,
    candidates,
    graph_of,
    linked_pairs,
    occurrences_of,
)

SHARDS = 4
PRIORITY = default_config().identity.priority


def keyed(table: pa.Table) -> list[tuple[int, pa.Table]]:
    from transforms.batches import split_by_shard

    return list(split_by_shard(table, string_shards(table.column("event_id"), SHARDS)))


def assignments(tables: Iterable[pa.Table]) -> list[tuple[str, str]]:
    return [
        pair
        for t in tables
        for pair in zip(
            t.column("event_id").to_pylist(), t.column("customer_id").to_pylist(), strict=True
        )
    ]


def identity_rows(t: pa.Table) -> list[tuple[str, str, str]]:
    return list(
        zip(
            t.column("identifier_type").to_pylist(),
            t.column("identifier_value").to_pylist(),
            t.column("customer_id").to_pylist(),
            strict=True,
        )
    )


def resolve(rows: list[dict], check_events, check_identity=None, config=None) -> None:
    """Run ResolveIdentities + AssignCustomers on the rows and check the outputs."""
    config = replace(config or default_config().identity, max_rounds=8)
    with local_pipeline() as p:
        events = p | "Events" >> beam.Create(keyed(events_table(rows)))
        empty = p | "Nothing" >> beam.Create([])
        out = {
            "events": events,
            "previous_stats": empty,
            "previous_edges": empty,
        } | ResolveIdentities(SHARDS, config)
        # Both joins (pipeline.joins) run on every graph and must agree with the truth.
        for join in ("shuffle", "broadcast"):
            assigned = {
                "events": events,
                "occurrences": out["occurrences"],
                "resolved": out["resolved"],
            } | f"Assign[{join}]" >> AssignCustomers(SHARDS, join == "broadcast", PRIORITY)
            assert_that(
                assigned.events
                | f"Assignments[{join}]" >> beam.FlatMap(lambda t: assignments([t])),
                check_events,
                label=f"Events[{join}]",
            )
            assert_that(assigned[UNASSIGNED], equal_to([]), label=f"AllAssigned[{join}]")
        if check_identity is not None:
            assert_that(
                out["resolved"] | "Rows" >> beam.FlatMap(lambda kv: identity_rows(kv[1])),
                check_identity,
                label="Identity",
            )
        assert_that(out["unconverged"], equal_to([]), label="Converged")


def customers_of(prefixes: dict[str, int]):
    """A matcher: events grouped by the first letter of their id form the given counts."""

    def check(pairs: list[tuple[str, str]]) -> None:
        groups: dict[str, set[str]] = {}
        for event_id, customer in pairs:
            groups.setdefault(event_id[0], set()).add(customer)
        assert {k: len(v) for k, v in groups.items()} == prefixes, groups
        all_customers = [c for v in groups.values() for c in v]
        assert len(all_customers) == len(set(all_customers)), "two groups share a customer"

    return check


def test_graph_of_links_every_pair_of_an_events_identifiers() -> None:
    table = events_table([event("e", {"email": "a@b.co", "lead_id": "L", "user_id": "U"})])
    occurrences, stats, edges = graph_of(table, PRIORITY)
    assert occurrences.num_rows == 3 and stats.num_rows == 3
    assert edges.num_rows == 3  # a clique: refusing one identifier never unlinks the others
    u, v = edges.column("u").to_pylist(), edges.column("v").to_pylist()
    assert all(a < b for a, b in zip(u, v, strict=True))
    types = stats.column("identifier_type").to_pylist()
    ranks = dict(zip(types, occurrences.column("rank").to_pylist(), strict=True))
    assert ranks["user_id"] < ranks["lead_id"] < ranks["email"]


def test_a_tables_node_ids_are_hashed_once_and_let_go_with_the_table() -> None:
    """The graph and the assignment read the same tables: the second reader gets the node
    ids the first one hashed, and a freed table's ids are freed with it."""
    rows = [event("e1", {"email": "a@b.co", "user_id": "U"}), event("e2", {"lead_id": "L"})]
    table = events_table(rows)
    occurrences = graph_of(table, PRIORITY)[0]
    key = id(table)
    hashed = _TABLE_NODES[key]
    assert not hashed.flags.writeable
    again = occurrences_of(table, PRIORITY)
    assert again.equals(occurrences)
    assert _TABLE_NODES[key] is hashed  # looked up, not hashed again
    identifiers = table.column("identifiers").to_pylist()
    assert hashed.tolist() == [node_id(t, v) for row in identifiers for t, v in row]
    # an equal table that is another object is hashed for itself, to the same ids
    copy = events_table(rows)
    assert occurrences_of(copy, PRIORITY).equals(occurrences)
    assert _TABLE_NODES[id(copy)] is not hashed
    del table, copy
    gc.collect()
    assert key not in _TABLE_NODES


def test_assigning_in_place_is_assigning_by_event_id() -> None:
    """The broadcast join's assignment by row position picks, for every event, the customer
    the event-id assignment picks: refused identifiers last, then the strongest, then the
    smallest customer_id (types outside the priority list tie), and events with no resolved
    identifier are counted, not assigned."""
    rng = random.Random(11)
    types = ["email", "user_id", "anonymous_id", "phone", "lead_id", "x_handle", "y_handle"]
    assert not {"x_handle", "y_handle"} & set(PRIORITY)
    pool = [(t, f"{t}-{i}") for t in types for i in range(6)]
    for trial in range(30):
        rows = [
            event(f"e{trial}-{i}", dict(rng.sample(pool, rng.randint(1, 4))), minutes=i)
            for i in range(rng.randint(1, 40))
        ]
        events = events_table(rows).slice(rng.randint(0, 1))  # a slice: offsets not at zero
        resolved = [
            {
                "identifier_type": t,
                "identifier_value": v,
                "customer_id": f"cus_{rng.randint(0, 3)}",
                "first_seen_at": 0,
                "last_seen_at": 0,
                "first_received_at": 0,
                "node": node_id(t, v),
                "customer_key": rng.randint(0, 3),
                "degree": 1,
                "refused_rule": rng.choice([None, None, "shared_identifier"]),
            }
            for t, v in pool
            if rng.random() < 0.8
        ]
        table = pa.Table.from_pylist(resolved, IDENTITY_MAP_SCHEMA)
        nodes = SortedKeys(table.column("node").to_numpy())
        expected = assign(events, candidates(occurrences_of(events, PRIORITY), table, nodes))
        assert assign_in_place(events, PRIORITY, table, nodes) == expected


def test_linked_pairs_are_a_clique_per_event_and_a_star_beyond_max_clique() -> None:
    sizes = [1, 2, 3, MAX_CLIQUE, MAX_CLIQUE + 3, 2, 1]
    parent = np.repeat(np.arange(len(sizes)), sizes)
    expected = []
    start = 0
    for k in sizes:  # the per-event definition, written out
        ends = range(start, start + k)
        if k <= MAX_CLIQUE:
            expected += [(a, b) for a in ends for b in ends if a < b]
        else:
            expected += [(start, b) for b in ends if b > start]
        start += k
    a, b = linked_pairs(parent)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == sorted(expected)
    assert [len(x) for x in linked_pairs(np.zeros(0, np.int64))] == [0, 0]


def test_a_chain_across_streams_is_one_customer_named_by_its_earliest_identifier() -> None:
    rows = [
        event("e1", {"anonymous_id": "a1"}, minutes=0),
        event("e2", {"anonymous_id": "a1", "email": "jo@x.co"}, minutes=10),
        event(
            "e3",
            {"email": "jo@x.co", "lead_id": "L1"},
            minutes=20,
            stream="sales",
            event_type="lead_created",
        ),
        event(
            "e4",
            {"lead_id": "L1", "contact_id": "C1"},
            minutes=30,
            stream="sales",
            event_type="sal_accepted",
        ),
        event("e5", {"anonymous_id": "a2"}, minutes=40),
    ]
    jo = customer_id_for("anonymous_id", "a1")
    other = customer_id_for("anonymous_id", "a2")
    resolve(
        rows,
        equal_to([("e1", jo), ("e2", jo), ("e3", jo), ("e4", jo), ("e5", other)]),
        equal_to(
            [
                ("anonymous_id", "a1", jo),
                ("email", "jo@x.co", jo),
                ("lead_id", "L1", jo),
                ("contact_id", "C1", jo),
                ("anonymous_id", "a2", other),
            ]
        ),
    )


def test_a_star_and_a_cycle_resolve_to_one_customer_each() -> None:
    star = [
        event(f"s{i}", {"user_id": "U", "anonymous_id": f"dev{i}"}, minutes=i) for i in range(20)
    ]
    cycle = [
        event("c1", {"email": "a@c.co", "phone": "p1"}, minutes=100),
        event("c2", {"phone": "p1", "lead_id": "L9"}, minutes=101),
        event("c3", {"lead_id": "L9", "email": "a@c.co"}, minutes=102),
    ]
    resolve(star + cycle, customers_of({"s": 1, "c": 1}))


def test_a_100_hop_chain_is_one_customer() -> None:
    rows = [
        event(
            f"e{i}",
            {"anonymous_id": f"a{i}", "lead_id": f"l{i + 1}"}
            if i % 2 == 0
            else {"lead_id": f"l{i}", "anonymous_id": f"a{i + 1}"},
            minutes=i,
        )
        for i in range(100)
    ]

    def one_customer_101_identifiers(rows: list) -> None:
        assert len(rows) == 101 and len({c for _, _, c in rows}) == 1

    # Connected components alone: the guards would rightly refuse 50 lead ids in one person.
    unguarded = replace(default_config().identity, shared_guard=False, limits={})
    resolve(rows, customers_of({"e": 1}), one_customer_101_identifiers, unguarded)


def test_colleagues_sharing_an_account_are_never_merged() -> None:
    rows = [
        event("e1", {"email": "ann@acme.co"}, account_id="acme"),
        event("e2", {"email": "bob@acme.co"}, account_id="acme"),
    ]
    resolve(rows, lambda pairs: _distinct_customers(pairs, 2))


def test_the_earliest_received_identifier_names_the_customer_whatever_the_order() -> None:
    rows = [
        event("late", {"email": "x@y.co", "lead_id": "L"}, minutes=0, received_minutes=500),
        event("early", {"lead_id": "L"}, minutes=50, received_minutes=60),
    ]
    lead = customer_id_for("lead_id", "L")
    resolve(rows, equal_to([("late", lead), ("early", lead)]))


def _distinct_customers(pairs: list[tuple[str, str]], n: int) -> None:
    assert len({c for _, c in pairs}) == n, pairs


def test_a_shared_support_inbox_is_refused_and_each_person_keeps_their_events() -> None:
    rows = []
    for i, who in enumerate(("ann", "bob", "cy")):
        rows += [
            event(
                f"{who[0]}1", {"anonymous_id": f"{who}-dev", "email": f"{who}@acme.co"}, minutes=i
            ),
            event(f"{who[0]}2", {"email": f"{who}@acme.co", "lead_id": f"{who}-L"}, minutes=10 + i),
            event(
                f"{who[0]}3",
                {"anonymous_id": f"{who}-dev", "email": "support@acme.co"},
                minutes=20 + i,
            ),
        ]
    resolve(rows, customers_of({"a": 1, "b": 1, "c": 1}))


def test_a_user_id_limit_keeps_two_users_apart() -> None:
    rows = [
        event("x1", {"email": "a@b.co", "user_id": "U1"}, minutes=0),
        event("x2", {"email": "c@d.co", "user_id": "U1"}, minutes=1),
        event("y1", {"email": "a@b.co", "user_id": "U2"}, minutes=2),
        event("y2", {"email": "c@d.co", "user_id": "U2"}, minutes=3),
    ]
    u1 = customer_id_for("email", "a@b.co")
    u2 = customer_id_for("user_id", "U2")
    resolve(rows, equal_to([("x1", u1), ("x2", u1), ("y1", u2), ("y2", u2)]))
