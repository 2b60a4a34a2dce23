"""Keyed hashing after normalisation, key handling, redaction and suppression."""

from __future__ import annotations

import pickle
import time
from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeyline.config import SourceConfig, default_config
from journeyline.config.model import PrivacyConfig
from journeyline.errors import InputError
from journeyline.privacy import (
    _EMAIL_TEXT,
    _PHONE_KEY,
    _PHONE_TEXT,
    SUPPRESSED_RAW,
    IdentifierHasher,
    _may_name_a_phone,
    email_spans,
    hash_key,
    hasher_for,
    key_fingerprint,
    redact_quarantine,
)
from journeyline.schema import QUARANTINE_SCHEMA
from tests.conftest import TEST_HASH_KEY
from transforms.contract import Accepted, Rejection, RowContract

RECEIVED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SOURCE = SourceConfig(name="crm", format="canonical", location="/x", stream="sales")


def record(**identifiers: str) -> dict:
    return {
        "event_id": "e1",
        "stream": "sales",
        "event_type": "deal_won",
        "occurred_at": "2025-05-01T10:00:00Z",
        "identifiers": identifiers,
        "properties": {"note": "call Ann at +49 30 1234567 or ann@acme.example"},
    }


def accepted(config, **identifiers: str) -> dict:
    outcome = RowContract(config, SOURCE).check(record(**identifiers), RECEIVED)
    assert isinstance(outcome, Accepted), outcome
    return outcome.row


def test_email_and_phone_are_hashed_after_normalisation_so_they_still_match() -> None:
    config = default_config()
    one = dict(
        accepted(config, email=" Ann@ACME.example ", phone="+1 (415) 555-0134")["identifiers"]
    )
    two = dict(accepted(config, email="ann@acme.example", phone="+14155550134")["identifiers"])
    assert one == two
    assert one["email"].startswith("hmac:") and "acme" not in one["email"]
    assert one["phone"].startswith("hmac:") and one["phone"] != one["email"]


def test_other_types_stay_clear_and_hashing_can_be_turned_off_or_narrowed() -> None:
    row = accepted(default_config(), email="ann@acme.example", user_id="U1")
    assert dict(row["identifiers"])["user_id"] == "U1"
    assert "ann@acme.example" not in row["properties"] and "1234567" not in row["properties"]
    off = replace(default_config(), privacy=PrivacyConfig(enabled=False))
    assert dict(accepted(off, email="ann@acme.example")["identifiers"])["email"] == (
        "ann@acme.example"
    )
    phone_only = replace(default_config(), privacy=PrivacyConfig(hash_identifiers=("phone",)))
    assert dict(accepted(phone_only, email="ann@acme.example")["identifiers"])["email"] == (
        "ann@acme.example"
    )


def test_a_different_key_gives_different_hashes_and_a_different_fingerprint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    privacy = PrivacyConfig()
    first = IdentifierHasher(hash_key(privacy), privacy.hashed_types).value("email", "a@b.co")
    fingerprint = key_fingerprint(privacy)
    monkeypatch.setenv(privacy.key_env, "another-key-of-enough-length")
    second = IdentifierHasher(hash_key(privacy), privacy.hashed_types).value("email", "a@b.co")
    assert first != second and key_fingerprint(privacy) != fingerprint
    assert TEST_HASH_KEY not in fingerprint


def test_a_missing_or_short_key_is_an_input_error_that_never_shows_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JOURNEYLINE_HASH_KEY")
    with pytest.raises(InputError, match="JOURNEYLINE_HASH_KEY is not set") as missing:
        hash_key(PrivacyConfig())
    assert missing.value.exit_code == 2
    monkeypatch.setenv("JOURNEYLINE_HASH_KEY", "short-secret")
    with pytest.raises(InputError, match="shorter than") as short:
        hash_key(PrivacyConfig())
    assert "short-secret" not in str(short.value)
    assert hasher_for(PrivacyConfig(enabled=False)) is None


def test_the_hasher_never_shows_or_pickles_its_key() -> None:
    hasher = hasher_for(PrivacyConfig())
    assert hasher is not None
    assert TEST_HASH_KEY not in repr(hasher)
    with pytest.raises(TypeError):
        pickle.dumps(hasher)


def test_quarantined_text_is_redacted_and_a_suppressed_persons_blanked() -> None:
    rows = [
        {
            "run_id": "r",
            "source": "crm",
            "reason_code": code,
            "reason": "no usable identifier in {'email': 'Bob@x.example'}",
            "raw": raw,
            "received_at": RECEIVED,
            "location": f"/in/f.jsonl:{i}",
        }
        for i, (code, raw) in enumerate(
            [
                ("no_valid_identifier", '{"email": "Bob@x.example", "mobile": "0171 555"}'),
                ("malformed_json", "{broken bob@x.example +44 20 7946 0958"),
                ("suppressed", '{"email": "gone@x.example"}'),
            ]
        )
    ]
    table = pa.Table.from_pylist(rows, QUARANTINE_SCHEMA)
    out = redact_quarantine(table, hasher_for(PrivacyConfig()))
    text = " ".join(out["raw"].to_pylist() + out["reason"].to_pylist()).lower()
    for secret in ("bob@x.example", "0171 555", "7946", "gone@x.example"):
        assert secret not in text
    assert out["raw"].to_pylist()[2] == SUPPRESSED_RAW
    assert out["reason_code"].to_pylist() == [r["reason_code"] for r in rows]


