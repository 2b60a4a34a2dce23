"""The columnar contract accepts exactly what RowContract accepts, with the same values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyline.config import SourceConfig, default_config
from journeyline.schema import EVENT_SCHEMA
from transforms.batches import BatchBuilder
from transforms.contract import Accepted, RowContract
from transforms.fast_contract import FastCanonical

RECEIVED = datetime(2025, 6, 1, 12, tzinfo=UTC)


def contract(stream: str | None = "marketing") -> RowContract:
    return RowContract(default_config(), SourceConfig("web", "canonical", "/x", stream=stream))


def by_row_contract(c: RowContract, records: list[Any]) -> tuple[dict[int, dict], int]:
    """The per-row contract's accepted rows (by position) and dropped identifiers."""
    accepted, dropped = {}, 0
    for i, obj in enumerate(records):
        outcome = c.check(obj, RECEIVED)
        if isinstance(outcome, Accepted):
            accepted[i] = outcome.row | {"input_source": c.source.name, "record_hash": 0}
            dropped += outcome.identifiers_dropped
    return accepted, dropped


def as_rows(rows: list[dict]) -> list[dict]:
    builder = BatchBuilder(EVENT_SCHEMA, 10**9)
    for row in rows:
        builder.append(row)
    table = builder.flush()
    return table.to_pylist() if table is not None else []


def assert_same(records: list[Any], c: RowContract | None = None) -> None:
    c = c or contract()
    expected, expected_dropped = by_row_contract(c, records)
    fast = FastCanonical(c).accept(records, RECEIVED)
    assert sorted(fast.accepted + fast.fallback) == list(range(len(records)))
    assert set(fast.accepted) <= set(expected), (
        "the fast path accepted a record the contract rejects"
    )
    slow_part = {i: row for i, row in expected.items() if i in set(fast.fallback)}
    fast_rows = fast.table.to_pylist() if fast.table is not None else []
    assert fast_rows == as_rows([expected[i] for i in fast.accepted])
    assert set(fast.accepted) | set(slow_part) == set(expected)
    slow_dropped = sum(
        outcome.identifiers_dropped
        for i in fast.fallback
        if isinstance(outcome := c.check(records[i], RECEIVED), Accepted)
    )
    assert fast.identifiers_dropped + slow_dropped == expected_dropped


def test_generated_landing_lines_take_the_fast_path_with_identical_rows(tmp_path: Path) -> None:
    from journeyline.generate import generate

    generate(tmp_path / "landing", people=60, seed=4)
    for stream in ("marketing", "sales", "service"):
        records = []
        for path in sorted((tmp_path / "landing" / stream).glob("*.jsonl")):
            for line in path.read_bytes().splitlines():
                try:
                    records.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    continue
        c = contract(stream)
        assert_same(records, c)
        fast = FastCanonical(c).accept(records, RECEIVED)
        assert len(fast.accepted) > 0.97 * len(records)  # the common case is columnar


TIMES = st.one_of(
    st.sampled_from(
        [
            "2025-03-04T10:11:12Z",
            "2025-03-04T10:11:12.5Z",
            "2025-03-04T10:11:12.123456+02:00",
            "2025-02-30T10:00:00Z",
            "2025-03-04T24:00:00Z",
            "2025-03-04T23:59:60Z",
            "2025-03-04T10:00:00+25:00",
            "2025-03-04 10:11:12",
            "2025-03-04",
            " 2025-03-04T10:11:12Z",
            "yesterday",
            "",
            "2030-01-01T00:00:00Z",
            "1990-01-01T00:00:00Z",
            "2025-06-02T11:00:00Z",
        ]
    ),
    st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2026, 1, 1)).map(
        lambda d: d.isoformat(timespec="microseconds") + "Z"
    ),
    st.integers(),
    st.none(),
)
TEXT = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=8),
    st.sampled_from([" x", "x ", "\x1fx", "lead"]),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(min_size=1100, max_size=1100),
)
IDS = st.dictionaries(
    st.sampled_from(["email", "phone", "user_id", "anonymous_id", "lead_id", "favourite", "x"]),
    st.one_of(
        st.sampled_from(
            [
                "a@b.co",
                " A@B.CO ",
                "test@example.com",
                "0",
                "000",
                "null",
                "+1 415-555-2671",
                "4155552671",
                "not-a-phone",
                "u-1",
                "",
                " ",
            ]
        ),
        st.integers(),
        st.booleans(),
        st.none(),
        st.dictionaries(st.text(max_size=2), st.integers()),
    ),
    max_size=4,
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "event_id": TEXT,
        "source": TEXT,
        "stream": st.one_of(st.sampled_from(["marketing", "sales", "service", "finance"]), TEXT),
        "event_type": st.one_of(
            st.sampled_from(["page_viewed", "deal_won", "survey_answered", "form_submitted"]), TEXT
        ),
        "occurred_at": TIMES,
        "received_at": TIMES,
        "identifiers": st.one_of(IDS, st.just("u-1"), st.none()),
        "account_id": TEXT,
        "channel": TEXT,
        "amount": st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(),
            st.sampled_from(["12.345", "1e20", "abc", ""]),
            st.booleans(),
        ),
        "score": st.one_of(st.none(), st.floats(allow_nan=True), st.integers(0, 12), st.just("7")),
        "survey_type": st.one_of(st.sampled_from(["nps", "NPS", "csat", "ces", "xyz"]), TEXT),
        "properties": st.one_of(
            st.none(),
            st.dictionaries(
                st.one_of(st.text(max_size=3), st.sampled_from(["phone", "Tel", "note"])),
                st.one_of(
                    st.integers(),
                    st.sampled_from(["ann@acme.example", "+49 30 1234567", "hôtel", "x"]),
                ),
            ),
            st.integers(),
        ),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(RECORDS, st.integers(), st.lists(st.integers(), max_size=2)), max_size=25)
)
def test_random_records_give_the_same_result_both_ways(records: list[Any]) -> None:
    assert_same(records)


