"""Identity guards on hand-built graphs: shared identifiers, per-type limits, the size cap."""

from __future__ import annotations

from collections import Counter

from transforms.guards import (
    SHARED,
    SIZE,
    GuardRules,
    limit_rule,
    needs_guarding,
    resolve_component,
)

RULES = GuardRules(
    limits={"user_id": 1, "email": 5, "phone": 5, "anonymous_id": 200},
    max_component_size=500,
    person_types=frozenset({"user_id", "lead_id", "contact_id"}),
)


class Graph:
    """Named nodes 'type:value' and edges in evidence order."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.edges: list[tuple[int, int]] = []

    def node(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def link(self, *names: str) -> Graph:
        ids = [self.node(n) for n in names]
        self.edges += [(ids[0], i) for i in ids[1:]]
        return self

    def resolve(self, rules: GuardRules = RULES) -> tuple[list[set[str]], dict[str, str], list]:
        types = [n.split(":")[0] for n in self.names]
        result = resolve_component(types, list(range(len(types))), self.edges, rules)
        groups: dict[int, set[str]] = {}
        for i, g in enumerate(result.groups):
            if i not in result.refused_nodes:
                groups.setdefault(g, set()).add(self.names[i])
        refused = {self.names[i]: rule for i, rule in result.refused_nodes.items()}
        edges = [(self.names[a], self.names[b], r) for a, b, r in result.refused_edges]
        return sorted(groups.values(), key=sorted), refused, edges


def person(g: Graph, p: str, inbox: str | None = None) -> Graph:
    """One person's usual identifiers: device, work e-mail, lead, contact; maybe a shared inbox."""
    g.link(f"anonymous_id:{p}-dev", f"email:{p}@acme.co")
    g.link(f"email:{p}@acme.co", f"lead_id:{p}-L")
    g.link(f"lead_id:{p}-L", f"contact_id:{p}-C", f"email:{p}@acme.co")
    if inbox:
        g.link(f"anonymous_id:{p}-dev", inbox)
    return g


def test_chain_star_and_cycle_stay_whole() -> None:
    chain = (
        Graph()
        .link("anonymous_id:a", "email:x@y.co")
        .link("email:x@y.co", "lead_id:L")
        .link("lead_id:L", "contact_id:C")
    )
    star = Graph()
    for i in range(30):
        star.link("user_id:U", f"anonymous_id:d{i}")
    cycle = (
        Graph()
        .link("email:a@b.co", "phone:+1")
        .link("phone:+1", "lead_id:L")
        .link("lead_id:L", "email:a@b.co")
    )
    for g, n in ((chain, 4), (star, 31), (cycle, 3)):
        groups, refused, edges = g.resolve()
        assert len(groups) == 1 and len(groups[0]) == n
        assert refused == {} and edges == []


def test_a_100_hop_chain_stays_one_customer() -> None:
    g = Graph()
    for i in range(100):
        g.link(f"anonymous_id:d{i}", f"anonymous_id:d{i + 1}")
    groups, refused, _ = g.resolve()
    assert len(groups) == 1 and len(groups[0]) == 101 and not refused


def test_a_support_inbox_used_by_many_people_is_refused_not_merged() -> None:
    g = Graph()
    for p in ("ann", "bob", "cy", "dee", "eve", "fay"):
        person(g, p, inbox="email:support@acme.co")
    groups, refused, _ = g.resolve()
    assert refused == {"email:support@acme.co": SHARED}
    assert len(groups) == 6
    assert all(
        len({n.split(":")[1].split("-")[0].split("@")[0] for n in grp}) == 1 for grp in groups
    )


def test_an_inbox_shared_by_two_is_still_refused_but_a_persons_two_emails_are_kept() -> None:
    g = Graph()
    person(g, "ann", inbox="email:team@acme.co")
    person(g, "bob", inbox="email:team@acme.co")
    g.link("anonymous_id:ann-dev", "email:ann@gmail.com")  # a personal address on her own device
    groups, refused, _ = g.resolve()
    assert refused == {"email:team@acme.co": SHARED}
    ann = next(grp for grp in groups if "lead_id:ann-L" in grp)
    assert {"email:ann@acme.co", "email:ann@gmail.com"} <= ann


def test_a_switchboard_phone_between_two_contacts_is_refused() -> None:
    g = Graph()
    person(g, "ann")
    person(g, "bob")
    g.link("contact_id:ann-C", "phone:+14155550100")
    g.link("contact_id:bob-C", "phone:+14155550100")
    groups, refused, _ = g.resolve()
    assert refused == {"phone:+14155550100": SHARED}
    assert len(groups) == 2


def test_a_user_id_limit_conflict_refuses_the_later_edge() -> None:
    # A 4-cycle has no cut vertex, so only the limit can stop U1 and U2 merging.
    g = Graph().link("email:a@b.co", "user_id:U1").link("email:c@d.co", "user_id:U1")
    g.link("email:a@b.co", "user_id:U2").link("email:c@d.co", "user_id:U2")
    groups, refused, edges = g.resolve()
    assert not refused
    assert edges == [
        ("email:a@b.co", "user_id:U2", limit_rule("user_id")),
        ("email:c@d.co", "user_id:U2", limit_rule("user_id")),
    ]
    assert groups == [{"email:a@b.co", "email:c@d.co", "user_id:U1"}, {"user_id:U2"}]


def test_the_size_cap_refuses_merges_beyond_it() -> None:
    g = Graph()
    for i in range(9):
        g.link(f"anonymous_id:d{i}", f"anonymous_id:d{i + 1}")
    rules = GuardRules(
        limits={}, max_component_size=4, person_types=frozenset(), shared_guard=False
    )
    groups, _, edges = g.resolve(rules)
    assert all(len(grp) <= 4 for grp in groups)
    assert {r for _, _, r in edges} == {SIZE}
    assert sum(len(grp) for grp in groups) == 10


def test_only_components_that_could_break_a_guard_are_analysed() -> None:
    assert not needs_guarding(Counter({"anonymous_id": 1, "email": 1}), 2, RULES)
    assert not needs_guarding(Counter({"anonymous_id": 2, "email": 1, "lead_id": 1}), 4, RULES)
    assert needs_guarding(Counter({"lead_id": 2, "email": 1}), 3, RULES)
    assert needs_guarding(Counter({"email": 3}), 3, RULES)
    assert not needs_guarding(Counter({"anonymous_id": 3}), 3, RULES)
    assert needs_guarding(Counter({"user_id": 2}), 2, RULES)
    assert needs_guarding(Counter({"anonymous_id": 600}), 600, RULES)