def test_a_suppressed_identifier_is_rejected_as_suppressed() -> None:
    config = default_config()
    hasher = hasher_for(config.privacy)
    assert hasher is not None
    stored = hasher.value("email", "ann@acme.example")
    forgotten = config.with_suppressions(frozenset({hasher.suppression("email", stored)}))
    outcome = RowContract(forgotten, SOURCE).check(
        record(email="ANN@acme.example", user_id="U7"), RECEIVED
    )
    assert isinstance(outcome, Rejection) and outcome.code == "suppressed"
    assert "ann" not in outcome.reason.lower()
    assert isinstance(
        RowContract(forgotten, SOURCE).check(record(email="bob@acme.example"), RECEIVED), Accepted
    )


_KEYS = st.sampled_from(["note", "Phone", "mobile_no", "owner", "page_url", "e", "tel", "x"])
_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["ann@acme.example", " Bo@X.org ", "+49 30 1234567", "+1 (555) 010-9999", "a+b@c.io"]
    ),
)
_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(), _TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=5))
def test_redacting_own_json_equals_the_full_redaction(properties: dict) -> None:
    """The contract's fast path gives exactly what the general redaction gives."""
    hasher = IdentifierHasher(TEST_HASH_KEY.encode(), ["email", "phone"])
    text = orjson.dumps(properties, option=orjson.OPT_SORT_KEYS).decode()
    assert hasher.redact_own_json(text) == hasher.redact(text)


_WORDY = st.one_of(
    _TEXT,
    st.sampled_from(["Telephone", "FAX", "hôtel", "ＴＥＬ", "mobİle", "k\u212a", "plain"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.dictionaries(_KEYS, _JSON, max_size=4), _WORDY)))
def test_redacting_a_column_equals_redacting_each_text(items: list) -> None:
    """The column form changes exactly the texts the one-at-a-time form changes."""
    hasher = IdentifierHasher(TEST_HASH_KEY.encode(), ["email", "phone"])
    texts = [
        None if item is None else orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode()
        for item in items
    ]
    column = hasher.redact_own_json_column(pa.array(texts, pa.string()))
    assert column.to_pylist() == [None if t is None else hasher.redact_own_json(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=8), st.sampled_from(["TeL", "FAX", "Mobile", "pHoNe", "İ"])),
        max_size=5,
    ).map("".join)
)
def test_the_phone_key_precheck_agrees_with_the_pattern(text: str) -> None:
    assert _may_name_a_phone(text) == (_PHONE_KEY.search(text) is not None)


# Text made of what decides an e-mail match: address characters (letters, digits, dots),
# "@", separators, and whole addresses and domains.
_MAILISH = st.lists(
    st.one_of(
        st.text(alphabet='ab1.@ -_"<é\n+', max_size=6),
        st.sampled_from(["ann@acme.example", "x.io", ".co", "@", "Bo@X.ORG", "a@b.c", "é@d.fr"]),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_MAILISH)
def test_email_spans_are_the_matches_of_the_email_pattern(text: str) -> None:
    """The linear scan finds exactly the spans the defining regex finds."""
    assert email_spans(text) == [m.span() for m in _EMAIL_TEXT.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(_MAILISH)
def test_redacting_text_hashes_what_the_email_pattern_matches(text: str) -> None:
    """Free text (not JSON) is redacted as the two patterns substituted in turn."""
    hasher = IdentifierHasher(TEST_HASH_KEY.encode(), ["email", "phone"])
    text = "note: " + text
    by_pattern = _EMAIL_TEXT.sub(lambda m: hasher.value("email", m[0].strip().lower()), text)
    assert hasher.redact(text) == _PHONE_TEXT.sub("[phone]", by_pattern)


def test_an_address_right_after_another_is_hashed_too() -> None:
    """A match resumes where the last one ended, even inside a run of address characters."""
    assert email_spans("a@b.cc1@d.ee") == [(0, 6), (6, 12)]
    hasher = IdentifierHasher(TEST_HASH_KEY.encode(), ["email"])
    assert hasher.redact("a@b.cc1@d.ee") == hasher.value("email", "a@b.cc") + hasher.value(
        "email", "1@d.ee"
    )


def test_a_garbage_line_of_the_largest_size_is_redacted_without_stalling() -> None:
    """A 64 KB run of address characters with no address in it: the regex alone scanned the
    rest of the run from every start (about 20 s on the bench machine); the scan reads it
    once. The bound is loose on purpose: it fails only if the square comes back."""
    hasher = IdentifierHasher(TEST_HASH_KEY.encode(), ["email", "phone"])
    run = "a" * 65_536
    for garbage, expected in (
        (run, run),
        (run + "@b", run + "@b"),
        ("x@" + run + "@c.de", "x@" + hasher.value("email", run + "@c.de")),
    ):
        started = time.perf_counter()
        redacted = hasher.redact(garbage)
        assert time.perf_counter() - started < 2.0
        assert redacted == expected
    # The contract's path for every event's properties: a long blob beside an address.
    properties = orjson.dumps({"blob": run, "email": "Ann@acme.example"}).decode()
    started = time.perf_counter()
    redacted = hasher.redact_own_json(properties)
    assert time.perf_counter() - started < 2.0
    assert redacted == properties.replace(
        "Ann@acme.example", hasher.value("email", "ann@acme.example")
    )


def test_stored_identifiers_are_the_standard_hmac_of_type_and_value() -> None:
    """The stored form must never change between versions (identities would split)."""
    import hashlib
    import hmac

    for key in (TEST_HASH_KEY.encode(), b"another key"):
        hasher = IdentifierHasher(key, ["email"])
        for value in ("ann@acme.example", "bo@x.org"):
            expected = hmac.new(key, f"email\x1f{value}".encode(), hashlib.sha256).hexdigest()
            assert hasher.value("email", value) == "hmac:" + expected[:32]
            assert hasher.value("email", value) == "hmac:" + expected[:32]  # a copy again
