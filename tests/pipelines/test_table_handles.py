"""On the local runner in memory, tables go from step to step by reference; elsewhere as
Arrow IPC streams. Both ways a shuffle gives the same tables."""

from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.util import assert_that, equal_to

from journeyline.run import _runs_here, beam_options
from transforms import batches
from transforms.batches import ArrowTableCoder, KeyedTable, tables_in_process


def _tables() -> list[tuple[int, pa.Table]]:
    return [
        (i % 3, pa.table({"n": pa.array(range(i * 10, i * 10 + 10), pa.int64()), "s": ["x"] * 10}))
        for i in range(7)
    ]


def _rows(element: tuple[int, list[pa.Table]]) -> tuple[int, list[int]]:
    shard, tables = element
    return shard, sorted(pa.concat_tables(tables).column("n").to_pylist())


def _expected() -> list[tuple[int, list[int]]]:
    rows: dict[int, list[int]] = {}
    for shard, table in _tables():
        rows.setdefault(shard, []).extend(table.column("n").to_pylist())
    return [(shard, sorted(values)) for shard, values in rows.items()]


def _shuffle(options: list[str]) -> None:
    with BeamPipeline(options=beam_options(options)) as p:
        grouped = (
            p
            | beam.Create(_tables()).with_output_types(KeyedTable)
            | beam.GroupByKey().with_output_types(tuple[int, list[pa.Table]])
            | beam.Map(_rows)
        )
        assert_that(grouped, equal_to(_expected()))


def test_tables_go_by_handle_only_inside_the_block() -> None:
    coder = ArrowTableCoder()
    table = _tables()[0][1]
    streamed = coder.encode(table)
    assert len(streamed) > 100 and coder.decode(streamed).equals(table)
    with tables_in_process():
        handle = coder.encode(table)
        assert len(handle) == 16
        assert coder.decode(handle) is table  # the table itself, nothing copied
        assert coder.decode(streamed).equals(table)  # a stream still reads
        with tables_in_process():  # a nested block leaves the tables to the outer one
            pass
        assert coder.decode(handle) is table
    assert batches._IN_PROCESS is None  # released
    with pytest.raises(ValueError, match="not of this process's open run"):
        coder.decode(handle)
    with pytest.raises(ValueError, match="not an encoded table"):
        coder.decode(b"\x00" * 16)


def test_a_shuffle_gives_the_same_tables_by_handle_as_by_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sizes: list[int] = []
    encode = ArrowTableCoder.encode

    def counted(self: ArrowTableCoder, value: pa.Table) -> bytes:
        encoded = encode(self, value)
        sizes.append(len(encoded))
        return encoded

    monkeypatch.setattr(ArrowTableCoder, "encode", counted)
    _shuffle([])
    assert sizes and min(sizes) > 16  # streams
    sizes.clear()
    with tables_in_process():
        _shuffle([])
    assert sizes and set(sizes) == {16}  # handles only


def test_streams_cross_worker_processes() -> None:
    """With the local runner's own worker processes the tables go as streams and arrive."""
    _shuffle(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])


def test_the_run_hands_tables_over_only_when_every_step_runs_here() -> None:
    assert _runs_here(beam_options([]))
    assert _runs_here(beam_options(["--direct_running_mode=multi_threading"]))
    assert not _runs_here(beam_options(["--direct_running_mode=multi_processing"]))
    assert not _runs_here(beam_options(["--runner=DataflowRunner"]))
    assert not _runs_here(beam_options(["--runner=PrismRunner"]))
