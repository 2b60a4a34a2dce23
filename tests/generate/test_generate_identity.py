"""Identity fragmentation: ``default`` is perfectly resolvable, ``messy`` is not but is exact.

The graph is rebuilt from the landing lines with an independent normaliser (phonenumbers
for E.164, the packaged blocked values), not with the generator's own helpers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from importlib import resources

import phonenumbers
import pytest

from journeyline.config import IdentityConfig, load_config
from journeyline.generate import GenerateSummary
from journeyline.generate.catalog import BLOCKED_EXTRAS, BLOCKED_ONLY
from journeyline.schema import IDENTIFIER_TYPES
from tests.generate.generate_helpers import truth, valid_events

Key = tuple[str, str]


@pytest.fixture(scope="module")
def identity() -> IdentityConfig:
    """The identity section of the packaged default configuration."""
    path = resources.files("journeyline").joinpath("defaults", "journeyline.yml")
    with resources.as_file(path) as file:
        return load_config(file).identity


def _normalise(id_type: str, value: str, identity: IdentityConfig) -> str | None:
    """The matching value, or None when the value is blocked."""
    value = value.strip()
    if id_type == "email":
        value = value.lower()
    elif id_type == "phone":
        number = phonenumbers.parse(value, "US")
        assert phonenumbers.is_valid_number(number), value
        value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    blocked = {v.strip().lower() for v in identity.blocked_values.get("*", ())}
    blocked |= {v.strip().lower() for v in identity.blocked_values.get(id_type, ())}
    patterns = [
        *identity.blocked_patterns.get("*", ()),
        *identity.blocked_patterns.get(id_type, ()),
    ]
    if value.lower() in blocked or any(re.search(p, value) for p in patterns):
        return None
    return value


class UnionFind:
    """Just enough union-find to count connected components."""

    def __init__(self) -> None:
        """An empty forest."""
        self.parent: dict[Key, Key] = {}

    def add(self, key: Key) -> None:
        """Add ``key`` as its own component if it is new."""
        self.parent.setdefault(key, key)

    def find(self, key: Key) -> Key:
        """The root of ``key`` (with path halving)."""
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: Key, b: Key) -> None:
        """Join the components of ``a`` and ``b``."""
        self.parent[self.find(a)] = self.find(b)

    def components(self) -> int:
        """The number of connected components."""
        return len({self.find(k) for k in self.parent})


def _graphs(run: GenerateSummary, identity: IdentityConfig) -> tuple[dict, dict]:
    """Per person, the identifier graph of their valid events; and who holds each value."""
    graphs: dict[str, UnionFind] = defaultdict(UnionFind)
    owners: dict[Key, set[str]] = defaultdict(set)
    for row, obj in valid_events(run.out):
        keys = []
        for id_type, raw in obj["identifiers"].items():
            assert id_type in IDENTIFIER_TYPES
            value = _normalise(id_type, raw, identity)
            if value is not None:
                keys.append((id_type, value))
        assert keys, f"valid event without a usable identifier: {obj}"
        graph = graphs[row["person_id"]]
        for key in keys:
            graph.add(key)
            owners[key].add(row["person_id"])
        for key in keys[1:]:
            graph.union(keys[0], key)
    return graphs, owners


def test_default_is_perfectly_resolvable(
    default_run: GenerateSummary, identity: IdentityConfig
) -> None:
    """Profile default: one connected graph per person, no value shared by two people."""
    graphs, owners = _graphs(default_run, identity)
    fragmented = {p: g.components() for p, g in graphs.items() if g.components() != 1}
    assert not fragmented
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared
    people = truth(default_run.out, "people")
    assert len(graphs) == len(people)
    assert all(p["identity_fragments"] == 1 and not p["shared_identifiers"] for p in people)
    # The identity shape is really fragmented: several identifier types per known person.
    assert max(len(g.parent) for g in graphs.values()) >= 5
    types = {t for g in graphs.values() for t, _ in g.parent}
    assert types == set(IDENTIFIER_TYPES)


def test_messy_is_fragmented_and_shared_but_the_truth_is_exact(
    messy_run: GenerateSummary, identity: IdentityConfig
) -> None:
    """Profile messy: fragments and shared values exist and the truth records them exactly."""
    graphs, owners = _graphs(messy_run, identity)
    people = {p["person_id"]: p for p in truth(messy_run.out, "people")}
    for person_id, graph in graphs.items():
        assert people[person_id]["identity_fragments"] == graph.components()
    assert any(g.components() > 1 for g in graphs.values())
    shared = {f"{t}:{v}" for (t, v), who in owners.items() if len(who) > 1}
    assert shared
    recorded = {s for p in people.values() for s in p["shared_identifiers"]}
    assert recorded == shared
    rows = truth(messy_run.out, "identifiers")
    assert {r["role"] for r in rows if r["shared_by"] > 1} <= {
        "shared_inbox",
        "switchboard",
        "shared_requester",
    }


def test_identifier_truth_matches_the_lines(
    any_run: GenerateSummary, identity: IdentityConfig
) -> None:
    """identifiers.parquet lists exactly the (identifier, person) pairs on the lines."""
    _, owners = _graphs(any_run, identity)
    rows = truth(any_run.out, "identifiers")
    assert {((r["identifier_type"], r["identifier_value"]), r["person_id"]) for r in rows} == {
        (key, person) for key, who in owners.items() for person in who
    }
    assert "unknown" not in {r["role"] for r in rows}


def test_every_phone_is_valid_and_written_in_several_formats(any_run: GenerateSummary) -> None:
    """Phones are valid US numbers written in several shapes."""
    phones = [
        obj["identifiers"]["phone"]
        for _, obj in valid_events(any_run.out)
        if "phone" in obj["identifiers"]
    ]
    assert phones
    for phone in phones:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, "US")), phone
    shapes = {re.sub(r"\d", "9", p) for p in phones}
    assert len(shapes) >= 4


def test_emails_vary_in_case_and_padding(default_run: GenerateSummary) -> None:
    """E-mail addresses need trimming and lower-casing before they match."""
    emails = [
        obj["identifiers"]["email"]
        for _, obj in valid_events(default_run.out)
        if "email" in obj["identifiers"]
    ]
    assert any(e != e.strip() for e in emails)
    assert any(e != e.lower() for e in emails)


def test_blocked_placeholders_are_blocked_by_the_defaults(
    default_run: GenerateSummary, identity: IdentityConfig
) -> None:
    """Placeholder values are blocked by the default config and ride on ~2% of events."""
    for id_type, value in BLOCKED_EXTRAS:
        assert _normalise(id_type, value, identity) is None, (id_type, value)
    for ids in BLOCKED_ONLY:
        assert all(_normalise(t, v, identity) is None for t, v in ids.items())
    rows = truth(default_run.out, "events")
    blocked = [r for r in rows if r["blocked_identifier_type"]]
    assert 0.01 < len(blocked) / len(rows) < 0.04
    for row in blocked:
        ids = dict(row["identifiers"])
        assert (
            _normalise(
                row["blocked_identifier_type"], ids[row["blocked_identifier_type"]], identity
            )
            is None
        )
