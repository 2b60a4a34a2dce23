"""Tables cross pipeline steps as compressed Arrow IPC: nothing is lost on the way."""

from __future__ import annotations

from decimal import Decimal

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pytest
from apache_beam.typehints.native_type_compatibility import convert_to_beam_type

from journeyline.schema import EVENT_SCHEMA
from transforms.batches import ArrowTableCoder, KeyedTable, slice_by_shard, split_by_shard


def _events() -> pa.Table:
    row = {name: None for name in EVENT_SCHEMA.names}
    row.update(
        event_id="e1",
        source="web",
        stream="marketing",
        event_type="page_viewed",
        occurred_at=1_700_000_000_000_000,
        received_at=1_700_000_000_000_001,
        identifiers=[("email", "hmac:ab"), ("user_id", "u1")],
        amount=Decimal("12.50"),
        properties='{"a":1}',
        input_source="marketing",
        record_hash=2**63 + 5,
    )
    return pa.Table.from_pylist([row, {**row, "event_id": "e2", "amount": None}], EVENT_SCHEMA)


def test_a_table_survives_the_coder_with_its_schema_and_values() -> None:
    coder = ArrowTableCoder()
    table = pa.concat_tables([_events(), _events()])  # two chunks
    back = coder.decode(coder.encode(table))
    assert back.schema == EVENT_SCHEMA
    assert back.equals(table)
    empty = EVENT_SCHEMA.empty_table()
    assert coder.decode(coder.encode(empty)).equals(empty)


def test_keyed_tables_get_the_coder() -> None:
    """What ``with_output_types(KeyedTable)`` gives a step's output."""
    coder = beam.coders.registry.get_coder(convert_to_beam_type(KeyedTable))
    assert isinstance(coder, beam.coders.TupleCoder)
    shard, table = coder.decode(coder.encode((3, _events())))
    assert shard == 3 and table.equals(_events())


def test_size_estimates_do_not_encode_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Beam samples element sizes for its metrics: the estimate is the in-memory size, read
    off the buffers, not an encoding (which costs as much as sending the table)."""
    coder = ArrowTableCoder()
    table = pa.concat_tables([_events()] * 50)
    monkeypatch.setattr(ArrowTableCoder, "encode", lambda self, value: pytest.fail("encoded"))
    keyed = beam.coders.registry.get_coder(convert_to_beam_type(KeyedTable))
    assert coder.estimate_size(table) == table.nbytes
    assert keyed.estimate_size((3, table)) >= table.nbytes


def test_slices_by_shard_hold_the_rows_of_split_by_shard_and_encode_only_their_rows() -> None:
    """``slice_by_shard`` gives what ``split_by_shard`` gives (shards, rows, row order), and
    the coder writes a slice's own rows, not its parent's buffers (which a pickle would)."""
    table = pa.concat_tables([_events()] * 500).combine_chunks()
    table = table.append_column("n", pa.array(range(table.num_rows), pa.int64()))
    shards = np.random.default_rng(3).integers(0, 40, table.num_rows)
    split = list(split_by_shard(table, shards))
    sliced = list(slice_by_shard(table, shards))
    assert [s for s, _ in sliced] == [s for s, _ in split] == sorted(set(shards.tolist()))
    for (_, a), (_, b) in zip(split, sliced, strict=True):
        assert a.equals(b)
    coder = ArrowTableCoder()
    for _, part in sliced:
        encoded = coder.encode(part)
        assert coder.decode(encoded).equals(part)
        own_copy = part.take(pa.array(range(part.num_rows)))  # buffers of its rows only
        assert len(encoded) <= len(coder.encode(own_copy)) + 64
    assert list(slice_by_shard(table.slice(0, 0), shards[:0])) == []
    grouped = np.sort(shards)  # rows already in shard order: sliced where they are
    sliced = list(slice_by_shard(table, grouped))
    assert [(s, t.num_rows) for s, t in sliced] == [
        (s, t.num_rows) for s, t in split_by_shard(table, grouped)
    ]
    parent = table.column("n").chunk(0).buffers()[1].address
    assert all(t.column("n").chunk(0).buffers()[1].address == parent for _, t in sliced)