@pytest.mark.parametrize("stream", [None, "sales"])
def test_a_source_without_a_stream_needs_one_in_the_record(stream: str | None) -> None:
    record = {
        "event_id": "e1",
        "event_type": "deal_won",
        "occurred_at": "2025-05-01T10:00:00Z",
        "identifiers": {"contact_id": "C1"},
    }
    assert_same([record, {**record, "stream": "sales"}], contract(stream))


def test_an_impossible_day_falls_back_without_failing_the_batch() -> None:
    good = {
        "event_id": "a",
        "event_type": "page_viewed",
        "occurred_at": "2025-03-04T10:11:12Z",
        "identifiers": {"anonymous_id": "dev-1"},
    }
    bad = {**good, "event_id": "b", "occurred_at": "2025-02-30T10:00:00Z"}
    fast = FastCanonical(contract()).accept([good, bad], RECEIVED)
    assert (fast.accepted, fast.fallback) == ([0], [1])
    assert isinstance(fast.table, pa.Table) and fast.table.num_rows == 1


def test_a_batch_whose_every_time_is_odd_falls_back_whole() -> None:
    """No empty table comes out (it has no newest event to count): all rows take the row path."""
    record = {
        "event_id": "a",
        "event_type": "page_viewed",
        "occurred_at": "2099-03-04T10:11:12Z",  # far after it was received
        "identifiers": {"anonymous_id": "dev-1"},
    }
    fast = FastCanonical(contract()).accept([record, {**record, "event_id": "b"}], RECEIVED)
    assert (fast.table, fast.accepted, fast.fallback) == (None, [], [0, 1])
    assert_same([record], contract())


def test_arrow_trims_exactly_the_characters_python_strips() -> None:
    import pyarrow.compute as pc

    codes = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    python = {c for c in codes if chr(c).isspace()}
    trimmed = pc.utf8_trim_whitespace(pa.array([chr(c) + "x" for c in codes])).to_pylist()
    arrow = {c for c, t in zip(codes, trimmed, strict=True) if t == "x"}
    assert arrow == python


def test_properties_are_redacted_as_the_row_contract_redacts_them() -> None:
    base = {
        "event_type": "page_viewed",
        "occurred_at": "2025-03-04T10:11:12Z",
        "identifiers": {"anonymous_id": "a1"},
    }
    properties = [
        {"note": "write to Ann@Acme.example"},
        {"Phone": "030 1234567", "page": "/x"},
        {"hint": "call +49 30 1234567"},
        {"page_url": "https://example.com/pricing"},
        {"hôtel": "Zürich"},
        {},
    ]
    records = [{**base, "event_id": f"e{i}", "properties": p} for i, p in enumerate(properties)]
    fast = FastCanonical(contract()).accept(records, RECEIVED)
    assert fast.accepted == list(range(len(records)))  # all columnar, none fell back
    assert_same(records)
    texts = fast.table.column("properties").to_pylist()
    assert "Ann@Acme" not in texts[0] and texts[1] == '{"Phone":"[phone]","page":"/x"}'
    assert texts[3] == '{"page_url":"https://example.com/pricing"}' and texts[5] is None


