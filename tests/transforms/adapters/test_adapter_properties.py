"""Property-based: random and malformed records through every adapter — no crash, nothing lost.

Every generated row must come out as accepted events, quarantined records with a known
reason code, or a row skipped by a configured condition; and the counts must add up.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeyline.config.sources import CONNECTORS, connector_tables, table_mapping
from tests.transforms.adapters.adapter_helpers import run_file, source_config, with_source
from transforms.adapters.mapping import Mapping
from transforms.contract import REASON_CODES

SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TIMES = st.sampled_from(
    [
        "2024-05-01 10:00:00",
        "2024-05-01T10:00:00Z",
        "9999-12-31 23:59:59",  # far future
        "0001-01-01 00:00:00",  # ancient
        "1970-01-01",
        "31/12/2024",
        "not a time",
        "",
    ]
)
TEXT = st.one_of(
    st.text(max_size=20),
    st.integers(2_000, 70_000).map(lambda n: "x" * n),  # huge
    st.sampled_from(["true", "false", "closedwon", "solved", "SENT", "OPEN", "003abc", "00Qxyz"]),
    TIMES,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SEGMENT_KEYS = [
    "type",
    "event",
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "receivedAt",
    "traits",
    "context",
    "properties",
]


def check(out, rows: int) -> None:
    assert out.rows == rows
    assert out.rows - out.skipped <= out.records
    for code, reason, location in out.rejected:
        assert code in REASON_CODES and reason and location


@SETTINGS
@given(data=st.data())
def test_connector_tables_survive_garbage_rows(tmp_path: Path, data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(CONNECTORS))
    table = data.draw(st.sampled_from(connector_tables(fmt)))
    mapping = Mapping(table_mapping(fmt, table), name=fmt)
    columns = sorted(mapping.used_columns | {"extra_column"})
    rows = data.draw(
        st.lists(st.lists(TEXT, min_size=len(columns), max_size=len(columns)), max_size=6)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    raw = buffer.getvalue().encode()
    if data.draw(st.booleans()):
        raw += b"\xff\xfe,broken,\n"  # invalid UTF-8 in a row of its own
        rows.append([])
    path = tmp_path / f"{table}.csv"
    path.write_bytes(raw)
    source = source_config(fmt, tmp_path, tables={table: path.name})
    check(run_file(with_source(source), source, path, table), len(rows))


@SETTINGS
@given(
    messages=st.lists(
        st.one_of(JSON, st.dictionaries(st.sampled_from(SEGMENT_KEYS), JSON | TIMES)), max_size=6
    )
)
def test_segment_survives_garbage_messages(tmp_path: Path, messages: list) -> None:
    path = tmp_path / "messages.jsonl"
    lines = [json.dumps(m).encode() for m in messages]  # NaN, big ints: not JSON for us
    path.write_bytes(b"\n".join(lines) + b"\n\xc3\x28 invalid utf-8\n{truncated\n")
    source = source_config("segment", tmp_path)
    check(run_file(with_source(source), source, path), len(messages) + 2)


@SETTINGS
@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["ts", "who", "kind", "x"]), JSON), max_size=6)
)
def test_a_mapping_survives_garbage_json_rows(tmp_path: Path, rows: list) -> None:
    spec = {
        "where": {"kind": {"not_in": ["skip"]}},
        "events": [
            {
                "event_type": {
                    "column": "kind",
                    "map": {"a": "page_viewed"},
                    "otherwise": "reject",
                },
                "occurred_at": {"column": "ts"},
                "identifiers": {"user_id": {"column": "who"}},
            },
            {
                "event_type": {"value": "form_submitted"},
                "occurred_at": {"column": "ts", "format": "epoch_ms"},
                "identifiers": {"email": {"template": "{who}@example.org"}},
            },
        ],
    }
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"\n".join(json.dumps(r).encode() for r in rows) + b"\n")
    source = source_config("mapping", tmp_path, mapping=spec, stream="marketing")
    check(run_file(with_source(source), source, path), len(rows))
