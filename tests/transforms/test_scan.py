"""The C scanner of canonical lines reads exactly what orjson reads, or leaves the line out.

``transforms/_linescan.c`` decides no rule of the contract: the lines it scans go through
the same columnar checks as the lines orjson parses. So the tests hold two things: every
value it returns is the value the orjson path builds, and a parse with the scanner gives
the same events, quarantine rows and counts as a parse without it.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import transforms.scan as scan_module
from journeyline.config import default_config
from tests.transforms.test_fast_contract import RECORDS
from transforms.contract import properties_bytes
from transforms.read import ParseSourceFile
from transforms.scan import TEXT_FIELDS, record_hashes, scan_lines

RECEIVED = datetime(2025, 6, 1, 12, tzinfo=UTC)
GOOD = {
    "event_id": "evt_1",
    "source": "web",
    "stream": "marketing",
    "event_type": "page_viewed",
    "occurred_at": "2025-03-04T10:11:12Z",
    "received_at": "2025-03-04T10:12:00Z",
    "identifiers": {"email": "Ann@Acme.example", "anonymous_id": "a-1"},
    "account_id": None,
    "channel": "web",
    "properties": {"page_url": "https://x.example/p", "n": 3},
}


def line(record: dict[str, Any] | None = None, **changes: Any) -> bytes:
    return orjson.dumps({**(GOOD if record is None else record), **changes})


@contextmanager
def without_scanner() -> Iterator[None]:
    """Every line on the orjson path, as where the extension could not be built."""
    built = scan_module._linescan
    scan_module._linescan = None
    try:
        yield
    finally:
        scan_module._linescan = built


def test_the_scanner_is_built() -> None:
    assert scan_module.AVAILABLE, (
        "transforms/_linescan.c was not built: `pip install -e .` builds it (needs gcc)"
    )


def test_a_clean_line_gives_the_values_orjson_reads() -> None:
    record = {
        **GOOD,
        "survey_type": "nps",
        "score": 9,
        "amount": 12.5,
        "currency": "EUR",
        "campaign_id": "",
        "properties": {
            "zeta": [1, {"b": True, "a": None}, []],
            "Alpha": {"y": "hôtel ✓ 😀", "x": -42, "": {}},
            "alpha": False,
            # code point (UTF-8 byte) order, as orjson sorts: not UTF-16's, where an
            # astral character would sort before U+E000
            "\U0001f600": 1,
            "\ue000": "\x7f",
        },
    }
    # Spaces around every token, as json.dumps and hand-written files have them.
    text = json.dumps(record, ensure_ascii=False, separators=(" , ", " : ")).encode() + b" \r"
    scanned = scan_lines([text], False, 10_000)
    assert scanned.index.tolist() == [0]
    for name in TEXT_FIELDS:
        assert scanned.text[name].to_pylist() == [record.get(name)], name
        scanned.text[name].validate(full=True)
    assert scanned.scores.tolist() == [9.0] and scanned.scored.tolist() == [True]
    assert scanned.amounts.to_pylist() == ["12.5"] and scanned.amount_is_text.tolist() == [False]
    assert scanned.id_rows.tolist() == [0, 0]
    assert scanned.id_types.to_pylist() == ["email", "anonymous_id"]
    assert scanned.id_values.to_pylist() == ["Ann@Acme.example", "a-1"]
    assert scanned.properties.to_pylist() == [properties_bytes(record["properties"])]


def test_rows_and_identifiers_line_up_across_a_batch() -> None:
    lines = [
        line(event_id="e0"),
        b"{broken",
        line(event_id="e2", identifiers={"user_id": "u2"}, properties={}, amount="7"),
        line(event_id="e3", properties=None, score=None),
    ]
    scanned = scan_lines(lines, False, 10_000)
    assert scanned.index.tolist() == [0, 2, 3]
    assert scanned.text["event_id"].to_pylist() == ["e0", "e2", "e3"]
    assert scanned.id_rows.tolist() == [0, 0, 1, 2, 2]
    assert scanned.id_values.to_pylist()[2] == "u2"
    assert scanned.amounts.to_pylist() == [None, "7", None]
    assert scanned.amount_is_text.tolist() == [False, True, False]
    assert scanned.properties.to_pylist()[1:] == [None, None]  # {} and null: no properties


NESTED = b"[" * 40 + b"]" * 40
LEFT_OUT = {
    "an escape in a string": line(channel="back\\slash"),
    "a unicode escape": line(channel="x").replace(b'"x"', b'"\\u0078"'),
    "a float in properties": line(properties={"p": 1.5}),
    "an exponent in properties": line(properties={"p": 1}).replace(b":1}", b":1e3}"),
    "minus zero": line(properties={"p": 0}).replace(b":0}", b":-0}"),
    "a leading zero": line(properties={"p": 1}).replace(b":1}", b":01}"),
    "a 19-digit integer": line(properties={"p": 10**18}),
    "a duplicate field": line().replace(b'"channel":"web"', b'"channel":"web","channel":"x"'),
    "a duplicate property": line(properties={"p": 1}).replace(b'{"p":1}', b'{"p":1,"p":2}'),
    "a duplicate identifier type": line(identifiers={"email": "a"}).replace(
        b'{"email":"a"}', b'{"email":"a","email":"b"}'
    ),
    "an unknown field": line(extra=1),
    "a text field holding a number": line(channel=7),
    "invalid UTF-8": line(channel="x").replace(b'"x"', b'"\xff"'),
    "an encoded surrogate": line(channel="x").replace(b'"x"', b'"\xed\xa0\x80"'),
    "an overlong encoding": line(channel="x").replace(b'"x"', b'"\xc0\xaf"'),
    "a code point past U+10FFFF": line(channel="x").replace(b'"x"', b'"\xf4\x90\x80\x80"'),
    "a raw control character": line(channel="x").replace(b'"x"', b'"\x01"'),
    "an identifier that is a number": line(identifiers={"user_id": 7}),
    "no identifiers": line(identifiers={}),
    "identifiers null": line(identifiers=None),
    "identifiers missing": line({k: v for k, v in GOOD.items() if k != "identifiers"}),
    "a float score": line(score=7.5),
    "a score as text": line(score="7"),
    "an amount that is a list": line(amount=[1]),
    "properties that are a list": line(properties=[1]),
    "a nesting 40 deep": line(properties={"p": 1}).replace(b"1}", NESTED + b"}"),
    "text after the object": line() + b" x",
    "a truncated line": line()[:-1],
    "an array": b"[1, 2]",
    "an empty object": b"{}",
    "a blank line": b"  ",
}


@pytest.mark.parametrize("text", LEFT_OUT.values(), ids=LEFT_OUT.keys())
def test_what_it_cannot_read_exactly_is_left_for_orjson(text: bytes) -> None:
    assert scan_lines([line(), text], False, 10_000).index.tolist() == [0]


def test_the_files_first_line_and_oversized_lines_are_left_out() -> None:
    long = line(properties={"p": "x" * 600})
    assert scan_lines([line(), line(), long], True, 500).index.tolist() == [1]


# --- a parse with the scanner gives what a parse without it gives -------------------------


def parse(lines: list[bytes], batch_rows: int = 7) -> tuple[list, list, list]:
    """Events, quarantine rows and counts of parsing ``lines`` as one canonical file."""
    from dataclasses import replace

    config = default_config()
    config = replace(config, pipeline=replace(config.pipeline, batch_rows=batch_rows))
    parser = ParseSourceFile(config, "run_test")
    parser.setup()
    source = next(s for s in config.sources if s.format == "canonical")
    events, quarantine, stats = [], [], []
    for out in parser._parse_canonical(source, "/landing/m.jsonl", RECEIVED, 1, lines):
        value, tag = getattr(out, "value", out), getattr(out, "tag", None)
        if tag == "stats":
            stats.append(value)
        elif tag == "quarantine":
            quarantine += value.to_pylist()
        else:
            events += value.to_pylist()
    events.sort(key=lambda row: (row["event_id"], row["record_hash"]))
    quarantine.sort(key=lambda row: row["location"])
    return events, quarantine, stats


def assert_same_both_ways(lines: list[bytes], batch_rows: int = 7) -> None:
    scanned = parse(lines, batch_rows)
    with without_scanner():
        assert scanned == parse(lines, batch_rows)


def serialised(record: Any, style: int) -> bytes:
    """A record as a landing line, in one of several writers' styles."""
    if style == 0:
        return orjson.dumps(record)
    if style == 1:
        return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if style == 2:
        return json.dumps(record, separators=(",", ":")).encode()  # \u escapes
    text = json.dumps(record, ensure_ascii=False, separators=(" ,", ": "))
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.one_of(RECORDS, st.integers(), st.lists(st.integers(), max_size=2)),
            st.integers(0, 3),
        ),
        max_size=20,
    )
)
def test_random_records_parse_the_same_with_and_without_the_scanner(
    records: list[tuple[Any, int]],
) -> None:
    lines = [b"{}"]  # the file's first line is never scanned: keep the records off it
    for record, style in records:
        try:
            lines.append(serialised(record, style))
        except (TypeError, ValueError, orjson.JSONEncodeError):
            continue  # a value no writer writes (orjson refuses an integer past 64 bits)
    assert_same_both_ways(lines)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(sorted(LEFT_OUT)), max_size=12), st.integers(1, 5))
