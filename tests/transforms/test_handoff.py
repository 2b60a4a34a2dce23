"""Handing event tables from a parse worker to the runner through a memory-mapped file."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from transforms import handoff
from transforms.handoff import MappedTables, handoff_dir, pack, remove_dir, unpack


def _tables() -> list[pa.Table]:
    """Three tables of one schema: one of two record batches, an empty one, a plain one."""
    first = pa.Table.from_batches(
        [
            pa.record_batch({"id": ["a", "b"], "n": [1, 2]}),
            pa.record_batch({"id": ["c"], "n": [3]}),
        ]
    )
    empty = first.schema.empty_table()
    last = pa.table({"id": ["d", None], "n": [None, 5]}, schema=first.schema)
    return [first, empty, last]


def test_tables_come_back_equal_in_order_and_the_file_is_gone(tmp_path: Path) -> None:
    tables = _tables()
    packed = pack(tables, str(tmp_path))
    assert isinstance(packed, MappedTables)
    assert packed.batches == (2, 0, 1)
    back = unpack(packed)
    assert not os.path.exists(packed.path)  # removed at once; the mapping keeps the memory
    assert [t.num_rows for t in back] == [3, 0, 2]
    for got, want in zip(back, tables, strict=True):
        assert got.equals(want)
    assert back[0].column("id").to_pylist() == ["a", "b", "c"]  # readable after the unlink


def test_without_a_directory_or_one_schema_or_room_the_tables_go_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = _tables()
    assert pack(tables, None) is tables
    other = [tables[0], pa.table({"x": [1]})]
    assert pack(other, str(tmp_path)) is other
    assert pack([], str(tmp_path)) == []
    monkeypatch.setattr(handoff, "_HEADROOM", 1 << 62)  # more room than any disk has
    assert pack(tables, str(tmp_path)) is tables
    assert not list(tmp_path.iterdir())  # nothing written on any of these paths
    assert unpack(tables) is tables


def test_a_pool_directory_is_made_fresh_and_removed_with_what_is_left_in_it(
    tmp_path: Path,
) -> None:
    directory = handoff_dir(str(tmp_path))
    assert directory is not None and os.path.isdir(directory)
    assert handoff_dir(str(tmp_path)) != directory
    pack(_tables(), directory)  # a cancelled task's file, never unpacked
    remove_dir(directory)
    assert not os.path.exists(directory)
    assert handoff_dir(str(tmp_path / "missing")) is None
