"""Identity resolution end to end in Beam: hand-built graphs, stable ids, never by account."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
import pyarrow as pa
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.beam_helpers import event, events_table, local_pipeline
from transforms.identifiers import customer_id_for
from transforms.identity import ResolveIdentities, graph_of


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


def resolve(rows: list[dict], check_events, check_identity=None) -> None:
    """Run ResolveIdentities on the rows and check its outputs with plain functions."""
    with local_pipeline() as p:
        out = p | beam.Create([events_table(rows)]) | ResolveIdentities(shards=4, max_rounds=10)
        assert_that(
            out["events"] | "Assignments" >> beam.FlatMap(lambda t: assignments([t])),
            check_events,
            label="Events",
        )
        if check_identity is not None:
            assert_that(
                out["identity"] | "Rows" >> beam.FlatMap(identity_rows),
                check_identity,
                label="Identity",
            )
        assert_that(out["unconverged"], equal_to([]), label="Converged")
        assert_that(out["unassigned"], equal_to([]), label="AllAssigned")


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


def test_graph_of_links_every_identifier_of_an_event_to_its_first() -> None:
    keyed, nodes, edges = graph_of(
        events_table([event("e", {"email": "a@b.co", "lead_id": "L", "user_id": "U"})])
    )
    assert keyed.column("primary_node").to_pylist() == [nodes.column("node")[0].as_py()]
    assert edges.num_rows == 2
    assert set(edges.column("u").to_pylist()) == {nodes.column("node")[0].as_py()}


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

    resolve(rows, customers_of({"e": 1}), one_customer_101_identifiers)


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