def test_lines_left_out_among_clean_ones_parse_the_same(names: list[str], batch: int) -> None:
    lines = [line(event_id="first")]
    for i, name in enumerate(names):
        lines += [line(event_id=f"e{i}"), LEFT_OUT[name]]
    assert_same_both_ways(lines, batch_rows=batch * 3)


def test_generated_landing_parses_the_same_and_mostly_in_c(tmp_path: Path) -> None:
    from journeyline.generate import generate

    generate(tmp_path / "landing", people=40, seed=11)
    lines = []
    for path in sorted((tmp_path / "landing").glob("*/*.jsonl")):
        lines += path.read_bytes().split(b"\n")
    assert_same_both_ways(lines, batch_rows=5000)
    assert scan_lines(lines, True, 65_536).rows > 0.97 * len(lines)
    assert len(parse(lines, 5000)[0]) > 0.95 * len(lines)


# --- damaged lines: the scanner never reads one differently from orjson -------------------


def assert_scanned_as_orjson_reads(lines: list[bytes]) -> None:
    """Every line the scanner takes is one orjson parses to the very values it returned."""
    scanned = scan_lines(lines, False, 10_000)
    ids = list(
        zip(
            scanned.id_rows.tolist(),
            scanned.id_types.to_pylist(),
            scanned.id_values.to_pylist(),
            strict=True,
        )
    )
    for row, position in enumerate(scanned.index.tolist()):
        record = orjson.loads(lines[position])  # raises if the scanner took invalid JSON
        assert type(record) is dict and set(record) <= {*TEXT_FIELDS, *NON_TEXT}
        for name in TEXT_FIELDS:
            assert scanned.text[name][row].as_py() == record.get(name), name
        score = record.get("score")
        assert scanned.scored[row] == (score is not None)
        assert score is None or (type(score) is int and scanned.scores[row] == score)
        amount, token = record.get("amount"), scanned.amounts[row].as_py()
        if scanned.amount_is_text[row]:
            assert token == amount
        else:
            assert amount == (None if token is None else orjson.loads(token))
        assert [(t, v) for r, t, v in ids if r == row] == list(record["identifiers"].items())
        assert scanned.properties[row].as_py() == properties_bytes(record.get("properties"))