def test_one_record_of_the_wrong_type_falls_back_alone() -> None:
    """Arrow converts a chunk of records at once; a record it cannot convert (a number
    where text belongs) is found by halving the chunk, and only it takes the row path."""
    base = {
        "event_type": "page_viewed",
        "occurred_at": "2025-03-04T10:11:12Z",
        "identifiers": {"anonymous_id": "a1"},
    }
    records: list[Any] = [{**base, "event_id": f"e{i}"} for i in range(5000)]
    records[1234] = {**base, "event_id": 1234}
    records[4321] = {**base, "event_id": "e4321", "channel": ["web"]}
    fast = FastCanonical(contract()).accept(records, RECEIVED)
    assert fast.fallback == [1234, 4321]
    assert_same(records[1230:1240] + records[4320:4325])


def test_identifiers_are_normalised_per_value_as_the_row_contract_does() -> None:
    base = {"event_type": "page_viewed", "occurred_at": "2025-03-04T10:11:12Z"}
    identifiers: list[Any] = [
        {"user_id": 42, "email": " Ann@Acme.example "},  # a number is read as its digits
        {"user_id": "42", "favourite": "x"},  # an unknown type is dropped and counted
        {"email": "ann@acme.example", "anonymous_id": True},
        {"phone": "+1 415-555-2671", "anonymous_id": "  "},
        [["email", "ann@acme.example"]],  # pairs are not an object: the row path says so
        {"anonymous_id": None, "email": "null"},
    ]
    records = [
        {**base, "event_id": f"e{i}", "identifiers": ids} for i, ids in enumerate(identifiers)
    ]
    fast = FastCanonical(contract()).accept(records, RECEIVED)
    assert fast.accepted == [0, 1, 2, 3]
    first = fast.table.column("identifiers").to_pylist()[0]
    assert [k for k, _ in first] == ["email", "user_id"] and first[1] == ("user_id", "42")
    assert_same(records)


def test_a_forgotten_persons_events_fall_back_to_be_rejected_with_the_reason() -> None:
    """With suppressions, a record holding a forgotten identifier is not accepted in bulk:
    the row path rejects it as suppressed, and the person's other identifiers do not help."""
    config = default_config()
    hasher = RowContract(config, SourceConfig("web", "canonical", "/x")).hasher
    assert hasher is not None  # e-mails are hashed by default
    forgotten = hasher.value("email", "gone@acme.example")
    config = config.with_suppressions(frozenset({hasher.suppression("email", forgotten)}))
    c = RowContract(config, SourceConfig("web", "canonical", "/x", stream="marketing"))
    base = {"event_type": "page_viewed", "occurred_at": "2025-03-04T10:11:12Z"}
    records = [
        {**base, "event_id": "e0", "identifiers": {"email": " Gone@Acme.example"}},
        {**base, "event_id": "e1", "identifiers": {"email": "kept@acme.example"}},
        {
            **base,
            "event_id": "e2",
            "identifiers": {"anonymous_id": "d", "email": "gone@acme.example"},
        },
    ]
    fast = FastCanonical(c).accept(records, RECEIVED)
    assert (fast.accepted, fast.fallback) == ([1], [0, 2])
    assert c.check(records[2], RECEIVED).code == "suppressed"
    assert_same(records, c)


def test_a_reader_normalises_each_identifier_once_and_its_memo_may_start_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Identifiers met in an earlier batch are looked up, not normalised again; a memo that
    grows past its cap starts over; the rows are those of a fresh reader either way."""
    base = {"event_type": "page_viewed", "occurred_at": "2025-03-04T10:11:12Z"}
    ids: list[dict[str, Any]] = [
        {"email": " Ann@Acme.example ", "user_id": 7},
        {"email": "not an address", "anonymous_id": "dev-1"},
        {"phone": "+1 415-555-2671", "anonymous_id": "  "},
        {"email": "null", "user_id": "u-2"},
    ]
    batch = [{**base, "event_id": f"e{i}", "identifiers": x} for i, x in enumerate(ids)]
    reader = FastCanonical(contract())
    calls: list[tuple[str, str]] = []
    kept_value = reader.rules.kept_value
    monkeypatch.setattr(
        reader.rules, "kept_value", lambda t, v: calls.append((t, v)) or kept_value(t, v)
    )

    def rows(result: Any) -> list[dict]:
        return result.table.to_pylist()

    first = reader.accept(batch, RECEIVED)
    assert len(calls) == 8  # each (type, text) once
    assert rows(reader.accept(batch, RECEIVED)) == rows(first)
    assert len(calls) == 8  # all met before
    assert rows(first) == rows(FastCanonical(contract()).accept(batch, RECEIVED))
    assert_same(batch)

    monkeypatch.setattr("transforms.fast_contract._ID_CACHE", 3)
    calls.clear()
    again = reader.accept(batch, RECEIVED)
    assert rows(again) == rows(first)
    assert len(calls) == 8 and reader._seen_count <= 3  # started over for each type