NON_TEXT = ("identifiers", "score", "amount", "properties")
# Bytes and pieces of JSON a damaged line may gain: structure, numbers in every form,
# escapes, control characters, and UTF-8 that is invalid in the ways a decoder can miss.
PIECES = [
    *(bytes([b]) for b in b'{}[]":,\\ -+.eE019tfnul\x00\x1f\x7f'),
    b"-0",
    b"01",
    b"1e5",
    b"1.5",
    b"123456789012345678901",
    b"true",
    b"null",
    b"\\n",
    b"\\u00e9",
    b'"a":1,',
    b'"score":3,',
    b'"channel":"x",',
    b"\xc3\xa9",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\xef\xbb\xbf",
]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A clean line with a few pieces replaced, inserted or removed."""
    data = bytearray(line(amount=-12.5, score=7, properties={"a": [1, {"b": None}], "c": "d"}))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        piece = draw(st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=1)))
        edit = draw(st.sampled_from(["replace", "insert", "delete"]))
        if edit == "insert":
            data[at:at] = piece
        elif edit == "replace":
            data[at : at + len(piece)] = piece
        else:
            del data[at : at + draw(st.integers(1, 3))]
    return bytes(data)


@settings(max_examples=1500, deadline=None)
@given(st.lists(damaged(), min_size=1, max_size=8))
def test_damaged_lines_are_scanned_only_as_orjson_reads_them(lines: list[bytes]) -> None:
    assert_scanned_as_orjson_reads(lines)


def zlib_hashes(lines: list[bytes]) -> list[int]:
    """The line hashes as Python's zlib computes them (the value the tie-break has always had)."""
    return [(zlib.crc32(text := line.rstrip(b"\r\n")) << 32) | zlib.adler32(text) for line in lines]


def test_line_hashes_in_c_equal_zlibs_at_every_block_boundary() -> None:
    # CRC-32 in steps of 8 bytes, Adler-32 in blocks of 16 with a modulo every 5,552 bytes:
    # every length up to 40, around those steps, and bytes of 255 (the largest sums)
    lines = [bytes(range(1, n + 1)) for n in range(41)]
    lines += [b"\xff" * n for n in (15, 16, 17, 5551, 5552, 5553, 11_104, 11_105, 100_000)]
    lines += [b"\n", b"\r\n", b"x\r\n\r\n", b"\r\nx", b"{}\r", b"caf\xc3\xa9\n"]
    assert scan_module.AVAILABLE
    assert record_hashes(lines).to_pylist() == zlib_hashes(lines)
    with without_scanner():
        assert record_hashes(lines).to_pylist() == zlib_hashes(lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=20))
def test_line_hashes_in_c_equal_zlibs_for_any_bytes(lines: list[bytes]) -> None:
    assert record_hashes(lines).to_pylist() == zlib_hashes(lines)


def test_line_hashes_take_only_a_list_of_bytes() -> None:
    with pytest.raises(TypeError, match="list of bytes"):
        scan_module._linescan.record_hashes((b"x",))
    with pytest.raises(TypeError, match="list of bytes"):
        scan_module._linescan.record_hashes([b"x", "y"])
